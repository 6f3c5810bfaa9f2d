from .loading import LoadDepthFromFile  # noqa: F401
from .formatting import PackRGBDInputs  # noqa: F401
from .geometric import (AlignColorToDepth, RGBDRandomFlip,  # noqa: F401
                        RGBDRandomResizedCrop, RGBDResize)
from .masking import RGBDMaskGenerator  # noqa: F401
