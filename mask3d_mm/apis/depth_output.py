"""Writing a depth map back to a sensor's encoding, and a coloured point cloud of it."""
from typing import Optional, Tuple

import numpy as np

from mask3d_mm.datasets.intrinsics import intrinsics_from
from mask3d_mm.datasets.transforms.depth_encoding import get_encoding

__all__ = ['encode_depth', 'png_encoding', 'default_intrinsics', 'depth_to_points',
           'write_ply']

# ScanNet's depth camera (Kinect-like, 640x480): the intrinsics of a frame that states none,
# scaled to its size
DEFAULT_FX, DEFAULT_FY, DEFAULT_W, DEFAULT_H = 577.87, 577.87, 640, 480


def png_encoding(encoding: Optional[str]) -> str:
    """The encoding a 16-bit PNG of a frame read with ``encoding`` is written in: the same for
    the uint16 encodings that are a scale (and SUN RGB-D's bit rotation), else ``'scannet'``
    (uint16 millimetres: float files, NYU raw disparity, Hypersim's ray distances)."""
    name = encoding or 'scannet'
    enc = get_encoding(name)
    if (enc.file_dtype != 'uint16' or enc.swap_bytes or enc.kinect_disparity is not None
            or enc.ray_distance):
        return 'scannet'
    return name


def encode_depth(depth: np.ndarray, encoding: Optional[str] = None) -> Tuple[np.ndarray, str]:
    """Metres -> the uint16 values of a 16-bit PNG.

    Args:
        depth (np.ndarray): (H, W) float metres, 0 (or non-finite) = invalid.
        encoding (str, optional): the frame's encoding (see :func:`png_encoding` for those
            written as millimetres instead). Defaults to 'scannet'.

    Returns:
        tuple: ``(values, encoding written)``: (H, W) uint16, ``round(d * depth_scale)``
        clipped to the uint16 range (0 stays invalid; SUN RGB-D values rotated left by 3
        bits), so decoding gives the metres within ``0.5 / depth_scale``.
    """
    name = png_encoding(encoding)
    enc = get_encoding(name)
    d = np.where(np.isfinite(depth) & (depth > 0), depth, 0).astype(np.float64)
    top = 65535 if not enc.invalid_values else min(65535, int(min(enc.invalid_values))) - 1
    values = np.clip(np.rint(d * enc.depth_scale), 0, top).astype(np.uint32)
    values[(d > 0) & (values == 0)] = 1  # a valid depth stays valid
    if enc.bit_rotation:
        r = enc.bit_rotation
        values = ((values << r) | (values >> (16 - r))) & 0xFFFF
    return values.astype(np.uint16), name


def default_intrinsics(height: int, width: int) -> np.ndarray:
    """(3, 3) float32: ScanNet's depth camera (fx = fy = 577.87 at 640x480, principal point at
    the centre) scaled to ``height`` x ``width``."""
    return intrinsics_from(DEFAULT_FX * width / DEFAULT_W, DEFAULT_FY * height / DEFAULT_H,
                           (width - 1) / 2, (height - 1) / 2)


def depth_to_points(depth: np.ndarray, intrinsics: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Back-project the valid pixels.

    Args:
        depth (np.ndarray): (H, W) metres, 0 = invalid.
        intrinsics (np.ndarray): (3, 3) of the camera of ``depth`` at its size.

    Returns:
        tuple: points (N, 3) float32 (x right, y down, z forward, metres) and the (N, 2)
        int64 (row, col) of each point's pixel.
    """
    k = np.asarray(intrinsics, dtype=np.float64)
    rows, cols = np.nonzero(np.isfinite(depth) & (depth > 0))
    z = depth[rows, cols].astype(np.float64)
    x = (cols - k[0, 2]) * z / k[0, 0]
    y = (rows - k[1, 2]) * z / k[1, 1]
    return np.stack([x, y, z], axis=1).astype(np.float32), np.stack([rows, cols], axis=1)


def write_ply(path: str, depth: np.ndarray, bgr: np.ndarray, intrinsics: np.ndarray) -> int:
    """Write the valid pixels of ``depth`` as a binary little-endian PLY with colours.

    Args:
        path (str): output file.
        depth (np.ndarray): (H, W) metres, 0 = invalid.
        bgr (np.ndarray): (H, W, 3) uint8 colour, aligned to ``depth``.
        intrinsics (np.ndarray): (3, 3) of ``depth``.

    Returns:
        int: the number of vertices written (the valid pixels of ``depth``).
    """
    if bgr.shape[:2] != depth.shape[:2]:
        raise ValueError(f'write_ply({path}): colour {bgr.shape[:2]} and depth '
                         f'{depth.shape[:2]} sizes differ')
    points, pix = depth_to_points(depth, intrinsics)
    rgb = bgr[pix[:, 0], pix[:, 1], ::-1].astype(np.uint8)
    vertex = np.empty(len(points), dtype=[('x', '<f4'), ('y', '<f4'), ('z', '<f4'),
                                          ('red', 'u1'), ('green', 'u1'), ('blue', 'u1')])
    vertex['x'], vertex['y'], vertex['z'] = points.T
    vertex['red'], vertex['green'], vertex['blue'] = rgb.T
    header = ('ply\nformat binary_little_endian 1.0\ncomment mask3d_mm RGBDInferencer\n'
              f'element vertex {len(points)}\nproperty float x\nproperty float y\n'
              'property float z\nproperty uchar red\nproperty uchar green\n'
              'property uchar blue\nend_header\n')
    with open(path, 'wb') as f:
        f.write(header.encode('ascii'))
        f.write(vertex.tobytes())
    return len(points)
