from .depth_reconstruction_metric import (DepthReconstructionMetric, nearest_visible_fill,
                                          nearest_visible_patch_fill)

__all__ = ['DepthReconstructionMetric', 'nearest_visible_fill', 'nearest_visible_patch_fill']
