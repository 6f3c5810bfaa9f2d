from .depth_panel import colorize_depth, depth_reconstruction_panel

__all__ = ['colorize_depth', 'depth_reconstruction_panel']
