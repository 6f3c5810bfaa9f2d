"""Pieces shared by the native-layout stand-in writers: plausible room depth, colour, files."""
import os
import os.path as osp

import cv2
import numpy as np


def room_depth(height: int, width: int, seed: int = 0, near: float = 1.0, far: float = 5.0,
               invalid_fraction: float = 0.03) -> np.ndarray:
    """A room-like HxW depth map in metres (float64): a slanted wall from ``near`` to ``far``
    with a box in front of it, and ``invalid_fraction`` of the pixels 0 (no return).

    Its median lies near 3 m and 95% of it is beyond 1.5 m, so it passes
    ``LoadDepthFromFile``'s plausibility check when decoded with the right encoding.
    """
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    depth = near + (far - near) * (0.3 * v / max(height - 1, 1) + 0.7 * u / max(width - 1, 1))
    depth += rng.uniform(-0.05, 0.05, size=depth.shape)
    y0, x0 = height // 4, width // 5
    depth[y0:y0 + height // 4, x0:x0 + width // 5] = near + 0.4  # a box in front of the wall
    depth[rng.random(depth.shape) < invalid_fraction] = 0
    return depth


def colour_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """An HxWx3 uint8 image (a smooth gradient with noise; stores well as JPEG)."""
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:height, 0:width]
    img = np.stack([u * 255 // max(width - 1, 1), v * 255 // max(height - 1, 1),
                    np.full_like(u, 128)], axis=-1)
    img = img + rng.integers(-8, 9, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_image(path: str, image: np.ndarray) -> str:
    """``cv2.imwrite`` into a new folder if needed; returns ``path``."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    if not cv2.imwrite(path, image):
        raise OSError(f'could not write {path}')
    return path


def write_text(path: str, text: str) -> str:
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return path


def to_uint16(metres: np.ndarray, scale: float) -> np.ndarray:
    """Metres x ``scale`` rounded to uint16 (0 stays 0)."""
    return np.clip(np.round(metres * scale), 0, 65535).astype(np.uint16)


def depth_pipeline(**load_depth) -> list:
    """The pipeline of the reader tests: colour and depth loaded, depth decoded with each
    frame's own encoding (the dataset's), implausible depth an error."""
    load_depth.setdefault('on_implausible', 'error')
    return [dict(type='LoadImageFromFile'), dict(type='mask3d_mm.LoadDepthFromFile', **load_depth)]
