from .transforms import *  # noqa: F401,F403
from .intrinsics import intrinsics_from, read_intrinsics  # noqa: F401
from .rgbd_frames import RGBDFramesDataset  # noqa: F401
from .scannet_rgbd import ScanNetRGBDDataset  # noqa: F401
from .scannet_depth import ScanNetDepthDataset  # noqa: F401
from . import sources  # noqa: F401  (registers the RGB-D corpus readers)
from .sources import RGBDFrameListDataset  # noqa: F401

try:  # mmdet is optional: the detection dataset only exists where mmdet imports
    import mmdet  # noqa: F401
except ImportError:
    pass
else:
    from .scannet_instance import ScanNetInstanceDataset  # noqa: F401

try:  # mmseg is optional: the segmentation datasets only exist where mmseg imports
    import mmseg  # noqa: F401
except ImportError:
    pass
else:
    from .nyuv2_seg import NYUv2SegDataset  # noqa: F401
    from .scannet_seg import ScanNetSegDataset  # noqa: F401
    from .transforms.seg_loading import LoadSegLabels  # noqa: F401
