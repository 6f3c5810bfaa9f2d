"""Reader of ScanNet ``.sens`` RGB-D streams (format version 4), Python 3 / numpy / zlib only.

Layout (little-endian)::

    uint32 version (4) | uint64 n + n bytes sensor name
    float32[4x4] intrinsic_color, extrinsic_color, intrinsic_depth, extrinsic_depth
    int32 color_compression_type (-1 unknown, 0 raw, 1 png, 2 jpeg)
    int32 depth_compression_type (-1 unknown, 0 raw_ushort, 1 zlib_ushort, 2 occi_ushort)
    uint32 color_width, color_height, depth_width, depth_height
    float32 depth_shift (raw depth / depth_shift = metres, 1000)
    uint64 num_frames
    per frame: float32[4x4] camera_to_world | uint64 timestamp_color, timestamp_depth,
               color_size_bytes, depth_size_bytes | color bytes | depth bytes
    (IMU frames follow; they are not read)
"""
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Optional

import numpy as np

COLOR_COMPRESSION = {-1: 'unknown', 0: 'raw', 1: 'png', 2: 'jpeg'}
DEPTH_COMPRESSION = {-1: 'unknown', 0: 'raw_ushort', 1: 'zlib_ushort', 2: 'occi_ushort'}
SENS_VERSION = 4


@dataclass
class SensFrame:
    """One frame of a ``.sens`` stream.

    Attributes:
        index (int): position of the frame in the stream (0-based).
        camera_to_world (np.ndarray): 4x4 float32 pose (``-inf`` where tracking failed).
        timestamp_color (int): color timestamp.
        timestamp_depth (int): depth timestamp.
        color_bytes (bytes): compressed color data (a JPEG file for compression type 'jpeg').
        depth_bytes (bytes): compressed depth data.
    """
    index: int
    camera_to_world: np.ndarray
    timestamp_color: int
    timestamp_depth: int
    color_bytes: bytes
    depth_bytes: bytes


class SensReader:
    """Parse the header of a ScanNet ``.sens`` file and iterate its frames lazily.

    Frames are read one at a time; skipped frames are seeked over without reading their data.

    Example:
        >>> with SensReader('scene0000_00.sens') as reader:
        ...     for frame in reader.iter_frames(frame_skip=25):
        ...         depth = reader.decode_depth(frame)  # HxW uint16 (depth_shift units)

    Args:
        path (str): the ``.sens`` file.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: Optional[BinaryIO] = open(path, 'rb')
        try:
            self._read_header()
        except Exception:
            self.close()
            raise

    # ---- low-level ------------------------------------------------------------------------------
    def _read(self, n: int) -> bytes:
        data = self._file.read(n)
        if len(data) != n:
            raise ValueError(f'{self.path}: truncated .sens file (wanted {n} bytes at offset '
                             f'{self._file.tell() - len(data)}, got {len(data)})')
        return data

    def _unpack(self, fmt: str):
        fmt = '<' + fmt
        return struct.unpack(fmt, self._read(struct.calcsize(fmt)))

    def _matrix(self) -> np.ndarray:
        return np.frombuffer(self._read(64), dtype='<f4').reshape(4, 4).astype(np.float32)

    def _read_header(self) -> None:
        (self.version, ) = self._unpack('I')
        if self.version != SENS_VERSION:
            raise ValueError(f'{self.path}: unsupported .sens version {self.version} '
                             f'(expected {SENS_VERSION}); is this a ScanNet .sens file?')
        (strlen, ) = self._unpack('Q')
        if strlen > 1 << 16:
            raise ValueError(f'{self.path}: implausible sensor name length {strlen}')
        self.sensor_name = self._read(strlen).decode('utf-8', errors='replace')
        self.intrinsic_color = self._matrix()
        self.extrinsic_color = self._matrix()
        self.intrinsic_depth = self._matrix()
        self.extrinsic_depth = self._matrix()
        color_type, depth_type = self._unpack('ii')
        self.color_compression_type = COLOR_COMPRESSION.get(color_type, f'invalid({color_type})')
        self.depth_compression_type = DEPTH_COMPRESSION.get(depth_type, f'invalid({depth_type})')
        (self.color_width, self.color_height, self.depth_width,
         self.depth_height) = self._unpack('IIII')
        (self.depth_shift, ) = self._unpack('f')
        (self.num_frames, ) = self._unpack('Q')
        self._frames_offset = self._file.tell()

    # ---- public API ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.num_frames

    def iter_frames(self, frame_skip: int = 1) -> Iterator[SensFrame]:
        """Yield every ``frame_skip``-th frame (indices 0, skip, 2*skip, ...).

        Args:
            frame_skip (int): keep one frame out of ``frame_skip``. Defaults to 1.

        Yields:
            SensFrame: the kept frames, in stream order.
        """
        if frame_skip < 1:
            raise ValueError(f'frame_skip must be >= 1, got {frame_skip}')
        if self._file is None:
            raise ValueError(f'{self.path}: reader is closed')
        self._file.seek(self._frames_offset)
        for index in range(self.num_frames):
            pose = self._matrix()
            t_color, t_depth, color_size, depth_size = self._unpack('QQQQ')
            if index % frame_skip:
                self._file.seek(color_size + depth_size, 1)
                continue
            color = self._read(color_size)
            depth = self._read(depth_size)
            yield SensFrame(index, pose, t_color, t_depth, color, depth)

    def decode_depth(self, frame: SensFrame) -> np.ndarray:
        """Decompress the depth of ``frame``.

        Returns:
            np.ndarray: ``depth_height x depth_width`` uint16, in units of 1/``depth_shift`` m.
        """
        if self.depth_compression_type == 'zlib_ushort':
            data = zlib.decompress(frame.depth_bytes)
        elif self.depth_compression_type == 'raw_ushort':
            data = frame.depth_bytes
        else:
            raise NotImplementedError(f'{self.path}: depth compression '
                                      f'{self.depth_compression_type} is not supported')
        expected = self.depth_width * self.depth_height * 2
        if len(data) != expected:
            raise ValueError(f'{self.path}: frame {frame.index} depth has {len(data)} bytes, '
                             f'expected {expected} ({self.depth_width}x{self.depth_height} uint16)')
        return np.frombuffer(data, dtype='<u2').reshape(self.depth_height,
                                                        self.depth_width).astype(np.uint16)

    @property
    def color_suffix(self) -> str:
        """File suffix of the stored color bytes ('.jpg' or '.png')."""
        suffix = {'jpeg': '.jpg', 'png': '.png'}.get(self.color_compression_type)
        if suffix is None:
            raise NotImplementedError(f'{self.path}: color compression '
                                      f'{self.color_compression_type} is not supported')
        return suffix

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> 'SensReader':
        return self

    def __exit__(self, *args) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(path={self.path!r}, sensor={self.sensor_name!r}, '
                f'frames={self.num_frames}, color={self.color_width}x{self.color_height} '
                f'{self.color_compression_type}, depth={self.depth_width}x{self.depth_height} '
                f'{self.depth_compression_type}, depth_shift={self.depth_shift:g})')
