"""Depth encodings of RGB-D datasets (file values -> metres) and a plausibility check.

Used by :class:`mask3d_mm.datasets.transforms.LoadDepthFromFile`. The table of datasets and their
settings is in docs/data_preparation.md ("Depth from other sensors"). Sources of the conversions:

- SUN RGB-D toolbox (``read3dPoints.m``): ``bitor(bitshift(d, -3), bitshift(d, 16 - 3))``, then
  ``/ 1000``: the file holds millimetres rotated left by 3 bits.
- NYU Depth V2 toolbox (``camera_params.m``, ``depth_rel2depth_abs.m``): raw Kinect values are
  read with ``swapbytes(imread(pgm))`` and converted by ``351.3 ./ (1092.5 - d)`` (metres); 2047
  marks no return.
- TUM RGB-D: "depth images are scaled by a factor of 5000". Matterport3D
  ``undistorted_depth_images``: 0.25 mm units (``/ 4000``).
- Taskonomy (``depth_zbuffer``): uint16 in 1/512 m, 65535 where there is no depth.
- ARKitScenes (``lowres_depth``, ``highres_depth``): uint16 millimetres (ScanNet's numbers).
- Hypersim (``frame.IIII.depth_meters.hdf5``, HDF5 dataset ``'dataset'``, float16): the distance
  from the camera centre along each pixel's ray in metres, NaN where there is no surface;
  converted to planar depth by :func:`~.depth_io.ray_to_planar` (apple/ml-hypersim issue 9).
"""
import math
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np


class DepthEncoding(NamedTuple):
    """How the values of a depth file become metres.

    Attributes:
        depth_scale (float): value / ``depth_scale`` = metres (unused with ``kinect_disparity``).
        file_dtype (str): ``'uint16'`` (16-bit PNG / PGM / TIFF, or a uint16 ``.npy``) or
            ``'float'`` (``.npy``, 32-bit float TIFF; NaN / inf mark invalid pixels).
        bit_rotation (int): rotate each uint16 value right by this many bits first (SUN RGB-D: 3).
        swap_bytes (bool): swap the two bytes of each uint16 value first (NYU raw PGMs, as the NYU
            toolbox's ``swapbytes``).
        kinect_disparity (tuple, optional): ``(p1, p2)``: metres = ``p1 / (p2 - value)`` (Kinect v1
            raw values; NYU toolbox: ``(351.3, 1092.5)``).
        invalid_values (tuple): values (after byte swap and bit rotation) that mark no depth,
            besides 0 (7-Scenes: 65535; NYU raw: 2047).
        hdf5_key (str, optional): HDF5 files (``.h5``, ``.hdf5``) are read, from this dataset
            (Hypersim: ``'dataset'``); None refuses HDF5.
        ray_distance (bool): the values are distances from the camera centre along each
            pixel's ray, converted to planar depth (z) with the frame's ``depth_intrinsics``
            (see :func:`ray_to_planar`).
    """
    depth_scale: float = 1000.0
    file_dtype: str = 'uint16'
    bit_rotation: int = 0
    swap_bytes: bool = False
    kinect_disparity: Optional[Tuple[float, float]] = None
    invalid_values: Tuple[float, ...] = ()
    hdf5_key: Optional[str] = None
    ray_distance: bool = False


DEPTH_ENCODINGS: Dict[str, DepthEncoding] = {
    'scannet': DepthEncoding(),
    'redwood': DepthEncoding(),
    '7scenes': DepthEncoding(invalid_values=(65535, )),
    'nyu_toolbox': DepthEncoding(),  # the labelled .mat's depths exported as uint16 mm
    'sunrgbd': DepthEncoding(bit_rotation=3),
    'tum': DepthEncoding(depth_scale=5000.0),
    'matterport': DepthEncoding(depth_scale=4000.0),
    'nyu_raw': DepthEncoding(depth_scale=1.0, swap_bytes=True, kinect_disparity=(351.3, 1092.5),
                             invalid_values=(2047, )),
    'float_m': DepthEncoding(depth_scale=1.0, file_dtype='float'),
    'taskonomy': DepthEncoding(depth_scale=512.0, invalid_values=(65535, )),
    'arkit': DepthEncoding(),  # ARKitScenes: uint16 millimetres, named for clarity
    'hypersim': DepthEncoding(depth_scale=1.0, file_dtype='float', hdf5_key='dataset',
                              ray_distance=True),
}

