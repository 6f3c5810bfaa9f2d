"""Joint geometric transforms for RGB-D frames.

Every transform here moves ``img`` and ``depth`` (and the segmentation maps that are present)
with the *same* geometry, so that RGB and depth stay pixel-aligned, and keeps the pinhole
``depth_intrinsics`` (3x3) in step with the current depth map.

Conventions:

- Pixel centres sit at integer coordinates (pixel ``(u, v)`` covers ``[u - 0.5, u + 0.5]``), the
  convention of OpenCV calibrations and of ``cv2.resize``'s half-pixel sampling. A crop at
  ``(x0, y0)`` followed by a resize by ``(sx, sy)`` maps ``u -> (u - x0 + 0.5) * sx - 0.5``;
  the intrinsics are updated with exactly this map.
- Depth is never interpolated: it is resampled with ``cv2.INTER_NEAREST_EXACT`` (nearest source
  pixel under the same half-pixel mapping as the bilinear colour resize). mmcv's ``'nearest'``
  is ``cv2.INTER_NEAREST``, which samples ``floor(u' / s)`` and shifts a downscaled map by up to
  ``(1/s - 1) / 2`` source pixels relative to the colour; it is therefore not used for depth.
  Invalid depth (0) stays 0 and no new depth values are created.
- Photometric augmentation needs nothing here: MMPretrain's ``ColorJitter``,
  ``RandomGrayscale``, ``GaussianBlur``, ``Solarize``, ... read and write ``results['img']``
  only, so they already leave ``depth`` untouched (checked in the tests).

Patch masks (``rgb_mask``/``depth_mask``) should be generated after the geometric transforms;
only :class:`RGBDRandomFlip` moves ``*_mask`` keys that are already present.
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mask3d_mm.registry import TRANSFORMS

__all__ = ['RGBDRandomResizedCrop', 'RGBDRandomFlip', 'RGBDResize']

_CV2_FLIP_DTYPES = tuple(
    np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32,
                          np.float64))


def _describe(results: dict) -> str:
    """The files of a sample, for error messages."""
    names = [f'{k}={results[k]!r}' for k in ('img_path', 'depth_path') if k in results]
    return ', '.join(names) if names else 'unknown files'


def _to_hw(scale: Union[int, Sequence[int]], name: str = 'scale') -> Tuple[int, int]:
    """``int | (h, w)`` -> ``(h, w)`` of positive ints."""
    if isinstance(scale, int):
        scale = (scale, scale)
    if len(scale) != 2 or not all(isinstance(s, int) and s > 0 for s in scale):
        raise ValueError(f'{name} must be a positive int or a (h, w) pair of positive ints, '
                         f'got {scale!r}')
    return int(scale[0]), int(scale[1])


def resize_nearest(arr: np.ndarray, size_wh: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize with half-pixel centres (``cv2.INTER_NEAREST_EXACT``).

    Args:
        arr (np.ndarray): HxW or HxWxC map (depth, labels, ...); any dtype cv2 accepts.
        size_wh (tuple[int, int]): Output (w, h).

    Returns:
        np.ndarray: The resized map; every value is one of the input values.
    """
    if arr.shape[1::-1] == tuple(size_wh):
        return arr
    if arr.dtype == np.bool_:
        out = cv2.resize(arr.view(np.uint8), size_wh, interpolation=cv2.INTER_NEAREST_EXACT)
        return out.astype(np.bool_)
    return cv2.resize(arr, size_wh, interpolation=cv2.INTER_NEAREST_EXACT)


def crop_resize_intrinsics(intrinsics: np.ndarray, x0: float, y0: float, sx: float,
                           sy: float) -> np.ndarray:
    """Intrinsics after a crop at ``(x0, y0)`` followed by a resize by ``(sx, sy)``.

    Args:
        intrinsics (np.ndarray): 3x3 pinhole matrix (a 4x4 matrix's top-left 3x3 is used
            and the rest kept).
        x0, y0 (float): Top-left corner of the crop, in pixels.
        sx, sy (float): Output size / crop size along x and y.

    Returns:
        np.ndarray: The updated matrix, same shape and dtype as the input (float32 for ints).
    """
    K = np.asarray(intrinsics, dtype=np.float64)
    A = np.array([[sx, 0., (0.5 - x0) * sx - 0.5],
                  [0., sy, (0.5 - y0) * sy - 0.5],
                  [0., 0., 1.]])
    out = K.copy()
    out[:3, :3] = A @ K[:3, :3]
    dtype = intrinsics.dtype if np.issubdtype(np.asarray(intrinsics).dtype,
                                              np.floating) else np.float32
    return out.astype(dtype)


