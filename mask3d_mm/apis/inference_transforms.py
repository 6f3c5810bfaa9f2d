"""The steps :class:`~mask3d_mm.apis.RGBDInferencer` adds to a config's loading transforms:
keep the frame at its own size, fit it to the patch grid, and draw the inference masks."""
import math
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mask3d_mm.datasets.transforms import RGBDMaskGenerator, RGBDResize
from .depth_output import default_intrinsics

__all__ = ['KeepFrame', 'FitToPatches', 'InferenceMasks', 'fit_size', 'read_region']

MODES = ('reconstruct', 'fill')
RGB_VISIBLE = ('all', 'holes')


def fit_size(hw: Tuple[int, int], policy: Union[str, Sequence[int]], patch_size: int,
             crop_size: Tuple[int, int]) -> Tuple[int, int]:
    """The model's input size (H', W') for a frame of ``hw``, multiples of ``patch_size``.

    Args:
        hw (tuple): the frame's (H, W).
        policy (str | tuple): ``'config'``: the aspect ratio of the frame at the pixel count of
            the config's crop (the patch count the model was trained with; 480x640 -> 96x128
            for a 96x128 crop); ``'native'``: the frame's own size; or an (H', W').
            Each side is rounded to the nearest multiple of the patch size (at least one patch).
        patch_size (int): the model's patch size p.
        crop_size (tuple): the config's training crop (H, W).
    """
    p = patch_size
    h, w = hw
    if isinstance(policy, str):
        if policy == 'native':
            th, tw = float(h), float(w)
        elif policy == 'config':
            area = float(crop_size[0] * crop_size[1])
            th = math.sqrt(area * h / w)
            tw = th * w / h
        else:
            raise ValueError(f"size must be 'config', 'native' or (H, W), got {policy!r}")
    else:
        th, tw = (float(v) for v in policy)
    return max(p, int(round(th / p)) * p), max(p, int(round(tw / p)) * p)


