"""Patch masks for RGB-D masked pre-training."""
import os.path as osp
import zlib
from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mask3d_mm.registry import TRANSFORMS

__all__ = ['RGBDMaskGenerator']


@TRANSFORMS.register_module()
class RGBDMaskGenerator(BaseTransform):
    """Draw patch masks for the colour image and the depth map (True = masked).

    Each mask hides a fixed number of patches, ``round(ratio * num_patches)``, so masks of a
    batch stack and every sample keeps the same number of visible tokens. The patch grid is
    ``(H / patch_size, W / patch_size)`` of the current image (rectangular grids work, e.g.
    240x320 -> 15x20); H and W must be multiples of ``patch_size``.

    The RGB mask is uniform random. The depth mask is independent of it unless:

    - ``complementary=True``: the visible depth patches are drawn among the RGB-masked patches
      first (uniformly), then among the RGB-visible ones only as far as needed. With the
      default 0.75/0.75 ratios no patch is visible in both modalities.
    - ``depth_visible_from_valid=True``: patches whose valid-depth fraction (depth > 0) is at
      least ``min_valid_fraction`` are preferred as visible depth patches, the others are used
      only when too few qualify. When both options are on, valid depth takes precedence over
      complementarity.

    Randomness: with ``seed=None`` the global ``np.random`` state is used (seeded per worker
    by MMEngine, like every other random transform): training. With a ``seed`` the masks are a
    function of ``seed`` and the frame (the last three parts of ``img_path`` without its
    suffix, e.g. ``scene0000_00/color/000000``; or ``sample_idx``): every validation sees the
    same masks for the same frame, whatever the worker count, order, persistent workers, where
    the data root lies, or whether the frames were pre-converted.

    Required Keys:

    - img (HxWxC)
    - depth (HxW, needed by ``depth_visible_from_valid``)

    Added Keys:

    - rgb_mask (np.bool_, (H/p)x(W/p)): True = patch hidden from the colour encoder
    - depth_mask (np.bool_, (H/p)x(W/p)): True = patch hidden from the depth encoder

    Args:
        rgb_mask_ratio (float): Fraction of masked colour patches, in [0, 1). Defaults to 0.75.
        depth_mask_ratio (float): Fraction of masked depth patches, in [0, 1).
            Defaults to 0.75.
        patch_size (int): Patch size in pixels. Defaults to 16.
        complementary (bool): Draw visible depth patches among RGB-masked patches first.
            Defaults to False.
        depth_visible_from_valid (bool): Prefer patches with enough valid depth as visible
            depth patches. Defaults to False.
        min_valid_fraction (float): Valid-depth fraction for a patch to count as valid, in
            (0, 1]. Defaults to 0.5.
        seed (int, optional): Seed of a generator owned by the transform. Defaults to None.
    """

    def __init__(self,
                 rgb_mask_ratio: float = 0.75,
                 depth_mask_ratio: float = 0.75,
                 patch_size: int = 16,
                 complementary: bool = False,
                 depth_visible_from_valid: bool = False,
                 min_valid_fraction: float = 0.5,
                 seed: Optional[int] = None) -> None:
        for name, ratio in (('rgb_mask_ratio', rgb_mask_ratio),
                            ('depth_mask_ratio', depth_mask_ratio)):
            if not 0 <= ratio < 1:
                raise ValueError(f'{name} must be in [0, 1), got {ratio}')
        if not (isinstance(patch_size, int) and patch_size > 0):
            raise ValueError(f'patch_size must be a positive int, got {patch_size!r}')
        if not 0 < min_valid_fraction <= 1:
            raise ValueError(f'min_valid_fraction must be in (0, 1], got {min_valid_fraction}')
        self.rgb_mask_ratio = rgb_mask_ratio
        self.depth_mask_ratio = depth_mask_ratio
        self.patch_size = patch_size
        self.complementary = complementary
        self.depth_visible_from_valid = depth_visible_from_valid
        self.min_valid_fraction = min_valid_fraction
        self.seed = seed

    # -- randomness -------------------------------------------------------------------------
    def _generator(self, results: dict) -> Optional[np.random.Generator]:
        """A generator keyed by (seed, sample) when seeded, else None (global np.random)."""
        if self.seed is None:
            return None
        path = results.get('img_path')
        if path is None:
            key = str(results.get('sample_idx', ''))
        else:  # the frame, not where its root lies: scene/color/frame, suffix dropped
            key = '/'.join(osp.splitext(str(path).replace('\\', '/'))[0].split('/')[-3:])
        return np.random.default_rng([self.seed, zlib.crc32(key.encode())])

    # -- helpers ----------------------------------------------------------------------------
    def grid_shape(self, results: dict) -> Tuple[int, int]:
        """The patch grid (H/p, W/p) of ``results['img']``; raises if not divisible."""
        h, w = results['img'].shape[:2]
        p = self.patch_size
        if h % p or w % p:
            files = results.get('img_path', 'unknown file')
            raise ValueError(f'RGBDMaskGenerator: image size {h}x{w} (HxW) is not divisible by '
                             f'patch_size={p} ({files}); resize or crop to a multiple of {p}, '
                             f'e.g. {h // p * p}x{w // p * p}.')
        return h // p, w // p

    def valid_patches(self, depth: np.ndarray, grid: Tuple[int, int]) -> np.ndarray:
        """Bool (H/p)x(W/p): patches whose fraction of depth > 0 is >= min_valid_fraction."""
        gh, gw = grid
        p = self.patch_size
        frac = (depth > 0).reshape(gh, p, gw, p).mean(axis=(1, 3))
        return frac >= self.min_valid_fraction

    # -- transform --------------------------------------------------------------------------
    def transform(self, results: dict) -> dict:
        grid = self.grid_shape(results)
        n = grid[0] * grid[1]
        n_rgb = int(round(self.rgb_mask_ratio * n))
        n_depth_visible = n - int(round(self.depth_mask_ratio * n))

        rng = self._generator(results)
        random = np.random.random_sample if rng is None else rng.random
        rgb_mask = np.zeros(n, dtype=bool)
        rgb_mask[np.argsort(random(n), kind='stable')[:n_rgb]] = True

        # Sort patches by (preference tier, random key); the first n_depth_visible are visible.
        tier = np.zeros(n, dtype=np.int64)
        if self.depth_visible_from_valid:
            depth = results.get('depth')
            if depth is None:
                raise KeyError('RGBDMaskGenerator(depth_visible_from_valid=True) needs '
                               f'results["depth"] ({results.get("depth_path", "no depth_path")})')
            if depth.shape[:2] != results['img'].shape[:2]:
                raise ValueError(
                    f'RGBDMaskGenerator: depth {depth.shape[:2]} and img '
                    f'{results["img"].shape[:2]} sizes differ '
                    f'({results.get("depth_path", "no depth_path")})')
            tier += 2 * ~self.valid_patches(depth, grid).reshape(-1)
        if self.complementary:
            tier += ~rgb_mask
        order = np.lexsort((random(n), tier))
        depth_mask = np.ones(n, dtype=bool)
        depth_mask[order[:n_depth_visible]] = False

        results['rgb_mask'] = rgb_mask.reshape(grid)
        results['depth_mask'] = depth_mask.reshape(grid)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(rgb_mask_ratio={self.rgb_mask_ratio}, '
                f'depth_mask_ratio={self.depth_mask_ratio}, patch_size={self.patch_size}, '
                f'complementary={self.complementary}, '
                f'depth_visible_from_valid={self.depth_visible_from_valid}, '
                f'min_valid_fraction={self.min_valid_fraction}, seed={self.seed})')
