"""Position embeddings of a ViT on another patch grid: the fixed sin-cos found and rebuilt
exactly, any other one resized."""
from typing import Optional, Sequence, Tuple

import torch
from mmpretrain.models.utils import resize_pos_embed

from .token_utils import build_2d_sincos_pos_embed

__all__ = ['find_sincos_grid', 'regrid_pos_embed']


def find_sincos_grid(pos_embed: torch.Tensor, num_extra_tokens: int = 1
                     ) -> Optional[Tuple[int, int]]:
    """The grid (h, w) whose fixed 2D sin-cos embedding ``pos_embed`` is, if any.

    Args:
        pos_embed (torch.Tensor): (1, num_extra_tokens + h * w, C).
        num_extra_tokens (int): Leading tokens without a position (cls). Defaults to 1.

    Returns:
        tuple | None: (h, w) when ``pos_embed`` equals :func:`build_2d_sincos_pos_embed` of
        that grid (to 1e-5; the h * w factorisations are tried, each gives another embedding),
        else None (a learned, loaded or resized embedding).
    """
    n, dims = pos_embed.shape[1] - num_extra_tokens, pos_embed.shape[-1]
    if dims % 4 or n < 1:
        return None
    patches = pos_embed[:, num_extra_tokens:].detach().float().cpu()
    for h in range(1, n + 1):
        if n % h == 0:
            ref = build_2d_sincos_pos_embed((h, n // h), dims)
            if torch.allclose(patches, ref, rtol=0, atol=1e-5):
                return h, n // h
    return None


def regrid_pos_embed(pos_embed: torch.Tensor,
                     src_grid: Optional[Sequence[int]],
                     dst_grid: Sequence[int],
                     mode: str = 'bicubic',
                     num_extra_tokens: int = 1) -> Tuple[torch.Tensor, str]:
    """``pos_embed`` for ``dst_grid``, as :class:`Mask3DViT` itself uses it at that grid.

    The fixed sin-cos (:func:`find_sincos_grid`) is rebuilt exactly for ``dst_grid`` (its
    positions are the integer patch coordinates, so the same formula holds on any grid); any
    other embedding is resized from ``src_grid`` with mmpretrain's ``resize_pos_embed``. The
    extra tokens' embedding is kept.

    Args:
        pos_embed (torch.Tensor): (1, num_extra_tokens + h * w, C).
        src_grid (Sequence[int], optional): (h, w) of ``pos_embed``; only needed when it is
            not the fixed sin-cos.
        dst_grid (Sequence[int]): The grid (H / p, W / p) wanted.
        mode (str): Resize mode. Defaults to 'bicubic' (mmpretrain's ViT default).
        num_extra_tokens (int): Defaults to 1.

    Returns:
        tuple: (the embedding (1, num_extra_tokens + H/p * W/p, C) in ``pos_embed``'s dtype,
        'sin-cos' or 'resized').

    Raises:
        ValueError: the embedding is not the fixed sin-cos and ``src_grid`` is None or does not
            hold its positions.
    """
    dst = (int(dst_grid[0]), int(dst_grid[1]))
    if find_sincos_grid(pos_embed, num_extra_tokens) is not None:
        sincos = build_2d_sincos_pos_embed(dst, pos_embed.shape[-1])
        extra = pos_embed[:, :num_extra_tokens].detach().cpu().float()
        return torch.cat([extra, sincos], 1).to(pos_embed.dtype), 'sin-cos'
    n = pos_embed.shape[1] - num_extra_tokens
    if src_grid is None or int(src_grid[0]) * int(src_grid[1]) != n:
        raise ValueError(f'the position embedding ({n} positions) is not the fixed sin-cos and '
                         f'its grid is unknown (given: {src_grid}): cannot put it on a {dst} '
                         'grid')
    src = (int(src_grid[0]), int(src_grid[1]))
    if src == dst:
        return pos_embed.detach().clone(), 'resized'
    out = resize_pos_embed(pos_embed.detach().cpu().float(), src, dst, mode, num_extra_tokens)
    return out.to(pos_embed.dtype), 'resized'
