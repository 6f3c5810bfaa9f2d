"""Export the color encoder of a Mask3D checkpoint as a plain ViT state dict."""
import math
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from .utils.pos_embed_grid import find_sincos_grid, regrid_pos_embed

__all__ = ['describe_checkpoint', 'extract_rgb_encoder', 'pos_embed_source_grid',
           'export_grid']

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
                        prefix: str = 'backbone.',
                        grid: Optional[Sequence[int]] = None,
                        source_grid: Optional[Sequence[int]] = None
                        ) -> 'OrderedDict[str, torch.Tensor]':
    """Keys of the color ViT, without ``prefix``, as contiguous CPU tensors.

    The names are those of ``mmpretrain.models.VisionTransformer`` (Mask3DViT adds no
    parameter), so the result loads with ``strict=True`` and, through
    ``init_cfg=dict(type='Pretrained', checkpoint=...)``, into mmseg / mmdet configs whose
    backbone is ``mmpretrain.VisionTransformer``.

    Args:
        state_dict (dict): A Mask3D (or mmpretrain MAE) model's state dict.
        prefix (str): The color ViT's prefix. Defaults to 'backbone.'.
        grid (Sequence[int], optional): Patch grid (h, w) to write ``pos_embed`` for (see
            :func:`export_grid`): the fixed sin-cos rebuilt exactly, another embedding
            resized from ``source_grid`` (:func:`regrid_pos_embed`). Defaults to None: as
            trained.
        source_grid (Sequence[int], optional): Grid of the trained ``pos_embed`` (see
            :func:`pos_embed_source_grid`); needed for a ``grid`` unless it is the sin-cos.

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
    if grid is not None and 'pos_embed' in out:
        out['pos_embed'] = regrid_pos_embed(out['pos_embed'], source_grid,
                                            grid)[0].contiguous()
    return out


def pos_embed_source_grid(pos_embed: torch.Tensor, patch_size: int,
                          meta: Optional[dict] = None) -> Optional[Tuple[int, int]]:
    """Patch grid (h, w) of a trained ``pos_embed`` (1, 1 + h * w, C).

    In this order: the grid whose fixed sin-cos it is (:func:`find_sincos_grid`); the run's
    ``model.backbone.img_size`` / ``patch_size`` (``meta['cfg']``, the config text that
    mmengine's Runner stores in every checkpoint) when it holds that many positions; a square
    grid when h * w is a square (mmpretrain's assumption); else None.
    """
    n = pos_embed.shape[1] - 1
    grid = find_sincos_grid(pos_embed)
    if grid is not None:
        return grid
    cfg_text = (meta or {}).get('cfg')
    if isinstance(cfg_text, str):
        try:
            img_size = Config.fromstring(cfg_text, '.py').model.backbone.get('img_size')
        except Exception:  # a config that no longer parses here: fall back to the shape
            img_size = None
        if img_size is not None:
            h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
            if (h // patch_size) * (w // patch_size) == n:
                return h // patch_size, w // patch_size
    side = math.isqrt(n)
    return (side, side) if side * side == n else None


def export_grid(source_grid: Optional[Sequence[int]], patch_size: int,
                img_size: Optional[Sequence[int]] = None) -> Optional[Tuple[int, int]]:
    """The grid an export writes ``pos_embed`` for, None to keep it as trained.

    ``img_size`` (H, W), the fine-tuning input: (H / p, W / p), so the export loads with no
    resize and the fine-tuning model starts with the embedding the pre-trained encoder uses at
    that size. Without it, a square grid is kept as it is and a rectangular one is written for
    the square grid of its longer side: mmpretrain's ``VisionTransformer`` resizes only square
    checkpoint grids to its input size (it takes sqrt(N) as the side), so that export loads at
    any fine-tuning size.

    Raises:
        ValueError: ``img_size`` not divisible by ``patch_size``.
    """
    if img_size is not None:
        h, w = img_size
        if h % patch_size or w % patch_size:
            raise ValueError(f'img_size {h}x{w} is not divisible by the patch size {patch_size}')
        return h // patch_size, w // patch_size
    if source_grid is None or source_grid[0] == source_grid[1]:
        return None
    side = max(source_grid)
    return side, side
