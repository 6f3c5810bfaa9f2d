from .checkpoint_blocks import run_blocks
from .token_utils import build_2d_sincos_pos_embed, gather_tokens, mask_to_ids, scatter_tokens

__all__ = ['build_2d_sincos_pos_embed', 'mask_to_ids', 'gather_tokens', 'scatter_tokens',
           'run_blocks']
