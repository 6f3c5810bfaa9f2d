"""Masked depth reconstruction metric with a nearest-visible-depth baseline."""
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mask3d_mm.registry import METRICS


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


@METRICS.register_module()
class DepthReconstructionMetric(BaseMetric):
    """AbsRel, RMSE and delta<1.25 of the predicted dense depth over valid pixels.

    Reported apart for pixels of masked depth patches (``masked/*``: what the model had to
    infer) and visible ones (``visible/*``), beside a baseline that copies the nearest valid
    visible depth pixel (``baseline/*``, masked pixels), so a user sees whether the model beats
    it (``masked/abs_rel_vs_baseline`` < 1).

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
            p = pred.shape[0] // mask.shape[0]
            masked = np.kron(mask, np.ones((p, p), dtype=bool))
            valid = (gt > 0) & (gt <= self.max_depth)
            baseline = nearest_visible_fill(gt, ~masked)
            sel_m, sel_v = valid & masked, valid & ~masked
            self.results.append(np.stack([
                self._sums(pred[sel_m], gt[sel_m]),
                self._sums(pred[sel_v], gt[sel_v]),
                self._sums(baseline[sel_m], gt[sel_m]),
            ]))

    def compute_metrics(self, results: List[np.ndarray]) -> Dict[str, float]:
        sums = np.sum(results, axis=0)
        metrics = {}
        for name, (n, abs_rel, sq, delta) in zip(('masked', 'visible', 'baseline'), sums):
            if n == 0:
                continue
            metrics.update({f'{name}/abs_rel': abs_rel / n, f'{name}/rmse': np.sqrt(sq / n),
                            f'{name}/delta1': delta / n})
        if 'masked/abs_rel' in metrics and 'baseline/abs_rel' in metrics:
            metrics['masked/abs_rel_vs_baseline'] = (
                metrics['masked/abs_rel'] / max(metrics['baseline/abs_rel'], 1e-12))
        if not metrics:
            MMLogger.get_current_instance().warning(
                'DepthReconstructionMetric: no valid ground-truth pixel in the validation set')
        return {k: float(v) for k, v in metrics.items()}


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
