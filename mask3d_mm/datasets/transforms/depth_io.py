"""Depth-file companions read by ``LoadDepthFromFile``: HDF5 maps (Hypersim), ray distances
turned into planar depth, confidence maps (ARKitScenes)."""
import io
import math
from typing import Optional, Tuple

import cv2
import mmengine.fileio as fileio
import numpy as np

from .camera import intrinsics_for_image
from .depth_encoding import DepthEncoding

# Hypersim's camera: 1024x768, 60 degrees horizontal field of view (apple/ml-hypersim issue 9)
HYPERSIM_SIZE = (1024, 768)
HYPERSIM_FOCAL = 1024 / (2 * math.tan(math.radians(30)))  # 886.81 px


def decode_depth_file(filename: str, data: bytes, enc: DepthEncoding) -> Optional[np.ndarray]:
    """The values of a depth file's bytes as stored: ``.npy`` (numpy), HDF5 (encodings with an
    ``hdf5_key`` only), else OpenCV (``IMREAD_UNCHANGED``: PNG, PGM, TIFF, EXR where the build
    reads it). None: OpenCV could not decode it."""
    lower = filename.lower()
    if lower.endswith(('.h5', '.hdf5')):
        if enc.hdf5_key:
            return read_hdf5_depth(filename, data, enc.hdf5_key)
        raise ValueError(
            f'depth file {filename} is HDF5, which LoadDepthFromFile reads for '
            "encoding='hypersim' only (Hypersim's depth_meters.hdf5: distance along the "
            "ray); convert other HDF5 depth to float metres in .npy (encoding='float_m')")
    if lower.endswith('.npy'):
        depth = np.load(io.BytesIO(data), allow_pickle=False)
        return depth if depth.dtype.isnative else depth.astype(depth.dtype.newbyteorder('='))
    depth = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if depth is None and lower.endswith('.exr'):
        raise ValueError(f'cannot decode depth file {filename}: this OpenCV build reads no '
                         'EXR (set OPENCV_IO_ENABLE_OPENEXR=1 where supported, or convert '
                         "it to .npy float metres with encoding='float_m')")
    return depth


def check_depth_values(depth: np.ndarray, filename: str, enc: DepthEncoding,
                       described: str) -> np.ndarray:
    """Validate the format of a depth file's values for ``enc`` (``described``: the encoding
    in words, for messages): one channel, not 8-bit, float for float encodings and uint16
    otherwise; raises ``ValueError`` naming the file.

    Returns:
        np.ndarray: HxW values as stored.
    """
    if depth.ndim == 3 and depth.shape[2] == 1:
        depth = depth[..., 0]
    if depth.ndim != 2:
        raise ValueError(
            f'depth file {filename} has {depth.shape[2] if depth.ndim == 3 else "no"} '
            f'channels (shape {depth.shape}): expected a single-channel depth image, got a '
            'color image')
    if depth.dtype == np.uint8:
        raise ValueError(
            f'depth file {filename} is an 8-bit image: 8-bit depth is almost certainly wrong '
            'input: ScanNet depth is uint16 millimetres (a visualisation, or depth saved '
            'through an 8-bit image writer, keeps at most 256 levels)')
    is_float = np.issubdtype(depth.dtype, np.floating)
    if enc.file_dtype == 'float':
        if not is_float:
            raise ValueError(
                f'depth file {filename} holds {depth.dtype} values, but '
                f'{described} '
                "expects float depth: for integer millimetres use encoding='scannet' (see "
                'the encodings of LoadDepthFromFile)')
        return depth
    if is_float:
        if np.isnan(depth).any():
            raise ValueError(f'depth file {filename} is a float image containing NaN values: '
                             f'expected uint16 depth for {described} (for float '
                             "depth in metres, NaN = invalid, use encoding='float_m')")
        raise ValueError(f'depth file {filename} is a {depth.dtype} image: expected uint16 '
                         f'depth for {described} (for float depth in metres use '
                         "encoding='float_m')")
    if depth.dtype != np.uint16:
        raise ValueError(f'depth file {filename} has unsupported dtype {depth.dtype}: '
                         'expected uint16')
    return depth


