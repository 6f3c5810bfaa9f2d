"""Masked depth reconstruction metric with a nearest-visible-depth baseline."""
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mask3d_mm.registry import METRICS
from mask3d_mm.structures import grid_patch_size, patch_to_pixel_mask, valid_depth


def nearest_visible_fill(depth: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Fill every pixel with the depth of the nearest valid pixel the model was shown.

    Args:
        depth (np.ndarray): (H, W) float32 metres, 0 = invalid.
        visible (np.ndarray): (H, W) bool, pixels of visible depth patches.

    Returns:
        np.ndarray: (H, W) float32; all 0 when no visible pixel has valid depth.
    """
    known = visible & (depth > 0)
    if not known.any():
        return np.zeros_like(depth)
    # distance to the nearest zero pixel of `src`, with the label of that pixel
    src = (~known).astype(np.uint8)
    _, labels = cv2.distanceTransformWithLabels(src, cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    # labels number the zero pixels of `src` in row-major order, starting at 1
    values = depth[known]
    return values[labels - 1].astype(np.float32)


def nearest_visible_patch_fill(depth: np.ndarray, depth_mask: np.ndarray) -> np.ndarray:
    """Fill each masked patch with the median valid depth of the nearest visible patch.

    Args:
        depth (np.ndarray): (H, W) float32 metres, 0 = invalid.
        depth_mask (np.ndarray): (h, w) bool patch grid, True = masked.

    Returns:
        np.ndarray: (H, W) float32: visible patches as given, masked ones constant; all 0 when
        no visible patch has valid depth.
    """
    h, w = depth_mask.shape
    p = grid_patch_size((h, w), depth.shape)
    patches = depth.reshape(h, p, w, p).transpose(0, 2, 1, 3).reshape(h * w, p * p)
    medians = np.array([np.median(x[x > 0]) if (x > 0).any() else 0. for x in patches])
    source = (~depth_mask.reshape(-1)) & (medians > 0)
    if not source.any():
        return np.zeros_like(depth)
    yy, xx = np.divmod(np.arange(h * w), w)
    dist = (yy[:, None] - yy[source][None]) ** 2 + (xx[:, None] - xx[source][None]) ** 2
    fill = medians[source][dist.argmin(axis=1)]
    out = patch_to_pixel_mask(fill.reshape(h, w), p).astype(np.float32)
    visible = ~patch_to_pixel_mask(depth_mask, p)
    out[visible] = depth[visible]
    return out


@METRICS.register_module()
class DepthReconstructionMetric(BaseMetric):
    """AbsRel, RMSE and delta<1.25 of the predicted dense depth over valid pixels.

    Reported apart for pixels of masked depth patches (``masked/*``: what the model had to
    infer) and visible ones (``visible/*``), beside two baselines on the masked pixels, so a
    user sees whether the model beats them (``masked/abs_rel_vs_<baseline>`` < 1):

    - ``patch_baseline/*``: each masked patch takes the median depth of the nearest visible
      patch (:func:`nearest_visible_patch_fill`);
    - ``pixel_baseline/*``: each masked pixel copies the nearest valid visible pixel
      (:func:`nearest_visible_fill`), a stricter bar on piecewise-flat scenes.

    Expects data samples with ``pred_depth`` (1, H, W) and ``depth`` (H, W) in metres and
    ``depth_mask`` (H/p, W/p) bool, True = masked (from :class:`Mask3D.predict`).

    Args:
        max_depth (float): ground truth beyond it is invalid. Defaults to 10.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): metric name prefix. Defaults to 'depth'.
    """
    default_prefix: Optional[str] = 'depth'

    def __init__(self, max_depth: float = 10.0, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.max_depth = max_depth

    @staticmethod
    def _sums(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
        """[count, sum |d|/gt, sum d^2, sum delta<1.25] over the given valid pixels."""
        if gt.size == 0:
            return np.zeros(4)
        ratio = np.maximum(pred / gt, gt / np.maximum(pred, 1e-6))
        return np.array([gt.size, (np.abs(pred - gt) / gt).sum(), ((pred - gt)**2).sum(),
                         (ratio < 1.25).sum()], dtype=np.float64)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = _numpy(sample['pred_depth'])[0]
            gt = _numpy(sample['depth']).reshape(pred.shape)
            mask = _numpy(sample['depth_mask']).astype(bool)
            masked = patch_to_pixel_mask(mask, grid_patch_size(mask.shape, pred.shape))
            valid = valid_depth(gt, self.max_depth)
            patch_base = nearest_visible_patch_fill(gt, mask)
            pixel_base = nearest_visible_fill(gt, ~masked)
            sel_m, sel_v = valid & masked, valid & ~masked
            self.results.append(np.stack([
                self._sums(pred[sel_m], gt[sel_m]),
                self._sums(pred[sel_v], gt[sel_v]),
                self._sums(patch_base[sel_m], gt[sel_m]),
                self._sums(pixel_base[sel_m], gt[sel_m]),
            ]))

    def compute_metrics(self, results: List[np.ndarray]) -> Dict[str, float]:
        sums = np.sum(results, axis=0)
        metrics = {}
        names = ('masked', 'visible', 'patch_baseline', 'pixel_baseline')
        for name, (n, abs_rel, sq, delta) in zip(names, sums):
            if n == 0:
                continue
            metrics.update({f'{name}/abs_rel': abs_rel / n, f'{name}/rmse': np.sqrt(sq / n),
                            f'{name}/delta1': delta / n})
        for base in names[2:]:
            if 'masked/abs_rel' in metrics and f'{base}/abs_rel' in metrics:
                metrics[f'masked/abs_rel_vs_{base}'] = (
                    metrics['masked/abs_rel'] / max(metrics[f'{base}/abs_rel'], 1e-12))
        if not metrics:
            MMLogger.get_current_instance().warning(
                'DepthReconstructionMetric: no valid ground-truth pixel in the validation set')
        return {k: float(v) for k, v in metrics.items()}


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
