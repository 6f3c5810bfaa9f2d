from .depth_encoder import DepthEncoder
from .mask3d_vit import Mask3DViT

__all__ = ['Mask3DViT', 'DepthEncoder']
