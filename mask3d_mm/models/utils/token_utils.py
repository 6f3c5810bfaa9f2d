"""Token helpers shared by the Mask3D encoders and decoder (sin-cos positions, visible ids)."""
from typing import Optional, Sequence, Tuple

import torch

__all__ = [
    'build_2d_sincos_pos_embed', 'mask_to_ids', 'gather_tokens', 'scatter_tokens'
]


def build_2d_sincos_pos_embed(patch_resolution: Sequence[int],
                              embed_dims: int,
                              temperature: float = 10000.,
                              cls_token: bool = False,
                              device: Optional[torch.device] = None) -> torch.Tensor:
    """Fixed 2D sin-cos position embedding of a (possibly rectangular) patch grid.

    Tokens are in row-major order (as ``PatchEmbed`` flattens them). The first half of the
    channels encodes the row, the second half the column, so for square grids the result equals
    ``mmpretrain.models.utils.build_2d_sincos_position_embedding`` (which mixes up rows and
    columns of rectangular grids and is therefore not used here).

    Args:
        patch_resolution (Sequence[int]): Grid (h, w).
        embed_dims (int): Channels, divisible by 4.
        temperature (float): Frequency base. Defaults to 10000.
        cls_token (bool): Prepend a zero embedding for a class token. Defaults to False.
        device (torch.device, optional): Where to build it (no host-to-device copy).
            Defaults to None (CPU).

    Returns:
        torch.Tensor: (1, [1 +] h * w, embed_dims) float32.
    """
    h, w = int(patch_resolution[0]), int(patch_resolution[1])
    if embed_dims % 4 != 0:
        raise ValueError(f'sin-cos position embedding needs embed_dims % 4 == 0, got {embed_dims}')
    grid_h, grid_w = torch.meshgrid(
        torch.arange(h, dtype=torch.float32, device=device),
        torch.arange(w, dtype=torch.float32, device=device),
        indexing='ij')
    pos_dim = embed_dims // 4
    omega = torch.arange(pos_dim, dtype=torch.float32, device=device) / pos_dim
    omega = 1. / temperature**omega
    out_h = grid_h.flatten()[:, None] * omega[None]
    out_w = grid_w.flatten()[:, None] * omega[None]
    pos = torch.cat([out_h.sin(), out_h.cos(), out_w.sin(), out_w.cos()], dim=1)[None]
    if cls_token:
        pos = torch.cat([pos.new_zeros(1, 1, embed_dims), pos], dim=1)
    return pos


def mask_to_ids(mask: torch.Tensor) -> torch.Tensor:
    """Indices of the visible (False) patches, ascending.

    Every sample must hide the same number of patches: checked where the masks enter the
    model (:meth:`Mask3D._stack_masks`), trusted here (the count of sample 0 is used). The
    count is read on the host: pass a CPU mask (as :class:`Mask3D` does) to keep a GPU step
    free of device synchronisation, and move the result to the device.

    Args:
        mask (torch.Tensor): (B, L) bool, True = masked, same count per sample.

    Returns:
        torch.Tensor: (B, N_vis) int64.
    """
    n = int((~mask[0]).sum()) if mask.shape[0] else 0
    # stable sort puts the visible (0) patches first, in their original order
    return torch.sort(mask.long(), dim=1, stable=True)[1][:, :n]


def gather_tokens(x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Select tokens: (B, L, C) and (B, N) indices -> (B, N, C)."""
    return torch.gather(x, 1, ids[..., None].expand(-1, -1, x.shape[-1]))


def scatter_tokens(x: torch.Tensor, ids: torch.Tensor, length: int) -> Tuple[torch.Tensor,
                                                                               torch.Tensor]:
    """Place tokens at their positions: (B, N, C) -> (B, L, C) zeros elsewhere, (B, L) bool."""
    B, _, C = x.shape
    out = x.new_zeros(B, length, C).scatter(1, ids[..., None].expand(-1, -1, C), x)
    seen = torch.zeros(B, length, dtype=torch.bool, device=x.device).scatter(1, ids, True)
    return out, seen
