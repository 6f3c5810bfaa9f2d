"""mask3d_mm: Mask3D RGB-D pre-training of 2D ViTs for OpenMMLab 2.x."""
from .compat import apply_patches

apply_patches()  # before anything imports torchvision or loads a checkpoint

from .version import __version__  # noqa: E402

__all__ = ['__version__']
