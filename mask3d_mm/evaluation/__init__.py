from .depth_reconstruction_metric import DepthReconstructionMetric, nearest_visible_fill

__all__ = ['DepthReconstructionMetric', 'nearest_visible_fill']
