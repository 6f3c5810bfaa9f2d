"""Write ScanNet ``.sens`` files (format version 4) for tests, following the published layout.

Used only by the tests of :mod:`mask3d_mm.converters.sens_reader` and the exporter.
"""
import struct
import zlib
from typing import Optional, Sequence

import numpy as np


def _matrix_bytes(m: Optional[np.ndarray]) -> bytes:
    m = np.eye(4, dtype='<f4') if m is None else np.asarray(m, dtype='<f4')
    assert m.shape == (4, 4), m.shape
    return m.tobytes()


def write_sens(path: str,
               colors: Sequence[bytes],
               depths: Sequence[np.ndarray],
               poses: Sequence[np.ndarray],
               intrinsic_color: Optional[np.ndarray] = None,
               intrinsic_depth: Optional[np.ndarray] = None,
               extrinsic_color: Optional[np.ndarray] = None,
               extrinsic_depth: Optional[np.ndarray] = None,
               color_size: Optional[tuple] = None,
               sensor_name: str = 'StructureSensor',
               depth_shift: float = 1000.0,
               depth_compression: int = 1,
               num_imu_frames: int = 0) -> None:
    """Write a ``.sens`` file.

    Args:
        path (str): output file.
        colors (Sequence[bytes]): encoded color images (JPEG bytes; stored as is, type 2).
        depths (Sequence[np.ndarray]): HxW uint16 depth maps, all the same size.
        poses (Sequence[np.ndarray]): 4x4 camera-to-world matrices.
        intrinsic_color, intrinsic_depth, extrinsic_color, extrinsic_depth (np.ndarray): 4x4;
            identity when None.
        color_size (tuple, optional): (width, height) written in the header; the depth size
            when None.
        sensor_name (str): sensor name string.
        depth_shift (float): depth units per metre.
        depth_compression (int): 1 = zlib_ushort, 0 = raw_ushort.
        num_imu_frames (int): number of (zero-filled) IMU records appended after the frames.
    """
    assert len(colors) == len(depths) == len(poses)
    dh, dw = depths[0].shape
    cw, ch = color_size if color_size is not None else (dw, dh)
    name = sensor_name.encode()
    with open(path, 'wb') as f:
        f.write(struct.pack('<I', 4))
        f.write(struct.pack('<Q', len(name)))
        f.write(name)
        for m in (intrinsic_color, extrinsic_color, intrinsic_depth, extrinsic_depth):
            f.write(_matrix_bytes(m))
        f.write(struct.pack('<ii', 2, depth_compression))
        f.write(struct.pack('<IIII', cw, ch, dw, dh))
        f.write(struct.pack('<f', depth_shift))
        f.write(struct.pack('<Q', len(colors)))
        for i, (color, depth, pose) in enumerate(zip(colors, depths, poses)):
            depth = np.asarray(depth)
            assert depth.dtype == np.uint16 and depth.shape == (dh, dw)
            raw = depth.astype('<u2').tobytes()
            depth_bytes = zlib.compress(raw) if depth_compression == 1 else raw
            f.write(_matrix_bytes(pose))
            f.write(struct.pack('<QQQQ', 1000 * i, 1000 * i + 1, len(color), len(depth_bytes)))
            f.write(color)
            f.write(depth_bytes)
        # IMU section: a count then fixed-size records; SensReader never reads it, so the
        # records are zero filler here.
        f.write(struct.pack('<Q', num_imu_frames))
        f.write(b'\0' * (num_imu_frames * 128))