def read_region(region: Union[None, str, np.ndarray], hw: Tuple[int, int]) -> np.ndarray:
    """A region image (path: non-zero pixels = region; or a bool / number array) as (H, W)
    bool at ``hw`` (nearest resize); None: nothing."""
    if region is None:
        return np.zeros(hw, bool)
    if isinstance(region, str):
        img = cv2.imread(region, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise FileNotFoundError(f'mask image {region} cannot be read')
        region = img if img.ndim == 2 else img.max(axis=2)
    region = np.asarray(region) != 0
    if region.shape != tuple(hw):
        region = cv2.resize(region.astype(np.uint8), (hw[1], hw[0]),
                            interpolation=cv2.INTER_NEAREST) > 0
    return region


class KeepFrame(BaseTransform):
    """Keep the aligned frame at its own size for the outputs: ``ori_img`` (colour at the depth
    map's size), ``ori_depth`` (metres), ``ori_intrinsics`` (the frame's ``depth_intrinsics``,
    else :func:`~.depth_output.default_intrinsics`) and ``ori_region`` (the frame's
    ``region`` or the inferencer's, (H, W) bool)."""

    def __init__(self, region: Union[None, str, np.ndarray] = None) -> None:
        self.region = region

    def transform(self, results: dict) -> dict:
        depth = results['depth']
        h, w = depth.shape[:2]
        img = results['img']
        if img.shape[:2] != (h, w):  # a pipeline without AlignColorToDepth
            img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
            results['img'] = img
            results['img_shape'] = (h, w)
        k = results.get('depth_intrinsics')
        results['ori_img'] = img.copy()
        results['ori_depth'] = depth.copy()
        results['ori_intrinsics'] = (np.asarray(k, np.float32) if k is not None
                                     else default_intrinsics(h, w))
        results['intrinsics_known'] = k is not None
        region = results.get('region', self.region)
        try:
            results['ori_region'] = read_region(region, (h, w))
        except FileNotFoundError as e:
            raise FileNotFoundError(f'{e} (frame {results.get("depth_path")})') from None
        return results


class FitToPatches(BaseTransform):
    """Resize colour and depth to :func:`fit_size` (aspect ratio kept up to the rounding to
    whole patches; colour bilinear, depth nearest, ``depth_intrinsics`` scaled)."""

    def __init__(self, size: Union[str, Sequence[int]], patch_size: int,
                 crop_size: Tuple[int, int]) -> None:
        self.size = size
        self.patch_size = patch_size
        self.crop_size = tuple(crop_size)

    def transform(self, results: dict) -> dict:
        hw = results['img'].shape[:2]
        target = fit_size(hw, self.size, self.patch_size, self.crop_size)
        if tuple(target) != tuple(hw):
            results = RGBDResize(scale=target).transform(results)
        return results


class InferenceMasks(BaseTransform):
    """The patch masks of an inference mode (True = masked).

    - ``'reconstruct'``: masks drawn as in validation (``RGBDMaskGenerator`` at the given
      ratios, seeded by the frame), or, with a region, the depth patches the region touches
      masked (the RGB still drawn at ``rgb_mask_ratio``; ``complementary``: RGB visible
      exactly where the depth is masked).
    - ``'fill'``: the depth patches with less than ``min_valid_fraction`` valid pixels (the
      sensor's holes) and those the region touches are masked, every other depth patch is
      visible; the RGB is visible everywhere (``rgb_visible='all'``) or only in the masked depth
      patches (``'holes'``, the complementary masks of pre-training).

    Added keys: ``rgb_mask``, ``depth_mask`` ((h, w) bool), ``mode``.
    """

    def __init__(self, mode: str, patch_size: int, rgb_mask_ratio: float = 0.75,
                 depth_mask_ratio: float = 0.75, complementary: bool = True,
                 rgb_visible: str = 'all', min_valid_fraction: float = 0.5,
                 seed: int = 0) -> None:
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        if rgb_visible not in RGB_VISIBLE:
            raise ValueError(f'rgb_visible must be one of {RGB_VISIBLE}, got {rgb_visible!r}')
        self.mode = mode
        self.patch_size = patch_size
        self.rgb_visible = rgb_visible
        self.min_valid_fraction = min_valid_fraction
        self.generator = RGBDMaskGenerator(
            rgb_mask_ratio=rgb_mask_ratio, depth_mask_ratio=depth_mask_ratio,
            patch_size=patch_size, complementary=complementary, seed=seed)

    def _region_patches(self, results: dict, grid: Tuple[int, int]) -> np.ndarray:
        region = results.get('ori_region')
        if region is None or not region.any():
            return np.zeros(grid, bool)
        gh, gw = grid
        # the fraction of each patch's pixels in the region, at the model's size
        frac = cv2.resize(region.astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA)
        return frac > 0

    def transform(self, results: dict) -> dict:
        grid = self.generator.grid_shape(results)
        region = self._region_patches(results, grid)
        if self.mode == 'reconstruct':
            results = self.generator.transform(results)
            if region.any():
                results['depth_mask'] = region
                if self.generator.complementary:
                    results['rgb_mask'] = ~region
        else:
            p = self.patch_size
            frac = (results['depth'] > 0).reshape(grid[0], p, grid[1], p).mean(axis=(1, 3))
            valid = frac >= self.min_valid_fraction
            depth_mask = ~valid | region
            if depth_mask.all():
                raise ValueError(
                    f'hole filling: no depth patch of {results.get("depth_path")} has '
                    f'{self.min_valid_fraction:.0%} valid pixels outside the region: nothing to '
                    'fill from')
            results['depth_mask'] = depth_mask
            results['rgb_mask'] = (np.zeros(grid, bool) if self.rgb_visible == 'all'
                                   else ~depth_mask)
        results['mode'] = self.mode
        return results