# ``'scale:<s>'``: uint16 value / s = metres, 0 invalid (a custom scale, e.g. the generic
# frames dataset's ``depth_scale=``)
SCALE_PREFIX = 'scale:'


def scale_encoding_name(depth_scale: float) -> str:
    """The encoding name of uint16 files holding metres x ``depth_scale`` (``'scale:250'``)."""
    depth_scale = float(depth_scale)
    if not depth_scale > 0 or not math.isfinite(depth_scale):
        raise ValueError(f'depth_scale must be a positive number, got {depth_scale}')
    return f'{SCALE_PREFIX}{depth_scale:.12g}'


def get_encoding(name: str) -> DepthEncoding:
    """The :class:`DepthEncoding` of a name: a key of :data:`DEPTH_ENCODINGS` or
    ``'scale:<s>'`` (uint16 value / s = metres).

    Raises:
        ValueError: an unknown name or a malformed scale.
    """
    if isinstance(name, str) and name.startswith(SCALE_PREFIX):
        try:
            scale = float(name[len(SCALE_PREFIX):])
        except ValueError:
            scale = float('nan')
        if not scale > 0 or not math.isfinite(scale):
            raise ValueError(f'depth encoding {name!r}: expected {SCALE_PREFIX}<positive number> '
                             '(uint16 value / number = metres)')
        return DepthEncoding(depth_scale=scale)
    if name not in DEPTH_ENCODINGS:
        raise ValueError(f'unknown depth encoding {name!r}; choose from '
                         f"{sorted(DEPTH_ENCODINGS)} or '{SCALE_PREFIX}<s>' (uint16 value / s)")
    return DEPTH_ENCODINGS[name]


# defaults of LoadDepthFromFile(plausibility=...): indoor sensors see 0.3-10 m, rooms put the
# median valid depth at 1.5-4 m (ScanNet) and leave a few % of pixels without depth
PLAUSIBILITY_DEFAULTS: Dict[str, float] = dict(
    min_valid_fraction=0.05,  # valid pixels / all pixels
    min_median_depth=0.2,  # metres
    max_median_ratio=0.8,  # median valid depth / max_depth
    max_beyond_fraction=0.2,  # measured pixels beyond max_depth / measured pixels
    # a room read at 1/4-1/5 of its scale (millimetres read as TUM's / 5000 or Matterport's
    # / 4000): median below near_median_depth AND 95% of the valid pixels nearer than
    # min_far_depth (metres); see near_symptom
    near_median_depth=0.8,
    min_far_depth=1.5,
)
_FAR_PERCENTILE = 95  # the "far" depth of a map: this percentile of its valid depths
_REFERENCE_DEPTH = 10.0  # max_depth of the check when LoadDepthFromFile(max_depth=None)
_TYPICAL_MEDIAN = 2.5  # candidates are listed closest to this (metres) first
_MIN_LEVELS = 16  # fewer distinct measured values: a coarse unit (e.g. whole metres)
_KINECT_NO_RETURN = 2047
_SAMPLES = 4800  # about this many pixels enter the statistics (640x480: every 8th)


