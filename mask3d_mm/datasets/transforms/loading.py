"""Loading transforms for RGB-D data."""
import logging
from typing import Dict, Optional, Sequence, Tuple

import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mask3d_mm.registry import TRANSFORMS
from mask3d_mm.structures import MAX_ASPECT_CHANGE
from .depth_encoding import (PLAUSIBILITY_DEFAULTS, DepthEncoding, check_encoding,
                             decode_depth, depth_stats, describe_encoding, get_encoding,
                             likely_cause, raw_symptoms, sample_step, symptoms)
from .depth_io import (check_depth_values, decode_depth_file, frame_ray_intrinsics, ray_to_planar,
                       read_confidence)


class ImplausibleDepthError(ValueError):
    """A depth map implausible for the configured encoding (``on_implausible='error'``)."""


@TRANSFORMS.register_module()
class LoadDepthFromFile(BaseTransform):
    """Load a depth map (ScanNet's uint16 millimetres PNG, or another sensor's encoding) as
    float32 metres.

    Required Keys:

    - depth_path (or the key ``depth_key`` names, e.g. mmseg's ``depth_map_path``)
    - img (optional): when present, the depth map must have the same aspect ratio
    - depth_encoding (optional): the encoding the frame's dataset states for its files
      (:class:`~mask3d_mm.datasets.RGBDFramesDataset`), see "Encodings"
    - depth_intrinsics (optional): (3, 3), for ``'hypersim'``'s ray distances
    - confidence_path (optional): the frame's confidence map, see ``min_confidence``

    Added Keys:

    - depth (np.ndarray): HxW float32 metres, 0 where the depth is invalid
    - depth_shape (tuple): (H, W)

    **Encodings.** A dataset states how its files are encoded: the frames of
    :class:`~mask3d_mm.datasets.RGBDFramesDataset` and its subclasses carry
    ``depth_encoding`` (a name of the table below, or ``'scale:<s>'``: uint16 value / s). A
    pipeline that gives neither ``encoding`` nor an explicit encoding argument decodes each
    frame with its ``depth_encoding`` (frames without one: ``'scannet'``), so one pipeline
    reads a mixture of sources. ``encoding`` (or the explicit arguments) on the pipeline picks
    the settings for frames that state none; any argument given explicitly overrides the
    preset (logged once). Where a frame states an encoding, the pipeline's settings must decode
    its files the same way (``encoding='scannet'``, ``depth_scale=1000`` on ScanNet frames
    are fine); otherwise a ``ValueError`` names both and the file: set the encoding on the
    dataset (``encoding=...``), not in the pipeline. Files are read with
    ``cv2.IMREAD_UNCHANGED`` (PNG, PGM, TIFF, EXR where the OpenCV build reads it),
    ``numpy.load`` (``.npy``) or, for ``'hypersim'``, h5py (``.hdf5``, optional dependency).

    ================  ==========================  ======================================  =======
    encoding          datasets                    file value -> metres                    invalid
    ================  ==========================  ======================================  =======
    ``'scannet'``     ScanNet (default); also     uint16 / 1000                           0
                      ``'redwood'``, NYUv2
                      labelled export
                      ``'nyu_toolbox'``
    ``'7scenes'``     7-Scenes                    uint16 / 1000                           0, 65535
    ``'sunrgbd'``     SUN RGB-D (all sensors)     uint16 rotated right by 3 bits, / 1000  0
    ``'tum'``         TUM RGB-D                   uint16 / 5000                           0
    ``'matterport'``  Matterport3D undistorted    uint16 / 4000                           0
    ``'nyu_raw'``     NYUv2 raw Kinect PGMs       bytes swapped, 351.3 / (1092.5 - v)     0, 2047
    ``'float_m'``     float metres (.npy, 32-bit  as is                                   0, NaN,
                      float TIFF)                                                         inf
    ``'taskonomy'``   Taskonomy ``depth_zbuffer``  uint16 / 512                            0, 65535
    ``'arkit'``       ARKitScenes                 uint16 / 1000                           0
    ``'hypersim'``    Hypersim                    HDF5 ``'dataset'``, float16 distance    0, NaN
                      ``depth_meters.hdf5``       along the ray -> planar depth with the
                                                  frame's ``depth_intrinsics`` (default:
                                                  Hypersim's 60 degree camera)
    ``'scale:<s>'``   own captures                uint16 / s                              0
    ================  ==========================  ======================================  =======

    A pixel is also invalid when its depth is negative or exceeds ``max_depth``, or (legacy
    option) its value is ``>= invalid_value``. ``nyu_raw`` maps are not registered to the colour
    camera: prefer the NYU toolbox's projected export. See docs/data_preparation.md ("Depth from
    other sensors").

    **Confidence.** With ``min_confidence`` set, a frame with ``confidence_path`` (a uint8 /
    uint16 single-channel image of the depth map's size; ARKitScenes: 0 low, 1 medium, 2 high)
    has the pixels whose confidence is below ``min_confidence`` invalid (0), before the
    plausibility check. Frames without ``confidence_path`` are read as usual.

    **Errors.** Inputs that would be silently misread raise a ``ValueError`` naming the file:
    8-bit images (almost certainly a visualisation, not depth), 3-channel images, a float file
    for an integer encoding (or the reverse), NaN in an integer encoding, HDF5 for any encoding
    but ``'hypersim'``, a confidence map of another size than the depth map, a depth map whose
    aspect ratio differs from the loaded color image, and (unless ``allow_all_invalid``) a map
    without any valid pixel. A missing file raises ``FileNotFoundError``.

    **Plausibility check.** On about 4800 pixels of each map (a strided grid): a map is
    implausible when fewer than 5% of its pixels are valid, its median valid depth is below
    0.2 m or above 0.8 x ``max_depth``, more than 20% of its measured pixels lie beyond
    ``max_depth`` (with ``max_depth=None``, the median is checked against 8 m), or its median
    is below 0.8 m while 95% of its valid pixels are nearer than 1.5 m. These are the
    symptoms of a wrong encoding: metres stored as integers (median ~0.003 m), TUM read as
    millimetres (20-80% beyond 10 m), millimetres read as TUM's or Matterport's units (a room
    shrunk 4-5x; :func:`~.depth_encoding.near_symptom` states that rule and its limits), SUN
    RGB-D without its bit rotation (median ~9 m, or nearly no valid pixel), NYU raw disparity.
    The message names the file, the symptoms and the likely cause (the encodings under which
    the values are plausible). ``on_implausible='warn'`` logs
    the first implausible file of each process and again at 10, 100, ... files, with the count;
    ``'error'`` raises :class:`ImplausibleDepthError`; ``'ignore'`` skips the check.

    Args:
        depth_scale (float, optional): file value / ``depth_scale`` = metres. None: the
            encoding's (1000 for ScanNet millimetres). Defaults to None.
        max_depth (float, optional): depths beyond it (metres) become 0. ``None`` keeps all.
            Defaults to 10.0.
        invalid_value (int, optional): file values ``>=`` it become 0. ``None`` disables the
            check. Defaults to 65535.
        allow_all_invalid (bool): accept a depth map without any valid pixel. Defaults to False.
        aspect_ratio_tol (float): relative tolerance of the color/depth aspect-ratio check; the
            default accepts ScanNet's 1296x968 color vs 640x480 depth (0.4% apart) and rejects a
            transposed or cropped map. Defaults to
            :data:`mask3d_mm.structures.MAX_ASPECT_CHANGE` (0.05, as ``AlignImageTo``).
        backend_args (dict, optional): arguments to instantiate the file backend
            (see :func:`mmengine.fileio.get`). Defaults to None.
        encoding (str, optional): a preset of the table above (or ``'scale:<s>'``), for the
            frames whose dataset states none (and checked against those that do). None: the
            frame's ``depth_encoding``, else ``'scannet'``.
        invalid_values (Sequence, optional): values (after byte swap and bit rotation) that
            mark no depth. None: the encoding's.
        bit_rotation (int, optional): rotate uint16 values right by this many bits. None: the
            encoding's (3 for SUN RGB-D).
        swap_bytes (bool, optional): swap the bytes of uint16 values. None: the encoding's.
        kinect_disparity (Sequence[float], optional): ``(p1, p2)``, metres =
            ``p1 / (p2 - value)``. None: the encoding's.
        file_dtype (str, optional): ``'uint16'`` or ``'float'``. None: the encoding's.
        on_implausible (str): ``'warn'``, ``'error'`` or ``'ignore'``. Defaults to 'warn'.
        plausibility (dict, optional): overrides of the thresholds ``min_valid_fraction``
            (0.05), ``min_median_depth`` (0.2 m), ``max_median_ratio`` (0.8),
            ``max_beyond_fraction`` (0.2), ``near_median_depth`` (0.8 m; 0 turns the near-range
            rule off, e.g. for close-range captures) and ``min_far_depth`` (1.5 m).
            Defaults to None.
        min_confidence (int, optional): pixels whose ``confidence_path`` value is below it
            become invalid. None: confidence maps are not read. Defaults to None.
        depth_key (str): the key of the depth file's path, e.g. ``'depth_map_path'`` for
            mmseg's ``NYUDataset`` (then ``mask3d_mm.DepthToTarget`` makes the map mmseg's
            depth-estimation target). Defaults to 'depth_path'.
    """

    def __init__(self,
                 depth_scale: Optional[float] = None,
                 max_depth: Optional[float] = 10.0,
                 invalid_value: Optional[int] = 65535,
                 allow_all_invalid: bool = False,
                 aspect_ratio_tol: float = MAX_ASPECT_CHANGE,
                 backend_args: Optional[dict] = None,
                 *,
                 encoding: Optional[str] = None,
                 invalid_values: Optional[Sequence[float]] = None,
                 bit_rotation: Optional[int] = None,
                 swap_bytes: Optional[bool] = None,
                 kinect_disparity: Optional[Sequence[float]] = None,
                 file_dtype: Optional[str] = None,
                 on_implausible: str = 'warn',
                 plausibility: Optional[dict] = None,
                 min_confidence: Optional[int] = None,
                 depth_key: str = 'depth_path') -> None:
        preset = get_encoding(encoding or 'scannet')
        given = dict(depth_scale=None if depth_scale is None else float(depth_scale),
                     file_dtype=file_dtype, bit_rotation=bit_rotation,
                     swap_bytes=None if swap_bytes is None else bool(swap_bytes),
                     kinect_disparity=None if kinect_disparity is None else tuple(
                         float(p) for p in kinect_disparity),
                     invalid_values=None if invalid_values is None else tuple(invalid_values))
        given = {k: v for k, v in given.items() if v is not None}
        self.encoding_name = encoding
        self.encoding: DepthEncoding = preset._replace(**given)
        self._check_encoding(self.encoding)
        # the pipeline sets the encoding (checked against the frames' depth_encoding)
        self._explicit = encoding is not None or bool(given)
        self._encodings: Dict[str, DepthEncoding] = {}  # frame depth_encoding -> DepthEncoding
        if min_confidence is not None and (isinstance(min_confidence, bool)
                                           or not isinstance(min_confidence, int)):
            raise ValueError(f'min_confidence must be an int or None, got {min_confidence!r}')
        self.min_confidence = min_confidence
        self.depth_key = depth_key
        changed = {k: v for k, v in given.items() if v != getattr(preset, k)}
        if encoding is not None and changed:
            print_log(f'LoadDepthFromFile: explicit arguments override encoding={encoding!r}: '
                      + ', '.join(f'{k}={v!r} (preset {getattr(preset, k)!r})'
                                  for k, v in changed.items())
                      + ('; depth_scale is unused with kinect_disparity'
                         if 'depth_scale' in changed and self.encoding.kinect_disparity else ''),
                      logger='current', level=logging.WARNING)
        if max_depth is not None and max_depth <= 0:
            raise ValueError(f'max_depth must be positive or None, got {max_depth}')
        if on_implausible not in ('warn', 'error', 'ignore'):
            raise ValueError("on_implausible must be 'warn', 'error' or 'ignore', got "
                             f'{on_implausible!r}')
        unknown = set(plausibility or {}) - set(PLAUSIBILITY_DEFAULTS)
        if unknown:
            raise ValueError(f'unknown plausibility thresholds {sorted(unknown)}; choose from '
                             f'{sorted(PLAUSIBILITY_DEFAULTS)}')
        self.depth_scale = self.encoding.depth_scale
        self.max_depth = max_depth
        self.invalid_value = invalid_value
        self.allow_all_invalid = allow_all_invalid
        self.aspect_ratio_tol = aspect_ratio_tol
        self.backend_args = backend_args.copy() if backend_args is not None else None
        self.on_implausible = on_implausible
        self.plausibility = {**PLAUSIBILITY_DEFAULTS, **(plausibility or {})}
        self.num_checked = 0  # depth maps checked by this process (each worker counts its own)
        self.num_implausible = 0
        self._next_warning = 1

    @staticmethod
    def _check_encoding(enc: DepthEncoding) -> None:
        check_encoding(enc)

    def frame_encoding(self, depth_encoding: Optional[str] = None,
                       filename: str = '') -> Tuple[Optional[str], DepthEncoding]:
        """The encoding a frame is decoded with: its dataset's ``depth_encoding`` unless the
        pipeline sets one (which must then decode the same way).

        Args:
            depth_encoding (str, optional): the frame's ``depth_encoding`` (None: not stated).
            filename (str): the depth file, for messages.

        Returns:
            tuple: the encoding's name (for messages; None: the pipeline's explicit arguments)
            and the :class:`DepthEncoding`.
        """
        if depth_encoding is None:
            return self.encoding_name, self.encoding
        enc = self._encodings.get(depth_encoding)
        if enc is None:
            try:
                enc = get_encoding(depth_encoding)
            except ValueError as e:
                raise ValueError(f'depth file {filename}: its dataset states {e}') from e
            self._check_encoding(enc)
            self._encodings[depth_encoding] = enc
        if self._explicit and enc != self.encoding:
            raise ValueError(
                f'depth file {filename}: the pipeline\'s LoadDepthFromFile '
                f'({self._describe(self.encoding, self.encoding_name)}) contradicts the encoding '
                f'its dataset states for it, depth_encoding={depth_encoding!r} '
                f'({self._describe(enc, depth_encoding)}): a dataset says how its files are '
                'encoded; remove encoding and the explicit encoding arguments from '
                "LoadDepthFromFile, or set the dataset's encoding=... instead")
        return (self.encoding_name if self._explicit and self.encoding_name else
                depth_encoding), enc

    def _describe(self, enc: Optional[DepthEncoding] = None, name: Optional[str] = None) -> str:
        """An encoding in words (default: the pipeline's), for messages."""
        if enc is None:
            enc, name = self.encoding, self.encoding_name
        return describe_encoding(enc, name, self.max_depth)

    def read_raw(self, filename: str, depth_encoding: Optional[str] = None) -> np.ndarray:
        """Read the file's depth values as stored (HxW, file dtype, before the encoding's
        decoding) and validate their format (the errors of the class docstring).

        Args:
            filename (str): the depth file.
            depth_encoding (str, optional): the frame's stated encoding (see
                :meth:`frame_encoding`). None: the pipeline's.
        """
        name, enc = self.frame_encoding(depth_encoding, filename)
        return self._read_raw(filename, enc, name)

    def _read_raw(self, filename: str, enc: DepthEncoding, name: Optional[str]) -> np.ndarray:
        try:
            data = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'depth file not found: {filename}') from e
        except OSError as e:
            raise FileNotFoundError(f'cannot read depth file {filename}: {e}') from e
        try:
            depth = decode_depth_file(filename, data, enc)
        except ValueError as e:
            if filename in str(e):
                raise
            raise ValueError(f'cannot decode depth file {filename} '
                             f'(corrupt or not a depth file): {e}') from e
        except Exception as e:  # cv2.error on some malformed streams, numpy's on bad .npy
            raise ValueError(f'cannot decode depth file {filename} '
                             f'(corrupt or not an image): {e}') from e
        if depth is None or depth.size == 0:
            raise ValueError(f'cannot decode depth file {filename} '
                             f'({len(data)} bytes; corrupt, empty or not an image)')

        return check_depth_values(depth, filename, enc, self._describe(enc, name))

    def _check_aspect_ratio(self, results: dict, depth: np.ndarray, filename: str) -> None:
        img = results.get('img')
        if img is None:
            return
        ih, iw = img.shape[:2]
        dh, dw = depth.shape[:2]
        ratio = (dw / dh) / (iw / ih)
        if abs(ratio - 1) > self.aspect_ratio_tol:
            raise ValueError(
                f'depth file {filename} ({dw}x{dh}, WxH) does not match the aspect ratio of the '
                f'color image {results.get("img_path", "")} ({iw}x{ih}): a transposed, cropped '
                'or wrongly paired frame')

    def _confidence_invalid(self, results: dict, shape: Tuple[int, int],
                            filename: str) -> Optional[np.ndarray]:
        """HxW bool, True where the frame's confidence is below ``min_confidence`` (None: no
        ``confidence_path``, or ``min_confidence`` unset)."""
        path = results.get('confidence_path')
        if path is None or self.min_confidence is None:
            return None
        return read_confidence(path, shape, filename, self.backend_args) < self.min_confidence

    def _check_plausible(self, filename: str, found: list, sample: np.ndarray,
                         enc: Optional[DepthEncoding] = None, name: Optional[str] = None) -> None:
        """Count an implausible map; warn (log-spaced) or raise per ``on_implausible``."""
        if enc is None:
            enc, name = self.encoding, self.encoding_name
        self.num_implausible += 1
        cause = likely_cause(sample, enc, self.max_depth, self.plausibility,
                             self.invalid_value)
        msg = (f'depth file {filename} looks implausible for {self._describe(enc, name)}: '
               f'{"; ".join(found)}. Likely cause: {cause}')
        if self.on_implausible == 'error':
            raise ImplausibleDepthError(msg + " (on_implausible='error')")
        if self.num_implausible >= self._next_warning:
            self._next_warning *= 10
            print_log(f'{msg}. {self.num_implausible} of {self.num_checked} depth files read by '
                      'this process so far looked implausible (warned again at 10x that count; '
                      "on_implausible='error' stops at the first, tools/misc/verify_dataset.py "
                      'lists them all)', logger='current', level=logging.WARNING)

    def transform(self, results: dict) -> dict:
        """Load ``results[self.depth_key]`` (``depth_path`` by default).

        Args:
            results (dict): result dict with ``depth_path`` (or ``depth_key``).

        Returns:
            dict: with ``depth`` (HxW float32 metres) and ``depth_shape``.
        """
        filename = results[self.depth_key]
        name, enc = self.frame_encoding(results.get('depth_encoding'), filename)
        raw = self._read_raw(filename, enc, name)
        self._check_aspect_ratio(results, raw, filename)

        check = self.on_implausible != 'ignore'
        if check:
            step = sample_step(raw.shape)
            sample = raw[::step, ::step].copy()  # file values, for naming the likely cause
        depth, invalid = decode_depth(raw, enc, self.invalid_value)  # raw is reused
        if enc.ray_distance:
            depth = ray_to_planar(depth, frame_ray_intrinsics(results, depth.shape))
        low = self._confidence_invalid(results, depth.shape, filename)
        if low is not None:
            invalid |= low
        if check:
            stats = depth_stats(depth[::step, ::step], invalid[::step, ::step], self.max_depth)
        if self.max_depth is not None:
            invalid |= depth > self.max_depth
        depth[invalid] = 0
        all_invalid = invalid.all()
        if not self.allow_all_invalid and all_invalid:
            cause = ''
            if check and sample.any():  # values there, none valid: name the likely encoding
                cause = ' Likely cause: ' + likely_cause(sample, enc, self.max_depth,
                                                         self.plausibility, self.invalid_value)
            raise ValueError(
                f'depth file {filename} has no valid pixel (all 0, invalid values'
                f'{", low confidence" if low is not None else ""} or > '
                f'max_depth={self.max_depth} m for {self._describe(enc, name)}); set '
                f'allow_all_invalid=True to accept it.{cause}')
        if check and not all_invalid:
            self.num_checked += 1
            found = (symptoms(stats, self.max_depth, self.plausibility)
                     + raw_symptoms(sample, enc))
            if found:
                self._check_plausible(filename, found, sample, enc, name)

        results['depth'] = depth
        results['depth_shape'] = depth.shape[:2]
        return results

    def __repr__(self) -> str:
        enc = ', '.join(f'{k}={v!r}' for k, v in self.encoding._asdict().items())
        return (f'{self.__class__.__name__}('
                f'encoding={self.encoding_name!r}, {enc}, '
                f'max_depth={self.max_depth}, '
                f'invalid_value={self.invalid_value}, '
                f'allow_all_invalid={self.allow_all_invalid}, '
                f'aspect_ratio_tol={self.aspect_ratio_tol}, '
                f'on_implausible={self.on_implausible!r}, '
                f'min_confidence={self.min_confidence}, '
                f'depth_key={self.depth_key!r}, '
                f'backend_args={self.backend_args})')