def _seg_keys(results: dict) -> List[str]:
    """Keys of dense label maps that move with the image (nearest resampling)."""
    keys = list(results.get('seg_fields', []))
    if 'gt_seg_map' in results and 'gt_seg_map' not in keys:
        keys.append('gt_seg_map')
    return [k for k in keys if k in results and results[k] is not None]


def _check_aligned(results: dict, who: str) -> Optional[np.ndarray]:
    """Return ``results['depth']`` (or None), raising if it is not the image's HxW."""
    depth = results.get('depth')
    if depth is None:
        return None
    img_hw = results['img'].shape[:2]
    if depth.shape[:2] != img_hw:
        raise ValueError(
            f'{who}: img {img_hw[0]}x{img_hw[1]} and depth {depth.shape[0]}x{depth.shape[1]} '
            f'are not aligned ({_describe(results)}); put AlignColorToDepth first in the '
            f'pipeline.')
    return depth


def _crop_resize(results: dict, box: Tuple[int, int, int, int], out_hw: Tuple[int, int],
                 interpolation: str, backend: str) -> dict:
    """Crop ``box = (y0, x0, h, w)`` from img, depth and seg maps and resize to ``out_hw``."""
    y0, x0, ch, cw = box
    out_h, out_w = out_hw
    size_wh = (out_w, out_h)
    ys, xs = slice(y0, y0 + ch), slice(x0, x0 + cw)

    img = results['img'][ys, xs]
    if img.shape[:2] != (out_h, out_w):
        img = mmcv.imresize(img, size_wh, interpolation=interpolation, backend=backend)
    results['img'] = np.ascontiguousarray(img)
    results['img_shape'] = (out_h, out_w)

    if results.get('depth') is not None:
        results['depth'] = np.ascontiguousarray(resize_nearest(results['depth'][ys, xs],
                                                               size_wh))
    for key in _seg_keys(results):
        results[key] = np.ascontiguousarray(resize_nearest(results[key][ys, xs], size_wh))

    if results.get('depth_intrinsics') is not None:
        results['depth_intrinsics'] = crop_resize_intrinsics(
            results['depth_intrinsics'], x0, y0, out_w / cw, out_h / ch)
    return results


