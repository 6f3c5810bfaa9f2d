from .dense_depth_head import DenseDepthHead
from .depth_normals import depth_to_normals

__all__ = ['DenseDepthHead', 'depth_to_normals']

try:  # mmseg is optional: the depth heads of its DepthEstimator only exist where it imports
    import mmseg  # noqa: F401
except ImportError:
    pass
else:
    from .depth_decode_heads import DepthFCNHead, DepthUPerHead  # noqa: F401
    __all__ += ['DepthFCNHead', 'DepthUPerHead']
