from .depth_decoder import DepthDecoder
from .simple_fpn import SimpleFPN

__all__ = ['DepthDecoder', 'SimpleFPN']
