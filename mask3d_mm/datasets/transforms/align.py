"""Bring the colour image onto the pixel grid of another modality of the same frame."""
import logging
from typing import Optional, Tuple

import mmcv
import numpy as np
from mmcv.image.geometric import cv2_interp_codes
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mask3d_mm.registry import TRANSFORMS
from mask3d_mm.structures import MAX_ASPECT_CHANGE
from .camera import (depth_to_color_homography, fov_mismatch, intrinsics_for_image,
                     scale_intrinsics, warp_to_camera)
from .geometric import _seg_keys, resize_nearest

__all__ = ['AlignImageTo', 'AlignColorToDepth', 'check_aspect']

REFERENCES = ('depth', 'gt_seg_map', 'annotation')
INTRINSICS_MODES = ('auto', 'require', 'never')
_NOTED = set()  # notes already logged by this process (once each, not per frame)


def _note_once(key: tuple, msg: str, level: int = logging.INFO) -> None:
    if key not in _NOTED:
        _NOTED.add(key)
        print_log(msg, logger='current', level=level)


def _files(results: dict) -> str:
    names = [f'{k}={results[k]}' for k in ('img_path', 'depth_path', 'seg_map_path')
             if k in results]
    return ', '.join(names) or 'unknown files'


# reference -> (what it is, the data info key of its file)
_REFERENCE_FILES = {
    'depth': ('depth map', 'depth_path'),
    'gt_seg_map': ('label map', 'seg_map_path'),
    'annotation': ("annotated image size (the data info's width x height)", None),
}


def check_aspect(results: dict, reference: str, img_hw: Tuple[int, int],
                 ref_hw: Tuple[int, int], max_aspect_change: float) -> None:
    """Refuse an image whose aspect ratio differs from its reference's by more than
    ``max_aspect_change`` (relative): they do not belong together.

    Raises:
        ValueError: naming the image and the reference's own file (``seg_map_path`` for a
            label map, ``depth_path`` for a depth map) and both sizes.
    """
    (ih, iw), (h, w) = img_hw, ref_hw
    change = abs((iw / ih) / (w / h) - 1)
    if change > max_aspect_change:
        what, key = _REFERENCE_FILES[reference]
        if key:
            what += f' {results.get(key, "(no file)")} ({reference})'
        raise ValueError(f'{what} is {w}x{h} but its image '
                         f'{results.get("img_path")} is {iw}x{ih}: aspect ratios differ by '
                         f'{change:.1%} (> max_aspect_change={max_aspect_change:g}): a '
                         'wrong-size, transposed, cropped or wrongly paired file')


