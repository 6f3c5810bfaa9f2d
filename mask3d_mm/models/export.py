"""Export the color encoder of a Mask3D checkpoint as a plain ViT state dict."""
from collections import OrderedDict
from typing import Dict

import torch

__all__ = ['extract_rgb_encoder']


def extract_rgb_encoder(state_dict: Dict[str, torch.Tensor],
                        prefix: str = 'backbone.') -> 'OrderedDict[str, torch.Tensor]':
    """Keys of the color ViT, without ``prefix``, as contiguous CPU tensors.

    The names are those of ``mmpretrain.models.VisionTransformer`` (Mask3DViT adds no
    parameter), so the result loads with ``strict=True`` and, through
    ``init_cfg=dict(type='Pretrained', checkpoint=...)``, into mmseg / mmdet configs whose
    backbone is ``mmpretrain.VisionTransformer``.

    Raises:
        KeyError: when no key starts with ``prefix`` (not a Mask3D checkpoint).
    """
    out = OrderedDict((k[len(prefix):], v.detach().cpu().contiguous())
                      for k, v in state_dict.items() if k.startswith(prefix))
    if not out:
        heads = sorted({k.split('.')[0] for k in state_dict})
        raise KeyError(f"no '{prefix}*' keys: not a Mask3D checkpoint (top-level keys: {heads})")
    return out
