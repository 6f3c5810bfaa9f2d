"""Reconstruction panels: RGB with masked patches greyed | masked depth input | prediction |
ground truth | absolute error."""
from typing import Optional

import cv2
import numpy as np

from mask3d_mm.structures import grid_patch_size, patch_to_pixel_mask, valid_depth

__all__ = ['colorize_depth', 'depth_reconstruction_panel']

TITLES = ('RGB (masked grey)', 'depth input', 'predicted', 'ground truth', '|error|')


def colorize_depth(depth: np.ndarray, vmax: float) -> np.ndarray:
    """(H, W) metres -> (H, W, 3) uint8 BGR (turbo colormap), invalid (0) black."""
    scaled = np.clip(depth / max(vmax, 1e-6), 0, 1)
    color = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    color[depth <= 0] = 0
    return color


def _upsample(grid_mask: np.ndarray, shape: tuple) -> np.ndarray:
    """(h, w) patch mask -> (H, W) pixel mask for an image of ``shape`` (H, W, ...)."""
    return patch_to_pixel_mask(grid_mask.astype(bool), grid_patch_size(grid_mask.shape, shape))


def depth_reconstruction_panel(img: np.ndarray,
                               rgb_mask: np.ndarray,
                               depth: np.ndarray,
                               depth_mask: np.ndarray,
                               pred: np.ndarray,
                               vmax: Optional[float] = None,
                               with_titles: bool = True) -> np.ndarray:
    """One row of five views, (H + title, 5 W, 3) uint8 BGR.

    Args:
        img (np.ndarray): (H, W, 3) uint8 BGR image.
        rgb_mask, depth_mask (np.ndarray): (H/p, W/p) bool, True = masked.
        depth (np.ndarray): (H, W) ground-truth metres, 0 = invalid.
        pred (np.ndarray): (H, W) predicted metres.
        vmax (float, optional): depth of the colormap's top; the 98th percentile of the
            valid ground truth by default.
    """
    valid = valid_depth(depth)
    if vmax is None:
        vmax = float(np.percentile(depth[valid], 98)) if valid.any() else 1.0
    rgb = img.copy()
    rgb[_upsample(rgb_mask, img.shape)] = 128
    seen = depth * ~_upsample(depth_mask, depth.shape)
    error = np.abs(pred - depth) * valid
    views = [rgb, colorize_depth(seen, vmax), colorize_depth(pred, vmax),
             colorize_depth(depth, vmax), colorize_depth(error, vmax / 4)]
    panel = np.concatenate(views, axis=1)
    if not with_titles:
        return panel
    W = img.shape[1]
    bar = np.full((18, panel.shape[1], 3), 255, np.uint8)
    for i, title in enumerate(TITLES):
        cv2.putText(bar, title, (i * W + 3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return np.concatenate([bar, panel], axis=0)
