"""Parameter names of ViT checkpoints: whose naming a state dict uses, mmseg's -> mmpretrain's."""
import re
from collections import Counter, OrderedDict
from typing import Dict, Iterable

import torch

__all__ = ['vit_naming', 'naming_hint', 'summarize_keys', 'mmseg_vit_to_mmpretrain']

# mmseg's ViT wraps torch's nn.MultiheadAttention (one in-projection for q, k, v, as timm's
# and mmpretrain's qkv Linear, same order) and names its pre-norm pre_ln; the rest is equal
_MMSEG_TO_MMPRETRAIN = (('.attn.attn.in_proj_weight', '.attn.qkv.weight'),
                        ('.attn.attn.in_proj_bias', '.attn.qkv.bias'),
                        ('.attn.attn.out_proj.', '.attn.proj.'),
                        ('pre_ln.', 'pre_norm.'))
MMSEG_CONVERTER = 'tools/model_converters/mmseg_vit_to_mmpretrain.py'
TIMM_CONVERTER = "mmpretrain's tools/model_converters/deit3_to_mmpretrain.py"


def vit_naming(keys: Iterable[str]) -> str:
    """Whose ViT parameter names ``keys`` use: 'mmpretrain', 'mmseg', 'timm' or 'unknown'."""
    keys = list(keys)
    if any('.attn.attn.in_proj_' in k or '.attn.attn.out_proj.' in k for k in keys):
        return 'mmseg'
    if any(re.search(r'(^|\.)blocks\.\d+\.', k) for k in keys):
        return 'timm'
    if any(re.search(r'(^|\.)layers\.\d+\.attn\.qkv\.', k) for k in keys):
        return 'mmpretrain'
    return 'unknown'


def naming_hint(keys: Iterable[str]) -> str:
    """One sentence on converting a checkpoint whose names are not mmpretrain's."""
    naming = vit_naming(keys)
    if naming == 'mmseg':
        return ("the checkpoint uses mmseg's ViT names (layers.N.attn.attn.in_proj_weight, ...): "
                f'convert it once with python {MMSEG_CONVERTER} SRC DST')
    if naming == 'timm':
        return ('the checkpoint uses timm / DeiT names (blocks.N.norm1, mlp.fc1, ...): convert it '
                f'once with {TIMM_CONVERTER} (under .mim/ of the installed mmpretrain)')
    return ("expected mmpretrain's VisionTransformer names (patch_embed.projection.*, "
            'layers.N.attn.qkv.*, layers.N.ffn.layers.0.0.*, ln1.*)')


def summarize_keys(keys: Iterable[str], limit: int = 12) -> str:
    """Keys with block indices folded: ``layers.N.attn.qkv.weight (x12)``, at most ``limit``."""
    counts = Counter(re.sub(r'((?:^|\.)(?:layers|blocks)\.)\d+\.', r'\1N.', k) for k in keys)
    items = [f'{k} (x{n})' if n > 1 else k for k, n in counts.items()]
    more = f', ... ({len(items) - limit} more)' if len(items) > limit else ''
    return '[' + ', '.join(items[:limit]) + more + ']'


def mmseg_vit_to_mmpretrain(state_dict: Dict[str, torch.Tensor]
                            ) -> 'OrderedDict[str, torch.Tensor]':
    """Rename the tensors of an mmseg ``VisionTransformer`` as mmpretrain's.

    Keys keep any prefix (``backbone.`` of an mmseg ``EncoderDecoder``), other modules' keys
    pass unchanged. mmseg's ViT has no patch-embedding bias by default (``patch_bias=False``):
    a zero bias is added, which computes the same. The converted encoder gives the outputs of
    the mmseg one (``tests/test_models/test_vit_checkpoint_names.py``).

    Args:
        state_dict (dict): mmseg names, e.g. ``backbone.layers.0.attn.attn.in_proj_weight``.

    Returns:
        OrderedDict: mmpretrain names, e.g. ``backbone.layers.0.attn.qkv.weight``.
    """
    out = OrderedDict()
    for key, value in state_dict.items():
        for old, new in _MMSEG_TO_MMPRETRAIN:
            key = key.replace(old, new)
        out[key] = value
    for key in [k for k in out if k.endswith('patch_embed.projection.weight')]:
        bias = key[:-len('weight')] + 'bias'
        if bias not in out:
            out[bias] = out[key].new_zeros(out[key].shape[0])
    return out
