"""DepthReconstructionMetric and its baselines on hand-made depth maps."""
import mask3d_mm  # noqa: F401

import numpy as np
import pytest
import torch

from mask3d_mm.evaluation import (DepthReconstructionMetric, nearest_visible_fill,
                                  nearest_visible_patch_fill)


def _sample(pred, gt, mask):
    return dict(pred_depth=torch.from_numpy(pred)[None], depth=torch.from_numpy(gt),
                depth_mask=torch.from_numpy(mask))


def _ramp(h=8, w=8):
    return (1 + np.arange(h * w, dtype=np.float32).reshape(h, w) / 10)


def test_perfect_prediction_and_invalid_pixels_ignored():
    gt = _ramp()
    gt[0, 0] = 0  # invalid: never counted
    pred = gt.copy()
    pred[0, 0] = 123.0
    mask = np.array([[True, False], [True, True]])
    metric = DepthReconstructionMetric()
    metric.process({}, [_sample(pred, gt, mask)])
    out = metric.compute_metrics(metric.results)
    assert out['masked/abs_rel'] == 0 and out['visible/rmse'] == 0
    assert out['masked/delta1'] == 1
    assert out['patch_baseline/abs_rel'] > 0 and out['masked/abs_rel_vs_patch_baseline'] == 0


def test_known_errors():
    gt = np.full((4, 4), 2.0, np.float32)
    pred = np.full((4, 4), 3.0, np.float32)  # +50% everywhere
    mask = np.array([[True, True], [True, False]])
    metric = DepthReconstructionMetric()
    metric.process({}, [_sample(pred, gt, mask)])
    out = metric.compute_metrics(metric.results)
    assert out['masked/abs_rel'] == pytest.approx(0.5)
    assert out['masked/rmse'] == pytest.approx(1.0)
    assert out['masked/delta1'] == 0  # 1.5 > 1.25
    # flat ground truth: both baselines are exact
    assert out['patch_baseline/abs_rel'] == 0 and out['pixel_baseline/rmse'] == 0


def test_baselines():
    d = np.arange(16, dtype=np.float32).reshape(4, 4) + 1
    m = np.array([[False, True], [True, True]])
    patch = nearest_visible_patch_fill(d, m)
    assert (patch[2:, 2:] == np.median([1, 2, 5, 6])).all() and (patch[:2, :2] == d[:2, :2]).all()
    visible = np.zeros((4, 4), bool)
    visible[0, 0] = visible[3, 3] = True
    pixel = nearest_visible_fill(d, visible)
    assert pixel[0, 1] == 1 and pixel[3, 2] == 16
    assert (nearest_visible_fill(np.zeros((4, 4), np.float32), visible) == 0).all()