def read_hdf5_depth(filename: str, data: bytes, key: str) -> np.ndarray:
    """The ``key`` dataset of an HDF5 file's bytes (float16 -> float32); h5py is imported here
    (an optional dependency)."""
    try:
        import h5py
    except ImportError as e:
        raise ImportError(f'reading the HDF5 depth file {filename} needs h5py, an optional '
                          'dependency: pip install h5py (requirements/seg.txt)') from e
    with h5py.File(io.BytesIO(data), 'r') as f:
        if key not in f:
            raise ValueError(f'depth file {filename} has no HDF5 dataset {key!r} (it holds '
                             f'{sorted(f.keys())})')
        depth = np.asarray(f[key][()])
    if depth.dtype.kind == 'f' and depth.dtype != np.float64:
        depth = depth.astype(np.float32)
    return depth


def hypersim_intrinsics(wh: Tuple[int, int]) -> np.ndarray:
    """Hypersim's default camera (1024x768, 60 degrees horizontal fov, f = 886.81 px) scaled to
    a map of ``wh`` = (W, H).

    Pixel convention: as everywhere in this package (OpenCV), pixel ``u`` covers ``[u - 0.5,
    u + 0.5]``, so the centred principal point is ``((W - 1) / 2, (H - 1) / 2)`` (511.5, 383.5):
    the same rays as Hypersim's own code, which puts pixel centres at ``u + 0.5`` against
    ``cx = 512`` (apple/ml-hypersim issue 9).

    Returns:
        np.ndarray: (3, 3) float64.
    """
    w, h = wh
    f = HYPERSIM_FOCAL * w / HYPERSIM_SIZE[0]
    return np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]], np.float64)


def ray_to_planar(distance: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Distances from the camera centre along each pixel's ray -> planar depth (z).

    ``z = d / sqrt(1 + ((u - cx) / fx)^2 + ((v - cy) / fy)^2)``, i.e. ``d * f / sqrt(f^2 +
    (u - cx)^2 + (v - cy)^2)`` for square pixels, with ``u``, ``v`` the integer pixel indices
    (OpenCV convention, see :func:`hypersim_intrinsics`).

    Args:
        distance (np.ndarray): HxW float32 distances (metres); modified in place.
        k (np.ndarray): (3, 3) intrinsics of the map's size.

    Returns:
        np.ndarray: HxW float32 planar depth (``distance``, modified in place).
    """
    h, w = distance.shape
    fx, fy, cx, cy = float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2])
    x = ((np.arange(w, dtype=np.float64) - cx) / fx)**2
    y = ((np.arange(h, dtype=np.float64) - cy) / fy)**2
    norm = np.sqrt(1 + y[:, None] + x[None]).astype(np.float32)
    np.divide(distance, norm, out=distance)
    return distance


def frame_ray_intrinsics(results: dict, shape: Tuple[int, int]) -> np.ndarray:
    """The intrinsics for :func:`ray_to_planar` of a map of ``shape`` (H, W): the frame's
    ``depth_intrinsics`` scaled to the map from ``depth_intrinsics_wh`` when the frame states
    it (see :func:`~.camera.intrinsics_for_image`), else
    Hypersim's default camera (:func:`hypersim_intrinsics`)."""
    wh = (shape[1], shape[0])
    k = results.get('depth_intrinsics')
    if k is None:
        return hypersim_intrinsics(wh)
    return intrinsics_for_image(k, wh, results.get('depth_intrinsics_wh'))[0]


def read_confidence(path: str, shape: Tuple[int, int], depth_path: str,
                    backend_args: Optional[dict] = None) -> np.ndarray:
    """A confidence map (uint8 / uint16 single-channel image; ARKitScenes: 0 low, 1 medium,
    2 high) of a depth map of ``shape`` (H, W).

    Raises:
        FileNotFoundError: the file cannot be read.
        ValueError: not a single-channel uint8 / uint16 image, or not of ``shape`` (naming
            both files).
    """
    try:
        data = fileio.get(path, backend_args=backend_args)
    except OSError as e:
        raise FileNotFoundError(f'confidence file {path} (of depth file {depth_path}) not '
                                f'found or unreadable: {e}') from e
    conf = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if conf is None:
        raise ValueError(f'cannot decode confidence file {path} (corrupt, empty or not an '
                         'image)')
    if conf.ndim == 3 and conf.shape[2] == 1:
        conf = conf[..., 0]
    if conf.ndim != 2 or conf.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'confidence file {path} is a {conf.dtype} image of shape '
                         f'{conf.shape}: expected a single-channel uint8 or uint16 map')
    if conf.shape != tuple(shape):
        raise ValueError(
            f'confidence file {path} ({conf.shape[1]}x{conf.shape[0]}, WxH) does not have '
            f'the size of depth file {depth_path} ({shape[1]}x{shape[0]})')
    return conf