def check_encoding(enc: DepthEncoding) -> None:
    """Raise ``ValueError`` for settings that cannot go together."""
    if not enc.depth_scale > 0:
        raise ValueError(f'depth_scale must be positive, got {enc.depth_scale}')
    if enc.file_dtype not in ('uint16', 'float'):
        raise ValueError(f"file_dtype must be 'uint16' or 'float', got {enc.file_dtype!r}")
    if not (isinstance(enc.bit_rotation, int) and 0 <= enc.bit_rotation < 16):
        raise ValueError(f'bit_rotation must be an int in [0, 16), got {enc.bit_rotation!r}')
    if enc.kinect_disparity is not None and len(enc.kinect_disparity) != 2:
        raise ValueError(f'kinect_disparity must be (p1, p2), got {enc.kinect_disparity}')
    if enc.file_dtype == 'float' and (enc.bit_rotation or enc.swap_bytes or enc.kinect_disparity):
        raise ValueError('bit_rotation, swap_bytes and kinect_disparity apply to uint16 '
                         "files, not file_dtype='float'")


def describe_encoding(enc: DepthEncoding, name: Optional[str], max_depth: Optional[float]
                      ) -> str:
    """An encoding in words, for messages: ``"encoding='tum': uint16 value / 5000 = metres,
    max_depth=10.0 m"``."""
    parts = []
    if name:
        parts.append(f'encoding={name!r}:')
    if enc.hdf5_key:
        parts.append(f'HDF5 dataset {enc.hdf5_key!r},')
    if enc.swap_bytes:
        parts.append('bytes swapped,')
    if enc.bit_rotation:
        parts.append(f'bits rotated right by {enc.bit_rotation},')
    if enc.kinect_disparity:
        parts.append('metres = {:g} / ({:g} - value)'.format(*enc.kinect_disparity))
    else:
        parts.append(f'{enc.file_dtype} value / {enc.depth_scale:g} = metres')
    if enc.ray_distance:
        parts.append('along the ray, converted to planar depth')
    return ' '.join(parts) + f', max_depth={max_depth} m'


def sample_step(shape: Tuple[int, ...]) -> int:
    """Stride of the pixel grid whose statistics stand for the map (about 4800 pixels)."""
    return max(1, int(round((shape[0] * shape[1] / _SAMPLES)**0.5)))


def decode_depth(raw: np.ndarray, enc: DepthEncoding,
                 invalid_value: Optional[float] = None) -> Tuple[np.ndarray, np.ndarray]:
    """File values -> metres, without applying ``max_depth``.

    Args:
        raw (np.ndarray): HxW uint16 or float values of the file; modified in place.
        enc (DepthEncoding): the encoding.
        invalid_value (float, optional): values ``>=`` it are invalid too.

    Returns:
        tuple: ``depth`` (HxW float32 metres; arbitrary where invalid) and ``invalid`` (HxW bool:
        0, NaN / inf, ``invalid_values``, ``>= invalid_value``, non-positive metres).
    """
    if enc.swap_bytes:
        raw.byteswap(inplace=True)
    if enc.bit_rotation:
        high = raw << np.uint16(16 - enc.bit_rotation)
        raw >>= np.uint16(enc.bit_rotation)
        raw |= high
    if raw.dtype.kind == 'f':
        invalid = ~np.isfinite(raw)
        invalid |= raw <= 0
    else:
        invalid = raw == 0
    if invalid_value is not None:
        invalid |= raw >= invalid_value
    for value in enc.invalid_values:
        invalid |= raw == value
    depth = raw.astype(np.float32, copy=False)
    if enc.kinect_disparity is not None:
        p1, p2 = enc.kinect_disparity
        with np.errstate(divide='ignore'):
            np.subtract(np.float32(p2), depth, out=depth)
            np.divide(np.float32(p1), depth, out=depth)
        invalid |= ~(depth > 0)
        invalid |= ~np.isfinite(depth)
    elif enc.depth_scale != 1:
        np.divide(depth, np.float32(enc.depth_scale), out=depth)
    return depth, invalid


class DepthStats(NamedTuple):
    """Statistics of a (sub-sampled) depth map."""
    valid_fraction: float  # valid pixels / pixels
    median: float  # median valid depth (metres); NaN without valid pixels
    beyond_fraction: float  # measured pixels beyond max_depth / measured pixels
    far: float = float('nan')  # 95th percentile of the valid depths (metres)


