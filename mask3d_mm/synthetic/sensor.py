"""Sensor models: structured-light-like depth noise and holes, colour exposure and noise."""
import cv2
import numpy as np

from .primitives import SyntheticScene

__all__ = ['sensor_depth', 'sensor_color']

def sensor_depth(depth: np.ndarray, prim: np.ndarray, cos_inc: np.ndarray,
                 scene: SyntheticScene, rng: np.random.Generator) -> np.ndarray:
    """Structured-light-like depth (H, W) uint16 mm from true depth (H, W) metres: noise
    sigma = 1.2 mm + 1.9 mm * (d - 0.4)^2, holes at discontinuities, grazing angles and glass,
    random dropout blobs, no return below 0.3 m or beyond ``scene.max_range``."""
    h, w = depth.shape
    sigma = 0.0012 + 0.0019 * (depth - 0.4) ** 2
    noisy = depth + rng.standard_normal(depth.shape, np.float32) * sigma
    kernel = np.ones((3, 3), np.uint8)
    jump = cv2.dilate(depth, kernel) - cv2.erode(depth, kernel)
    edge = (jump > 0.03 + 0.04 * depth).astype(np.uint8)
    holes = cv2.dilate(edge, kernel).astype(bool) & (rng.random(depth.shape, np.float32) < 0.7)
    holes |= rng.random(depth.shape, np.float32) < np.clip((0.15 - cos_inc) / 0.15, 0, 0.9)
    glass = np.array([p.glass for p in scene.prims])[prim]
    holes |= glass & (rng.random(depth.shape, np.float32) < 0.95)
    blobs = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(0, 4))):
        center = (int(rng.integers(w)), int(rng.integers(h)))
        axes = (max(1, int(w * rng.uniform(0.01, 0.06))), max(1, int(h * rng.uniform(0.01, 0.06))))
        cv2.ellipse(blobs, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    holes |= blobs.astype(bool)
    holes |= (depth < 0.3) | (depth > scene.max_range)
    mm = np.round(np.clip(noisy, 0, 60) * 1000)
    mm[holes] = 0
    return mm.astype(np.uint16)


def sensor_color(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8 BGR from linear RGB (H, W, 3): exposure jitter, gamma 2, read noise."""
    img = np.sqrt(np.clip(rgb * np.float32(rng.uniform(0.9, 1.15)), 0, 1))
    img += rng.standard_normal(img.shape, np.float32) * np.float32(0.012)
    return np.clip(img[..., ::-1] * 255 + 0.5, 0, 255).astype(np.uint8)
