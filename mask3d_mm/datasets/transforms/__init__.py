from .align import AlignColorToDepth, AlignImageTo  # noqa: F401
from .depth_target import DepthToTarget  # noqa: F401
from .formatting import PackRGBDInputs  # noqa: F401
from .geometric import RGBDRandomFlip, RGBDRandomResizedCrop, RGBDResize  # noqa: F401
from .loading import LoadDepthFromFile  # noqa: F401
from .masking import RGBDMaskGenerator  # noqa: F401
