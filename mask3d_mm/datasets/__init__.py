from .transforms import *  # noqa: F401,F403
from .scannet_rgbd import ScanNetRGBDDataset  # noqa: F401
