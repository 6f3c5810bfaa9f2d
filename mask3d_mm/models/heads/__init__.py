from .dense_depth_head import DenseDepthHead
from .depth_normals import depth_to_normals

__all__ = ['DenseDepthHead', 'depth_to_normals']
