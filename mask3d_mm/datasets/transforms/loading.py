"""Loading transforms for RGB-D data."""
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform

from mask3d_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadDepthFromFile(BaseTransform):
    """Load a depth map (uint16 PNG, e.g. ScanNet millimetres) as float32 metres.

    Required Keys:

    - depth_path
    - img (optional): when present, the depth map must have the same aspect ratio

    Added Keys:

    - depth (np.ndarray): HxW float32 metres, 0 where the depth is invalid
    - depth_shape (tuple): (H, W)

    A pixel is invalid (set to 0) when its raw value is 0 (no measurement), ``>= invalid_value``
    (sensor flag, 65535 in some ScanNet/Redwood files) or its depth exceeds ``max_depth`` metres.

    Inputs that would be silently misread raise a ``ValueError`` naming the file: 8-bit images
    (almost certainly a visualisation, not depth), 3-channel images, float images, NaN values, a
    depth map whose aspect ratio differs from the loaded color image, and (unless
    ``allow_all_invalid``) a map without any valid pixel. A missing file raises
    ``FileNotFoundError``.

    Args:
        depth_scale (float): raw value / ``depth_scale`` = metres (1000 for ScanNet millimetres,
            5000 for TUM). Defaults to 1000.
        max_depth (float, optional): depths beyond it (metres) become 0. ``None`` keeps all.
            Defaults to 10.0.
        invalid_value (int, optional): raw values ``>=`` it become 0. ``None`` disables the check.
            Defaults to 65535.
        allow_all_invalid (bool): accept a depth map without any valid pixel. Defaults to False.
        aspect_ratio_tol (float): relative tolerance of the color/depth aspect-ratio check; the
            default 0.01 accepts ScanNet's 1296x968 color vs 640x480 depth (0.4% apart) and rejects
            a transposed or cropped map. Defaults to 0.01.
        backend_args (dict, optional): arguments to instantiate the file backend
            (see :func:`mmengine.fileio.get`). Defaults to None.
    """

    def __init__(self,
                 depth_scale: float = 1000.0,
                 max_depth: Optional[float] = 10.0,
                 invalid_value: Optional[int] = 65535,
                 allow_all_invalid: bool = False,
                 aspect_ratio_tol: float = 0.01,
                 backend_args: Optional[dict] = None) -> None:
        if depth_scale <= 0:
            raise ValueError(f'depth_scale must be positive, got {depth_scale}')
        if max_depth is not None and max_depth <= 0:
            raise ValueError(f'max_depth must be positive or None, got {max_depth}')
        self.depth_scale = float(depth_scale)
        self.max_depth = max_depth
        self.invalid_value = invalid_value
        self.allow_all_invalid = allow_all_invalid
        self.aspect_ratio_tol = aspect_ratio_tol
        self.backend_args = backend_args.copy() if backend_args is not None else None

    def _read(self, filename: str) -> np.ndarray:
        """Read the raw depth image (HxW, file dtype) and validate its format."""
        try:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'depth file not found: {filename}') from e
        except OSError as e:
            raise FileNotFoundError(f'cannot read depth file {filename}: {e}') from e
        try:
            depth = mmcv.imfrombytes(img_bytes, flag='unchanged', backend='cv2')
        except Exception as e:  # cv2.error on some malformed streams
            raise ValueError(f'cannot decode depth file {filename} '
                             f'(corrupt or not an image): {e}') from e
        if depth is None or depth.size == 0:
            raise ValueError(f'cannot decode depth file {filename} '
                             f'({len(img_bytes)} bytes; corrupt, empty or not an image)')

        if depth.ndim == 3:
            if depth.shape[2] == 1:
                depth = depth[..., 0]
            else:
                raise ValueError(
                    f'depth file {filename} has {depth.shape[2]} channels (shape {depth.shape}): '
                    'expected a single-channel uint16 depth image, got a color image')
        if depth.dtype == np.uint8:
            raise ValueError(
                f'depth file {filename} is an 8-bit image: 8-bit depth is almost certainly wrong '
                'input: ScanNet depth is uint16 millimetres')
        if np.issubdtype(depth.dtype, np.floating):
            if np.isnan(depth).any():
                raise ValueError(f'depth file {filename} is a float image containing NaN values: '
                                 'expected uint16 depth (0 = invalid)')
            raise ValueError(f'depth file {filename} is a {depth.dtype} image: expected uint16 '
                             f'depth in units of 1/{self.depth_scale:g} m (convert float depth '
                             'in metres to uint16 millimetres first)')
        if depth.dtype != np.uint16:
            raise ValueError(f'depth file {filename} has unsupported dtype {depth.dtype}: '
                             'expected uint16')
        return depth

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

    def transform(self, results: dict) -> dict:
        """Load ``results['depth_path']``.

        Args:
            results (dict): result dict with ``depth_path``.

        Returns:
            dict: with ``depth`` (HxW float32 metres) and ``depth_shape``.
        """
        filename = results['depth_path']
        raw = self._read(filename)
        self._check_aspect_ratio(results, raw, filename)

        invalid = raw == 0
        if self.invalid_value is not None:
            invalid |= raw >= self.invalid_value
        depth = raw.astype(np.float32) / np.float32(self.depth_scale)
        if self.max_depth is not None:
            invalid |= depth > self.max_depth
        depth[invalid] = 0
        if not self.allow_all_invalid and invalid.all():
            raise ValueError(
                f'depth file {filename} has no valid pixel (all 0, >= invalid_value='
                f'{self.invalid_value} or > max_depth={self.max_depth} m after dividing by '
                f'depth_scale={self.depth_scale:g}); set allow_all_invalid=True to accept it')

        results['depth'] = depth
        results['depth_shape'] = depth.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'depth_scale={self.depth_scale}, '
                f'max_depth={self.max_depth}, '
                f'invalid_value={self.invalid_value}, '
                f'allow_all_invalid={self.allow_all_invalid}, '
                f'aspect_ratio_tol={self.aspect_ratio_tol}, '
                f'backend_args={self.backend_args})')
