from .depth_reconstruction_metric import (DepthReconstructionMetric, nearest_visible_fill,
                                          nearest_visible_patch_fill)
from .dump_predictions import DumpPredictions

__all__ = [
    'DepthReconstructionMetric', 'nearest_visible_fill', 'nearest_visible_patch_fill',
    'DumpPredictions'
]

try:  # mmseg is optional: the segmentation metric only exists where mmseg imports
    import mmseg  # noqa: F401
except ImportError:
    pass
else:
    from .scannet_iou_metric import ScanNetIoUMetric  # noqa: F401
    __all__ += ['ScanNetIoUMetric']
