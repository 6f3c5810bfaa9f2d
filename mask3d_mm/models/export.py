"""Export the color encoder of a Mask3D checkpoint as a plain ViT state dict."""
from collections import OrderedDict
from typing import Dict, Tuple

import torch

__all__ = ['describe_checkpoint', 'extract_rgb_encoder']

_DET_HEADS = ('rpn_head', 'roi_head', 'bbox_head', 'mask_head', 'query_head', 'panoptic_head')


def describe_checkpoint(state_dict: Dict[str, torch.Tensor]) -> Tuple[str, str]:
    """What model a state dict holds, judged by its key layout: ``(kind, description)``.

    ``kind`` is ``'mask3d'`` (a ViT ``backbone.*`` beside a ``depth_encoder.*``), ``'mae'`` (an
    mmpretrain MAE: ViT ``backbone.*`` + ``neck.decoder_*``, whose color ViT exports the same
    way; tools/analysis_tools/compare_pretraining.py uses it) or ``'other'``; ``description``
    says what was found, e.g. ``looks like an mmseg EncoderDecoder checkpoint (decode_head.*)``.
    """
    tops = sorted({k.split('.', 1)[0] for k in state_dict})
    vit = 'backbone.patch_embed.projection.weight' in state_dict
    det = [t for t in tops if t in _DET_HEADS]
    if 'decode_head' in tops:
        heads = [f'{t}.*' for t in ('decode_head', 'auxiliary_head') if t in tops]
        return 'other', f"looks like an mmseg EncoderDecoder checkpoint ({', '.join(heads)})"
    if det:
        return 'other', ('looks like an mmdet detector checkpoint ('
                         + ', '.join(f'{t}.*' for t in det) + ')')
    if vit and 'depth_encoder' in tops:
        return 'mask3d', 'a Mask3D checkpoint (backbone.*, depth_encoder.*, neck.*)'
    if vit and 'neck.decoder_embed.weight' in state_dict:
        return 'mae', ('an mmpretrain MAE checkpoint (backbone.*, neck.decoder_*; no '
                       'depth_encoder.*)')
    if 'patch_embed.projection.weight' in state_dict:
        return 'other', ('looks like a bare ViT state dict (patch_embed.*, layers.*), e.g. an '
                         'encoder exported already: use it as it is')
    if 'backbone' in tops and not vit:
        return 'other', ('its backbone.* is not a ViT (no backbone.patch_embed.projection.'
                         f'weight); top-level keys: {tops}')
    if vit and 'head' in tops:
        return 'other', ('looks like an mmpretrain classifier checkpoint (backbone.*, head.*; no '
                         'depth_encoder.*)')
    return 'other', f'top-level keys: {tops}'


def extract_rgb_encoder(state_dict: Dict[str, torch.Tensor],
                        prefix: str = 'backbone.') -> 'OrderedDict[str, torch.Tensor]':
    """Keys of the color ViT, without ``prefix``, as contiguous CPU tensors.

    The names are those of ``mmpretrain.models.VisionTransformer`` (Mask3DViT adds no
    parameter), so the result loads with ``strict=True`` and, through
    ``init_cfg=dict(type='Pretrained', checkpoint=...)``, into mmseg / mmdet configs whose
    backbone is ``mmpretrain.VisionTransformer``.

    Raises:
        KeyError: when ``state_dict`` is not that of a Mask3D (or mmpretrain MAE) model; the
            message says what it looks like (see :func:`describe_checkpoint`).
    """
    kind, found = describe_checkpoint(state_dict)
    if kind not in ('mask3d', 'mae'):
        raise KeyError(f'not a Mask3D checkpoint: {found}')
    out = OrderedDict((k[len(prefix):], v.detach().cpu().contiguous())
                      for k, v in state_dict.items() if k.startswith(prefix))
    if not out:
        raise KeyError(f"no '{prefix}*' keys: not a Mask3D checkpoint ({found})")
    return out
