from .depth_panel import colorize_depth, depth_reconstruction_panel
from .labelled_row import labelled_row, mask_overlay

__all__ = ['colorize_depth', 'depth_reconstruction_panel', 'labelled_row', 'mask_overlay']
