"""Pinhole-camera helpers of colour-to-depth alignment.

Convention (ScanNet's intrinsics, OpenCV's calibrations and ``cv2.resize``): pixel centres sit at
integer coordinates, so the centre of a W-pixel-wide image is ``(W - 1) / 2`` and resizing an
image by ``s`` maps ``u -> (u + 0.5) * s - 0.5`` (``cx' = (cx + 0.5) * s - 0.5``, ``fx' = s fx``).
"""
from typing import Optional, Tuple

import cv2
import numpy as np

from mask3d_mm.structures import MAX_ASPECT_CHANGE

__all__ = ['scale_intrinsics', 'intrinsics_for_image', 'depth_to_color_homography', 'fov_mismatch',
           'warp_to_camera']

# a K whose principal point implies an image size within this fraction of the image read is
# taken to be given for that image
_SAME_SIZE_TOL = 0.1


def scale_intrinsics(k: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """(3, 3) intrinsics of an image resized by (sx, sy) (pixel centres at integers)."""
    a = np.array([[sx, 0., 0.5 * sx - 0.5], [0., sy, 0.5 * sy - 0.5], [0., 0., 1.]])
    return a @ k


def intrinsics_for_image(k: np.ndarray, image_wh: Tuple[int, int],
                         native_wh: Optional[Tuple[int, int]] = None
                         ) -> Tuple[np.ndarray, Optional[Tuple[int, int]]]:
    """Scale intrinsics to the size of the image actually read.

    Intrinsics files do not state their image size: ScanNet's ``intrinsic_color.txt`` is for
    the raw 1296x968 colour, also when the frames were exported or shipped smaller (640x480).
    Without ``native_wh`` the size is inferred from the principal point: a K whose
    ``(2 cx + 1, 2 cy + 1)`` is within 10% of the image size belongs to the image; otherwise
    it is for the size ``(2 cx + 1, 2 cy + 1)`` rounded to a multiple of 8 (1296x968,
    640x480, 1920x1080, ...).

    Args:
        k (np.ndarray): (3, 3) or (4, 4) intrinsics.
        image_wh (tuple[int, int]): (W, H) of the image read.
        native_wh (tuple[int, int], optional): (W, H) the intrinsics are given for.

    Returns:
        tuple: (3, 3) float64 intrinsics of the image, and the size they were scaled from
        (None when they already belonged to the image).
    """
    k = np.asarray(k, np.float64)[:3, :3]
    w, h = image_wh
    if native_wh is None:
        est_w, est_h = 2 * k[0, 2] + 1, 2 * k[1, 2] + 1
        if abs(est_w / w - 1) <= _SAME_SIZE_TOL and abs(est_h / h - 1) <= _SAME_SIZE_TOL:
            return k, None
        native_wh = (int(8 * round(est_w / 8)), int(8 * round(est_h / 8)))
    nw, nh = native_wh
    if (nw, nh) == (w, h):
        return k, None
    if nw <= 0 or nh <= 0 or abs((w / h) / (nw / nh) - 1) > MAX_ASPECT_CHANGE:
        raise ValueError(f'intrinsics with principal point ({k[0, 2]:.2f}, {k[1, 2]:.2f}) are '
                         f'for a {nw}x{nh} image, whose aspect ratio differs from the {w}x{h} '
                         'image read')
    return scale_intrinsics(k, w / nw, h / nh), (nw, nh)


def depth_to_color_homography(k_color: np.ndarray, k_depth: np.ndarray) -> np.ndarray:
    """(3, 3) map of depth pixels to colour pixels, ``K_color @ inv(K_depth)``: exact for two
    cameras with the same centre and orientation (ScanNet's registered frames)."""
    return np.asarray(k_color, np.float64) @ np.linalg.inv(np.asarray(k_depth, np.float64))


def fov_mismatch(hom: np.ndarray, src_wh: Tuple[int, int], dst_wh: Tuple[int, int]) -> float:
    """How far (fraction of the source size) the corners of the destination image map outside
    the source image under ``hom`` (destination -> source); 0 when they all fall inside."""
    w, h = dst_wh
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], float)
    p = corners @ hom.T
    uv = p[:, :2] / p[:, 2:]
    size = np.array(src_wh, float)
    over = np.maximum(np.maximum(-0.5 - uv, uv - (size - 0.5)), 0) / size
    return float(over.max())


def warp_to_camera(src: np.ndarray, hom: np.ndarray, dst_wh: Tuple[int, int],
                   interpolation: int, border_value: Optional[float] = None) -> np.ndarray:
    """Resample ``src`` (HxW or HxWxC) onto a (W, H) grid: destination pixel ``p`` takes the
    source value at ``hom @ p`` (``cv2.warpPerspective`` with ``WARP_INVERSE_MAP``).

    Args:
        src (np.ndarray): image or label map in the source camera.
        hom (np.ndarray): (3, 3) destination -> source pixel map.
        dst_wh (tuple[int, int]): output (W, H).
        interpolation (int): ``cv2.INTER_*`` (``INTER_NEAREST`` for labels).
        border_value (float, optional): value where ``hom @ p`` falls outside ``src``; None
            replicates the edge.

    Returns:
        np.ndarray: the warped (H, W[, C]) array, dtype of ``src`` (``src`` itself when the
        map is the identity between grids of the same size: one camera, nothing to resample).
    """
    if src.shape[1::-1] == tuple(dst_wh) and np.allclose(hom, np.eye(3), atol=1e-6):
        return src
    flags = interpolation | cv2.WARP_INVERSE_MAP
    is_bool = src.dtype == np.bool_
    arr = src.view(np.uint8) if is_bool else src
    border = (dict(borderMode=cv2.BORDER_REPLICATE) if border_value is None else dict(
        borderMode=cv2.BORDER_CONSTANT, borderValue=border_value))
    out = cv2.warpPerspective(arr, np.asarray(hom, np.float64), dst_wh, flags=flags, **border)
    if out.ndim == 2 and src.ndim == 3:  # cv2 drops a trailing channel axis of size 1
        out = out[..., None]
    return out.astype(np.bool_) if is_bool else out