def depth_stats(depth: np.ndarray, invalid: np.ndarray, max_depth: Optional[float]) -> DepthStats:
    """Statistics of ``depth`` (metres) where not ``invalid``, before ``max_depth`` is applied."""
    measured = ~invalid
    num_measured = int(np.count_nonzero(measured))
    if max_depth is not None:
        beyond = measured & (depth > max_depth)
        num_beyond = int(np.count_nonzero(beyond))
        measured &= ~beyond
    else:
        num_beyond = 0
    values = depth[measured]
    median, far = (np.percentile(values, [50, _FAR_PERCENTILE]) if values.size else
                   (float('nan'), float('nan')))
    return DepthStats(values.size / max(depth.size, 1), float(median),
                      num_beyond / max(num_measured, 1), float(far))


def near_symptom(stats: DepthStats, thresholds: Dict[str, float]) -> List[str]:
    """A room read at a fraction of its scale: the median valid depth below
    ``near_median_depth`` (0.8 m) and 95% of the valid pixels nearer than ``min_far_depth``
    (1.5 m).

    Millimetres read with TUM's scale (/ 5000) or Matterport's (/ 4000) shrink a room 4-5x:
    a 2 m median becomes 0.4-0.5 m and nothing lies beyond ~1.2 m. Read correctly, room-scale
    frames have medians of 1-4 m and walls beyond 1.5 m; a close-range frame (a tabletop at
    0.6 m) passes as long as 5% of its valid pixels lie beyond 1.5 m. Limits: a room whose
    true median exceeds 4 m (read / 5) or 3.2 m (/ 4), or whose 95th percentile exceeds
    7.5 m (/ 5) or 6 m (/ 4), is not caught; a genuine frame that close (a sensor within
    0.8 m of a surface filling half the view, nothing beyond 1.5 m) is flagged: turn the rule
    off with ``plausibility=dict(near_median_depth=0)``.
    """
    if not (thresholds['min_median_depth'] <= stats.median < thresholds['near_median_depth']
            and stats.far < thresholds['min_far_depth']):
        return []
    return [f'median valid depth {stats.median:.3g} m < {thresholds["near_median_depth"]:g} m '
            f'and {_FAR_PERCENTILE}% of the valid pixels nearer than {stats.far:.3g} m (< '
            f'{thresholds["min_far_depth"]:g} m): a room read at a fraction of its scale, or '
            'a close-range capture (then set plausibility=dict(near_median_depth=0))']


def symptoms(stats: DepthStats, max_depth: Optional[float], thresholds: Dict[str, float]
             ) -> List[str]:
    """What is implausible about ``stats`` (empty: plausible); ``thresholds`` as
    :data:`PLAUSIBILITY_DEFAULTS`."""
    found = []
    if stats.valid_fraction < thresholds['min_valid_fraction']:
        found.append(f'only {100 * stats.valid_fraction:.2f}% of the pixels are valid '
                     f'(< {100 * thresholds["min_valid_fraction"]:g}%)')
    if stats.median < thresholds['min_median_depth']:
        found.append(f'median valid depth {stats.median:.3g} m < '
                     f'{thresholds["min_median_depth"]:g} m')
    limit = thresholds['max_median_ratio'] * (max_depth or _REFERENCE_DEPTH)
    if stats.median > limit:
        found.append(f'median valid depth {stats.median:.3g} m > {limit:g} m '
                     f'({thresholds["max_median_ratio"]:g} x max_depth)')
    if max_depth is not None and stats.beyond_fraction > thresholds['max_beyond_fraction']:
        found.append(f'{100 * stats.beyond_fraction:.0f}% of the measured pixels lie beyond '
                     f'max_depth={max_depth:g} m')
    return found + near_symptom(stats, thresholds)


