"""The RGB-D data contract, in one place.

- Depth: float32 metres, 0 = invalid. A pixel is valid when ``0 < d <= max_depth`` and finite
  (:func:`valid_depth`).
- Patch masks (``rgb_mask``, ``depth_mask``): bool (h, w) grid per sample, True = masked,
  ``h = H / p``, ``w = W / p`` for square p x p patches (:func:`grid_patch_size`); a masked
  patch covers its p x p pixels (:func:`patch_to_pixel_mask`). Every sample of a batch masks
  the same number of patches.
- Colour and depth (or a label map, an annotation, the image size an intrinsics file is for)
  of one frame show one view: their aspect ratios differ by at most :data:`MAX_ASPECT_CHANGE`.

Each part is checked at one boundary (docs/design.md), errors naming the sample's files
(:func:`sample_name`): the aspect ratio where a second map of the frame is read or aligned
(``LoadDepthFromFile``; ``AlignImageTo`` for label maps and annotations, and for depth read
before the colour), with one tolerance; the depth size where it is stacked against the image
(``RGBDDataPreprocessor``); the patch masks (bool, the grid of the model's patch size, same
count) where the model stacks them (``Mask3D`` with :func:`check_patch_mask`). The modules
after them trust it; consumers of the model's output derive p from the grid
(:func:`grid_patch_size`). Functions take numpy arrays or torch tensors and return the same
kind.
"""
from typing import Optional, Sequence, Tuple, TypeVar, Union

import numpy as np
import torch

__all__ = ['valid_depth', 'patch_to_pixel_mask', 'grid_patch_size', 'check_patch_mask',
           'sample_name', 'MAX_ASPECT_CHANGE']

Array = TypeVar('Array', np.ndarray, torch.Tensor)

# Largest relative change of aspect ratio (W / H) between two maps of one view; more means they
# do not belong together (transposed, cropped, wrongly paired). ScanNet's 1296x968 colour and
# 640x480 depth are 0.4% apart; the principal point's estimate of an intrinsics file's image
# size (mask3d_mm.datasets.transforms.camera) can be off by a few pixels.
MAX_ASPECT_CHANGE = 0.05


def valid_depth(depth: Array, max_depth: Optional[float] = None) -> Array:
    """Bool map of the valid depth pixels: ``0 < d (<= max_depth)``, finite; same shape."""
    if isinstance(depth, torch.Tensor):
        valid = (depth > 0) & torch.isfinite(depth)
    else:
        depth = np.asarray(depth)
        valid = (depth > 0) & np.isfinite(depth)
    if max_depth is not None:
        valid = valid & (depth <= max_depth)
    return valid


def patch_to_pixel_mask(mask: Array, patch_size: int) -> Array:
    """Patch mask (..., h, w) -> pixel mask (..., h * p, w * p): each patch covers p x p pixels."""
    p = int(patch_size)
    if isinstance(mask, torch.Tensor):
        return mask.repeat_interleave(p, dim=-2).repeat_interleave(p, dim=-1)
    return np.repeat(np.repeat(np.asarray(mask), p, axis=-2), p, axis=-1)


def grid_patch_size(grid: Sequence[int], image_size: Sequence[int]) -> int:
    """Patch size p of a (h, w) patch grid over an (H, W) image (H = h p, W = w p).

    Raises:
        ValueError: the grid does not tile the image with square patches.
    """
    h, w = int(grid[0]), int(grid[1])
    H, W = int(image_size[0]), int(image_size[1])
    if h <= 0 or w <= 0 or H % h or W % w or H // h != W // w:
        raise ValueError(f'a {h}x{w} patch grid does not tile a {H}x{W} image with square '
                         'patches')
    return H // h


def check_patch_mask(mask: Union[np.ndarray, torch.Tensor], grid: Tuple[int, int],
                     name: str) -> torch.Tensor:
    """Check one sample's patch mask against the (h, w) grid and flatten it.

    Args:
        mask (np.ndarray | torch.Tensor): Bool (h, w) or (h * w, ), True = masked.
        grid (tuple): Expected (h, w).
        name (str): Names the mask in errors (e.g. "'depth_mask' of data sample 3").

    Returns:
        torch.Tensor: (h * w, ) bool, on the device it came on.

    Raises:
        TypeError: not a bool array. ValueError: another shape.
    """
    h, w = int(grid[0]), int(grid[1])
    if isinstance(mask, np.ndarray):
        mask = torch.from_numpy(mask)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError(f'{name} must be a bool tensor (True = masked), got '
                        f'{getattr(mask, "dtype", type(mask))}')
    if tuple(mask.shape) not in ((h, w), (h * w, )):
        raise ValueError(f'{name} has shape {tuple(mask.shape)}, expected ({h}, {w})')
    return mask.reshape(h * w)


def sample_name(sample, index: int) -> str:
    """Names a data sample in contract errors by its files: ``sample 3 (img_path='...',
    depth_path='...')``."""
    meta = getattr(sample, 'metainfo', {}) or {}
    names = [f'{k}={meta[k]!r}' for k in ('img_path', 'depth_path') if k in meta]
    return f'sample {index} (' + (', '.join(names) if names else 'no img_path') + ')'