@TRANSFORMS.register_module()
class RGBDRandomResizedCrop(BaseTransform):
    """Random resized crop of an aligned RGB-D frame (one crop box for img and depth).

    The box is drawn as in Inception / MMPretrain's ``RandomResizedCrop``: area fraction
    uniform in ``crop_ratio_range``, aspect ratio (w/h) log-uniform in ``aspect_ratio_range``,
    ``max_attempts`` tries, then a central crop with the aspect clamped to the range. The crop
    is resized to ``scale`` = (h, w); rectangular outputs (e.g. (240, 320)) are supported.

    Required Keys:

    - img (HxWx3), depth (HxW, optional, same HxW as img)
    - depth_intrinsics (3x3, optional), gt_seg_map / seg_fields (optional)

    Modified Keys:

    - img, depth, depth_intrinsics, gt_seg_map and seg_fields maps, img_shape

    Added Keys:

    - crop_bbox (np.ndarray): ``[x0, y0, x1, y1]`` of the crop in the input (x1, y1 exclusive)

    Args:
        scale (int | tuple[int, int]): Output size; an int gives a square, a tuple is (h, w).
        crop_ratio_range (tuple[float, float]): Range of the crop's area fraction.
            Defaults to (0.2, 1.0).
        aspect_ratio_range (tuple[float, float]): Range of the crop's aspect ratio (w/h).
            Defaults to (3/4, 4/3).
        relative_aspect (bool): Multiply ``aspect_ratio_range`` by the output aspect ratio
            (w/h of ``scale``), so that rectangular outputs are not systematically stretched.
            Defaults to False (absolute ratios, as MMPretrain / torchvision).
        max_attempts (int): Tries before falling back to a central crop. Defaults to 10.
        interpolation (str): Colour interpolation (:func:`mmcv.imresize`). Depth and label
            maps are always resampled nearest. Defaults to 'bilinear'.
        backend (str): Colour resize backend. Defaults to 'cv2'.
    """

    def __init__(self,
                 scale: Union[int, Sequence[int]],
                 crop_ratio_range: Tuple[float, float] = (0.2, 1.0),
                 aspect_ratio_range: Tuple[float, float] = (3. / 4., 4. / 3.),
                 relative_aspect: bool = False,
                 max_attempts: int = 10,
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        self.scale = _to_hw(scale)
        if not 0 < crop_ratio_range[0] <= crop_ratio_range[1] <= 1:
            raise ValueError('crop_ratio_range must satisfy 0 < low <= high <= 1, '
                             f'got {crop_ratio_range}')
        if not 0 < aspect_ratio_range[0] <= aspect_ratio_range[1]:
            raise ValueError('aspect_ratio_range must satisfy 0 < low <= high, '
                             f'got {aspect_ratio_range}')
        if max_attempts < 0:
            raise ValueError(f'max_attempts must be >= 0, got {max_attempts}')
        self.crop_ratio_range = tuple(crop_ratio_range)
        self.aspect_ratio_range = tuple(aspect_ratio_range)
        self.relative_aspect = relative_aspect
        self.max_attempts = max_attempts
        self.interpolation = interpolation
        self.backend = backend

    @cache_randomness
    def get_params(self, h: int, w: int) -> Tuple[int, int, int, int]:
        """Draw a crop box ``(y0, x0, crop_h, crop_w)`` inside an ``h x w`` frame."""
        lo, hi = self.aspect_ratio_range
        if self.relative_aspect:
            rel = self.scale[1] / self.scale[0]
            lo, hi = lo * rel, hi * rel
        log_lo, log_hi = math.log(lo), math.log(hi)
        area = h * w
        for _ in range(self.max_attempts):
            target_area = np.random.uniform(*self.crop_ratio_range) * area
            aspect = math.exp(np.random.uniform(log_lo, log_hi))
            cw = int(round(math.sqrt(target_area * aspect)))
            ch = int(round(math.sqrt(target_area / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                y0 = np.random.randint(0, h - ch + 1)
                x0 = np.random.randint(0, w - cw + 1)
                return int(y0), int(x0), ch, cw
        # Fallback: the largest central crop whose aspect ratio is inside the range.
        in_ratio = w / h
        if in_ratio < lo:
            cw, ch = w, max(1, min(h, int(round(w / lo))))
        elif in_ratio > hi:
            cw, ch = max(1, min(w, int(round(h * hi)))), h
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def transform(self, results: dict) -> dict:
        _check_aligned(results, self.__class__.__name__)
        h, w = results['img'].shape[:2]
        y0, x0, ch, cw = self.get_params(h, w)
        results = _crop_resize(results, (y0, x0, ch, cw), self.scale, self.interpolation,
                               self.backend)
        results['crop_bbox'] = np.array([x0, y0, x0 + cw, y0 + ch], dtype=np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'crop_ratio_range={self.crop_ratio_range}, '
                f'aspect_ratio_range={self.aspect_ratio_range}, '
                f'relative_aspect={self.relative_aspect}, max_attempts={self.max_attempts}, '
                f'interpolation={self.interpolation!r}, backend={self.backend!r})')


@TRANSFORMS.register_module()
class RGBDResize(BaseTransform):
    """Deterministic resize of an aligned RGB-D frame to a fixed (h, w) (validation).

    Colour is resized with ``interpolation``, depth and label maps nearest; the aspect ratio is
    not kept. ``depth_intrinsics`` are scaled accordingly.

    Required Keys:

    - img, depth (optional), depth_intrinsics (optional), gt_seg_map / seg_fields (optional)

    Modified Keys:

    - img, depth, depth_intrinsics, gt_seg_map and seg_fields maps, img_shape

    Args:
        scale (int | tuple[int, int]): Output size; an int gives a square, a tuple is (h, w).
        interpolation (str): Colour interpolation. Defaults to 'bilinear'.
        backend (str): Colour resize backend. Defaults to 'cv2'.
    """

    def __init__(self, scale: Union[int, Sequence[int]], interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        self.scale = _to_hw(scale)
        self.interpolation = interpolation
        self.backend = backend

    def transform(self, results: dict) -> dict:
        _check_aligned(results, self.__class__.__name__)
        h, w = results['img'].shape[:2]
        return _crop_resize(results, (0, 0, h, w), self.scale, self.interpolation,
                            self.backend)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'interpolation={self.interpolation!r}, backend={self.backend!r})')


@TRANSFORMS.register_module()
class RGBDRandomFlip(BaseTransform):
    """Random flip of an aligned RGB-D frame.

    Flips ``img``, ``depth``, the label maps (``gt_seg_map``, ``seg_fields``) and every 2D array
    under a key ending in ``_mask`` (pixel masks, and patch masks such as ``rgb_mask``, whose
    grid flips the same way when W and H are multiples of the patch size).

    ``depth_intrinsics`` are updated with ``cx' = W - 1 - cx`` (horizontal) or
    ``cy' = H - 1 - cy`` (vertical), keeping ``fx, fy > 0``: the flipped frame is the image of
    the mirrored scene (``X -> -X`` resp. ``Y -> -Y`` in camera coordinates), so back-projected
    points are mirrored, as the image is.

    Required Keys:

    - img, depth (optional), depth_intrinsics (optional), ``*_mask`` / seg maps (optional)

    Modified Keys:

    - img, depth, depth_intrinsics, ``*_mask``, gt_seg_map and seg_fields maps

    Added Keys:

    - flip (bool), flip_direction (str | None)

    Args:
        prob (float): Flip probability. Defaults to 0.5.
        direction (str): 'horizontal' or 'vertical'. Defaults to 'horizontal'.
    """

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal') -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(f"direction must be 'horizontal' or 'vertical', got {direction!r}")
        self.prob = prob
        self.direction = direction

    @cache_randomness
    def _do_flip(self) -> bool:
        return bool(np.random.rand() < self.prob)

    def _flip(self, arr: np.ndarray) -> np.ndarray:
        """A flipped copy (``cv2.flip``: several times faster than copying ``np.flip``)."""
        if arr.dtype == np.bool_:
            return self._flip(arr.view(np.uint8)).view(np.bool_)
        if arr.dtype in _CV2_FLIP_DTYPES and (arr.ndim == 2 or
                                               (arr.ndim == 3 and arr.shape[2] <= 4)):
            return cv2.flip(arr, 1 if self.direction == 'horizontal' else 0)
        return np.ascontiguousarray(mmcv.imflip(arr, direction=self.direction))

    def transform(self, results: dict) -> dict:
        depth = _check_aligned(results, self.__class__.__name__)
        flip = self._do_flip()
        results['flip'] = flip
        results['flip_direction'] = self.direction if flip else None
        if not flip:
            return results
        h, w = results['img'].shape[:2]
        results['img'] = self._flip(results['img'])
        if depth is not None:
            results['depth'] = self._flip(depth)
        keys = _seg_keys(results) + [
            k for k, v in results.items()
            if k.endswith('_mask') and isinstance(v, np.ndarray) and v.ndim >= 2
        ]
        for key in dict.fromkeys(keys):
            results[key] = self._flip(results[key])
        if results.get('depth_intrinsics') is not None:
            K = np.array(results['depth_intrinsics'], copy=True)
            if self.direction == 'horizontal':
                K[0, 1] = -K[0, 1]  # skew changes sign with the mirrored x axis
                K[0, 2] = (w - 1) - K[0, 2]
            else:
                K[1, 2] = (h - 1) - K[1, 2]
                K[0, 1] = -K[0, 1]
            results['depth_intrinsics'] = K
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob}, direction={self.direction!r})'