def raw_symptoms(values: np.ndarray, enc: DepthEncoding) -> List[str]:
    """What is implausible about a sample of file ``values`` (as read) under ``enc``: values
    that stop at 2047 with many exactly 2047 are 11-bit Kinect v1 disparity, not a distance."""
    if enc.kinect_disparity is not None or values.dtype != np.uint16 or not values.size:
        return []
    share = np.count_nonzero(values == _KINECT_NO_RETURN) / values.size
    if share >= 0.01 and values.max() <= _KINECT_NO_RETURN:
        return [f'{100 * share:.0f}% of the values are 2047 and none is above it, as in '
                '11-bit Kinect v1 disparity (2047 = no return)']
    return []


def _candidates(file_dtype: str) -> List[Tuple[str, DepthEncoding]]:
    if file_dtype == 'float':
        return [("encoding='float_m'", DEPTH_ENCODINGS['float_m']),
                ("encoding='float_m', depth_scale=1000 (millimetres as float)",
                 DEPTH_ENCODINGS['float_m']._replace(depth_scale=1000.0))]
    nyu_raw = DEPTH_ENCODINGS['nyu_raw']
    return [("encoding='scannet' (value / 1000; also 'redwood', '7scenes', 'nyu_toolbox')",
             DEPTH_ENCODINGS['scannet']),
            ("encoding='tum' (value / 5000)", DEPTH_ENCODINGS['tum']),
            ("encoding='matterport' (value / 4000)", DEPTH_ENCODINGS['matterport']),
            ("encoding='sunrgbd' (bits rotated by 3, then / 1000)", DEPTH_ENCODINGS['sunrgbd']),
            ("encoding='nyu_raw' (Kinect disparity, NYU toolbox)", nyu_raw),
            ("encoding='nyu_raw', swap_bytes=False (Kinect disparity, standard byte order)",
             nyu_raw._replace(swap_bytes=False))]


def likely_cause(values: np.ndarray, enc: DepthEncoding, max_depth: Optional[float],
                 thresholds: Dict[str, float], invalid_value: Optional[float] = None) -> str:
    """Name the likely cause of an implausible map from a sample of its file values.

    Args:
        values (np.ndarray): sub-sampled file values, as read (before ``enc``'s decoding).
        enc (DepthEncoding): the configured encoding (left out of the candidates).
        max_depth, thresholds, invalid_value: as for the configured check.

    Returns:
        str: a sentence: values quantised to a few levels (metres stored as integers), or the
        encodings under which the values are plausible (most typical indoor median first), or,
        when none is, the usual causes.
    """
    kind = 'float' if values.dtype.kind == 'f' else 'uint16'
    measured = values[np.isfinite(values) & (values > 0)] if kind == 'float' else values[values > 0]
    levels = np.unique(measured)
    if 0 < levels.size < _MIN_LEVELS:
        return (f'the values take only {levels.size} distinct levels (median '
                f'{np.median(measured):g}): depth stored in a coarse unit such as whole metres '
                "as integers; re-export it as uint16 millimetres or float metres ('float_m')")
    found = []
    for name, cand in _candidates(kind):
        if cand == enc:
            continue
        depth, invalid = decode_depth(values.copy(), cand, invalid_value)
        stats = depth_stats(depth, invalid, max_depth)
        if not (symptoms(stats, max_depth, thresholds) or raw_symptoms(values, cand)):
            found.append((abs(np.log(stats.median / _TYPICAL_MEDIAN)), name, stats))
    if found:  # the most typical median first; none with far fewer valid pixels than the best
        best = max(s.valid_fraction for _, _, s in found)
        found = sorted((f for f in found if f[2].valid_fraction >= best / 2), key=lambda f: f[0])
        return 'the values decode plausibly as ' + '; or '.join(
            f'{name} (median {s.median:.2f} m, {100 * s.valid_fraction:.0f}% valid)'
            for _, name, s in found[:3])
    return ('no known encoding fits: check the scale (value / depth_scale = metres), bit '
            'rotation (SUN RGB-D), byte order and disparity (NYU raw) of these files, or '
            'whether they hold depth at all; legitimate frames (facing a window, a sensor '
            'pressed against a surface) can be accepted with other thresholds (plausibility=dict'
            '(...)) or on_implausible=\'ignore\'')
