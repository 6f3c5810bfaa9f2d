from .mask3d import Mask3D

__all__ = ['Mask3D']
