"""mask3d_mm: Mask3D RGB-D pre-training of 2D ViTs for OpenMMLab 2.x."""
from .compat import apply_patches

apply_patches()  # before anything imports torchvision or loads a checkpoint

# register every module on import (custom_imports=dict(imports=['mask3d_mm']))
from . import datasets, engine, evaluation, models, visualization  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
