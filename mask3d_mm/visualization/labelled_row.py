"""A row of equally sized views with a title above each (the panels of the inferencer and of
``browse_dataset.py``)."""
from typing import Optional, Sequence

import cv2
import numpy as np

__all__ = ['labelled_row', 'mask_overlay']


def mask_overlay(img: np.ndarray, mask: np.ndarray, value: int = 128) -> np.ndarray:
    """``img`` (H, W, 3) uint8 with the pixels of ``mask`` (H, W) bool set to grey ``value``."""
    out = img.copy()
    out[mask] = value
    return out


def labelled_row(views: Sequence[np.ndarray], titles: Optional[Sequence[str]] = None,
                 bar_height: int = 18) -> np.ndarray:
    """Concatenate (H, W, 3) uint8 BGR views side by side, (H + bar, sum W, 3) uint8 BGR.

    Views of another height are resized to the first view's height (aspect kept, nearest);
    (H, W) views are shown grey.
    """
    h = views[0].shape[0]
    row = []
    for v in views:
        if v.ndim == 2:
            v = cv2.cvtColor(v.astype(np.uint8), cv2.COLOR_GRAY2BGR)
        if v.shape[0] != h:
            w = max(1, int(round(v.shape[1] * h / v.shape[0])))
            v = cv2.resize(v, (w, h), interpolation=cv2.INTER_NEAREST)
        row.append(np.ascontiguousarray(v, dtype=np.uint8))
    panel = np.concatenate(row, axis=1)
    if not titles:
        return panel
    bar = np.full((bar_height, panel.shape[1], 3), 255, np.uint8)
    x = 0
    scale = 0.4 if h >= 96 else 0.3
    for v, title in zip(row, titles):
        cv2.putText(bar, title, (x + 3, bar_height - 5), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 0), 1, cv2.LINE_AA)
        x += v.shape[1]
    return np.concatenate([bar, panel], axis=0)