@TRANSFORMS.register_module()
class AlignImageTo(BaseTransform):
    """Bring ``img`` onto the HxW pixel grid of the frame's depth map, label map or annotations.

    - ``reference='depth'`` (``results['depth']``, after ``LoadDepthFromFile``): colour and depth
      come from two cameras. When the frame's ``color_intrinsics`` and ``depth_intrinsics``
      (3x3, set by ``ScanNetRGBDDataset``) are known, every depth pixel ``p`` takes the colour
      at ``K_color @ inv(K_depth) @ p`` (ScanNet's frames are registered up to intrinsics; its
      colour camera at 1296x968 and depth camera at 640x480 differ by 1-3 px at the borders
      after a plain resize). Intrinsics given for another image size than the one read (the
      raw 1296x968 K with 640x480 frames) are scaled to it first (see
      :func:`~mask3d_mm.datasets.transforms.camera.intrinsics_for_image`). Without them:
      a plain resize, with a note logged once.
    - ``'gt_seg_map'`` (after mmseg's ``LoadAnnotations``) and ``'annotation'`` (the data
      info's ``height``/``width``, a COCO image entry; before mmdet's ``LoadAnnotations``):
      label maps and instances live in the colour camera (ScanNet's 2D labels are projections
      into it), so a resize is exact.

    Label maps already loaded (``gt_seg_map``, ``seg_fields``) when the reference is depth are
    taken to be in the colour camera and are moved with it (nearest, ``seg_pad_val`` where the
    depth camera sees beyond the colour image). Put this transform right after the loaders,
    before any joint crop / flip.

    Required Keys: img (HcxWcx3), the reference; color_intrinsics, depth_intrinsics (optional).

    Modified Keys: img (HxWx3), img_shape, ori_shape (the reference's HxW), gt_seg_map and
    seg_fields maps (reference depth), color_intrinsics (of the aligned image: the depth
    camera's after a warp), depth_intrinsics (when given for another size than the depth map).

    Args:
        reference (str): 'depth', 'gt_seg_map' or 'annotation'. Defaults to 'depth'.
        interpolation (str): colour interpolation (``mmcv`` names: 'bilinear', 'bicubic',
            'nearest', 'lanczos'; 'area' for resizes only). Defaults to 'bilinear'.
        max_aspect_change (float): largest relative aspect-ratio change allowed (ScanNet:
            0.4%); more means image and reference do not belong together: ``ValueError``
            naming the files. Defaults to :data:`mask3d_mm.structures.MAX_ASPECT_CHANGE`
            (0.05, as ``LoadDepthFromFile``'s colour/depth check).
        backend (str): :func:`mmcv.imresize` backend. Defaults to 'cv2'.
        use_intrinsics (str): reference depth only. 'auto': warp through the intrinsics when
            both are known, else resize (noted once); 'require': a frame without them is an
            error (``ScanNetRGBDDataset`` then checks every scene at build); 'never': always
            resize (the behaviour before intrinsics were used). Defaults to 'auto'.
        max_fov_mismatch (float): how far (fraction of the colour image) the depth camera may
            see beyond the colour image; more means the intrinsics do not belong to these
            images: ``ValueError``. Defaults to 0.05.
        seg_pad_val (int): label of depth pixels outside the colour image. Defaults to 255.
    """

    def __init__(self, reference: str = 'depth', interpolation: str = 'bilinear',
                 max_aspect_change: float = MAX_ASPECT_CHANGE, backend: str = 'cv2',
                 use_intrinsics: str = 'auto', max_fov_mismatch: float = 0.05,
                 seg_pad_val: int = 255) -> None:
        if reference not in REFERENCES:
            raise ValueError(f'reference must be one of {REFERENCES}, got {reference!r}')
        if use_intrinsics not in INTRINSICS_MODES:
            raise ValueError(f'use_intrinsics must be one of {INTRINSICS_MODES}, '
                             f'got {use_intrinsics!r}')
        if interpolation not in cv2_interp_codes:
            raise ValueError(f'interpolation must be one of {sorted(cv2_interp_codes)}, '
                             f'got {interpolation!r}')
        self.reference = reference
        self.interpolation = interpolation
        self.max_aspect_change = max_aspect_change
        self.backend = backend
        self.use_intrinsics = use_intrinsics
        self.max_fov_mismatch = max_fov_mismatch
        self.seg_pad_val = seg_pad_val

    @property
    def required_intrinsics(self) -> Tuple[str, ...]:
        """Intrinsics every frame must have (read by ``ScanNetRGBDDataset`` at build)."""
        if self.reference == 'depth' and self.use_intrinsics == 'require':
            return ('color', 'depth')
        return ()

    def _target_size(self, results: dict) -> tuple:
        if self.reference == 'annotation':
            return int(results['height']), int(results['width'])
        ref = results.get(self.reference)
        if ref is None:
            loader = 'LoadDepthFromFile' if self.reference == 'depth' else 'LoadAnnotations'
            raise KeyError(f'{type(self).__name__} needs results[{self.reference!r}] '
                           f'({results.get("img_path")}); put {loader} before it')
        return ref.shape[:2]

    def _intrinsics(self, results: dict, key: str, wh: Tuple[int, int]) -> np.ndarray:
        """``results[key]`` scaled to an image of size ``wh`` (noted once when scaled)."""
        try:
            k, native = intrinsics_for_image(results[key], wh, results.get(f'{key}_wh'))
        except ValueError as e:
            raise ValueError(f'{key} do not fit the images ({_files(results)}): {e}') from e
        if native is not None:
            _note_once((key, native, wh),
                       f'{type(self).__name__}: {key} are for a {native[0]}x{native[1]} image '
                       f'({"as the dataset states" if results.get(f"{key}_wh") else "principal point at its centre"}); scaled to the {wh[0]}x{wh[1]} image '
                       f'read ({_files(results)}; noted once)')
        return k

    def _check_extrinsics(self, results: dict) -> None:
        """ScanNet's cameras are registered (identity ``extrinsic_*.txt``); other relative
        poses are not modelled: noted once."""
        ext = [results.get(f'{c}_extrinsics') for c in ('color', 'depth')]
        if any(e is None for e in ext):
            return
        rel = np.linalg.inv(np.asarray(ext[1], np.float64)) @ np.asarray(ext[0], np.float64)
        if not np.allclose(rel, np.eye(4), atol=1e-3):
            _note_once(('extrinsics', ),
                       f'{type(self).__name__}: the colour and depth extrinsics differ '
                       f'({_files(results)}); the colour is warped as if both cameras shared '
                       'the same pose (ScanNet registers them; noted once)', logging.WARNING)

    def _warp(self, results: dict, hw: Tuple[int, int]) -> None:
        """Resample colour (and colour-frame label maps) into the depth camera."""
        h, w = hw
        img = results['img']
        k_depth = self._intrinsics(results, 'depth_intrinsics', (w, h))
        k_color = self._intrinsics(results, 'color_intrinsics', img.shape[1::-1])
        self._check_extrinsics(results)
        hom = depth_to_color_homography(k_color, k_depth)
        off = fov_mismatch(hom, img.shape[1::-1], (w, h))
        if off > self.max_fov_mismatch:
            raise ValueError(
                f'{type(self).__name__}: through color_intrinsics and depth_intrinsics the '
                f'depth camera sees {off:.1%} of the colour image size beyond its border '
                f'(max_fov_mismatch={self.max_fov_mismatch}): the intrinsics do not belong to '
                f'these images ({_files(results)})')
        interp = 'bilinear' if self.interpolation == 'area' else self.interpolation  # no warp
        results['img'] = warp_to_camera(img, hom, (w, h), cv2_interp_codes[interp])
        for key in _seg_keys(results):
            seg = results[key]
            k_seg = self._intrinsics(results, 'color_intrinsics', seg.shape[1::-1])
            results[key] = warp_to_camera(seg, depth_to_color_homography(k_seg, k_depth),
                                          (w, h), cv2_interp_codes['nearest'],
                                          float(self.seg_pad_val))
        dtype = np.asarray(results['depth_intrinsics']).dtype
        dtype = dtype if np.issubdtype(dtype, np.floating) else np.float32
        results['depth_intrinsics'] = k_depth.astype(dtype)
        results['color_intrinsics'] = k_depth.astype(dtype)  # colour now in the depth camera

    def _resize(self, results: dict, hw: Tuple[int, int]) -> None:
        h, w = hw
        img = results['img']
        if results.get('color_intrinsics') is not None:
            k = self._intrinsics(results, 'color_intrinsics', img.shape[1::-1])
            k = scale_intrinsics(k, w / img.shape[1], h / img.shape[0])
            results['color_intrinsics'] = k.astype(np.float32)
        if img.shape[:2] != (h, w):
            results['img'] = mmcv.imresize(img, (w, h), interpolation=self.interpolation,
                                           backend=self.backend)
        if self.reference == 'depth':  # colour-frame label maps follow the colour
            for key in _seg_keys(results):
                results[key] = resize_nearest(results[key], (w, h))

    def transform(self, results: dict) -> Optional[dict]:
        h, w = self._target_size(results)
        check_aspect(results, self.reference, results['img'].shape[:2], (h, w),
                     self.max_aspect_change)
        known = all(results.get(k) is not None
                    for k in ('color_intrinsics', 'depth_intrinsics'))
        if self.reference == 'depth' and self.use_intrinsics != 'never':
            if known:
                self._warp(results, (h, w))
            elif self.use_intrinsics == 'require':
                missing = [k for k in ('color_intrinsics', 'depth_intrinsics')
                           if results.get(k) is None]
                raise KeyError(f"{type(self).__name__}(use_intrinsics='require'): frame "
                               f'{_files(results)} has no {" / ".join(missing)}')
            else:
                _note_once(('resize', ),
                           f'{type(self).__name__}: color_intrinsics / depth_intrinsics not '
                           f'known ({_files(results)}): colour is resized onto the depth grid, '
                           'which mis-registers by a few pixels at the borders when the two '
                           "cameras differ (noted once; use_intrinsics='require' makes it an "
                           'error)', logging.WARNING)
                self._resize(results, (h, w))
        else:
            self._resize(results, (h, w))
        results['img_shape'] = (h, w)
        results['ori_shape'] = (h, w)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(reference={self.reference!r}, '
                f'interpolation={self.interpolation!r}, '
                f'max_aspect_change={self.max_aspect_change}, '
                f'use_intrinsics={self.use_intrinsics!r})')


@TRANSFORMS.register_module()
class AlignColorToDepth(AlignImageTo):
    """:class:`AlignImageTo` with ``reference='depth'``: the pre-training pipelines' step."""

    def __init__(self, interpolation: str = 'bilinear',
                 max_aspect_change: float = MAX_ASPECT_CHANGE, backend: str = 'cv2',
                 use_intrinsics: str = 'auto', max_fov_mismatch: float = 0.05,
                 seg_pad_val: int = 255) -> None:
        super().__init__('depth', interpolation, max_aspect_change, backend, use_intrinsics,
                         max_fov_mismatch, seg_pad_val)
