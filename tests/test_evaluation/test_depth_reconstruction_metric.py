"""DepthReconstructionMetric and its baselines on hand-made depth maps."""
import mask3d_mm  # noqa: F401

import numpy as np
import pytest
import torch

from mask3d_mm.evaluation import (DepthReconstructionMetric, nearest_visible_fill,
                                  nearest_visible_patch_fill)
from mask3d_mm.evaluation.depth_reconstruction_metric import scale_shift_fit
from mask3d_mm.models import DenseDepthHead
from mask3d_mm.structures import patch_to_pixel_mask


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


def _room(H=32, W=48, seed=0):
    """Near floor in the bottom rows, far wall above: visible and full statistics differ."""
    g = np.random.default_rng(seed)
    depth = np.linspace(4.0, 1.0, H, dtype=np.float32)[:, None].repeat(W, 1)
    depth += g.uniform(0, 0.3, (H, W)).astype(np.float32)
    depth[3, 5] = 0  # a hole
    mask = np.ones((2, 3), bool)
    mask[0, :] = False  # only the far top row of patches is visible
    return depth, mask


def _score(*samples):
    metric = DepthReconstructionMetric()
    metric.process({}, list(samples))
    return metric.compute_metrics(metric.results)


def _stats(v):
    v = np.sort(v)
    k = int(v.size * 0.1)
    v = v[k:v.size - k]
    return v.mean(), max(v.std(), 0.05)


def test_perfect_target_prediction():
    """(a) and (c) are 0; (b) is the error of de-normalising with the visible statistics."""
    depth, mask = _room()
    head = DenseDepthHead(norm_target='standardize')
    d = torch.from_numpy(depth)[None, None]
    gt_t = head.dense_target(d)
    masked = patch_to_pixel_mask(mask, 16)
    seen = d * torch.from_numpy(~masked)
    pred = head.predict(head.patchify(gt_t), (2, 3), ref_depth=seen)
    out = _score(dict(_sample(pred[0, 0].numpy(), depth, mask), pred_target=gt_t[0],
                      gt_target=gt_t[0]))
    assert out['masked/target_l1'] == 0 and out['visible/target_rmse'] == 0
    assert out['masked/aligned_abs_rel'] < 1e-5 and out['masked/aligned_delta1'] == 1
    # (b), by hand: full-frame vs visible truncated statistics (10 % cut at each end)
    valid = depth > 0
    (mf, sf), (mv, sv) = _stats(depth[valid]), _stats(depth[valid & ~masked])
    sel = valid & masked
    expected = np.clip((depth[sel] - mf) / sf * sv + mv, 0, 10)
    expected = np.mean(np.abs(expected - depth[sel]) / depth[sel])
    assert out['masked/abs_rel'] == pytest.approx(expected, rel=1e-3)
    assert out['masked/abs_rel'] > 0.1


def test_affine_distorted_prediction_aligns_to_zero():
    depth, mask = _room()
    out = _score(_sample(1.3 * depth + 0.4, depth, mask))
    assert out['masked/abs_rel'] > 0.2
    assert out['masked/aligned_abs_rel'] < 1e-6 and out['visible/aligned_rmse'] < 1e-5
    assert out['masked/aligned_abs_rel_vs_pixel_baseline'] < 1e-5
    assert 'masked/target_l1' not in out  # no target-space fields given
    s, t = scale_shift_fit(np.array([1., 2, 3]), np.array([5., 7, 9]))
    assert (s, t) == pytest.approx((2, 3))
    assert scale_shift_fit(np.ones(3), np.array([1., 2, 3])) == (0, 2)


def test_target_fields_both_or_neither_and_unalignable_frames():
    depth, mask = _room()
    with pytest.raises(KeyError, match='gt_target'):
        _score(dict(_sample(depth, depth, mask), pred_target=torch.zeros(1, 32, 48)))
    hidden = np.ones((2, 3), bool)  # nothing visible: no fit possible
    out = _score(_sample(depth, depth, hidden), _sample(2 * depth, depth, mask))
    assert out['masked/abs_rel'] > 0 and out['masked/aligned_abs_rel'] < 1e-6


def _frames_of_different_sizes():
    """3 frames whose masked patch (top-left 2x2 of a 4x4 frame) has 4, 1 and 2 valid pixels
    with known errors, and one without any (left out of the per-image mean). The visible
    pixels are predicted exactly (a ramp, so the scale-and-shift fit is the identity)."""
    mask = np.array([[True, False], [False, False]])
    frames = []
    for gt_value, pred_value, valid in ((2., 3., 4), (1., 1.1, 1), (5., 4.5, 2), (3., 3., 0)):
        gt = _ramp(4, 4)
        pred = gt.copy()
        block = np.zeros(4, np.float32)  # the masked patch, 0 = invalid
        block[:valid] = gt_value
        gt[:2, :2] = block.reshape(2, 2)
        pred[:2, :2] = pred_value
        sample = _sample(pred, gt, mask)
        sample.update(pred_target=torch.from_numpy(pred)[None], gt_target=torch.from_numpy(gt))
        frames.append(sample)
    return frames


@pytest.mark.parametrize('average', ['pixel', 'image'])
def test_pixel_and_image_averages_match_hand_computations(average):
    metric = DepthReconstructionMetric(average=average)
    metric.process({}, _frames_of_different_sizes())
    out = metric.compute_metrics(metric.results)
    # per frame (valid masked pixels n, |d|/gt, d^2, delta<1.25, |d| in the target space):
    # A: n=4, 0.5, 1, 0, 1   B: n=1, 0.1, 0.01, 1, 0.1   C: n=2, 0.1, 0.25, 1, 0.5   D: n=0
    if average == 'pixel':  # pooled: A counts 4 times, B once, C twice
        expected = {'abs_rel': (4 * 0.5 + 0.1 + 2 * 0.1) / 7,
                    'rmse': np.sqrt((4 * 1 + 0.01 + 2 * 0.25) / 7),
                    'delta1': 3 / 7, 'target_l1': (4 * 1 + 0.1 + 2 * 0.5) / 7}
    else:  # the mean of the frames' values, as mmseg's DepthMetric; D has none: left out
        expected = {'abs_rel': (0.5 + 0.1 + 0.1) / 3, 'rmse': (1 + 0.1 + 0.5) / 3,
                    'delta1': 2 / 3, 'target_l1': (1 + 0.1 + 0.5) / 3}
    for key, value in expected.items():
        assert out[f'masked/{key}'] == pytest.approx(value, rel=1e-5), key
    assert out['masked/aligned_abs_rel'] == pytest.approx(expected['abs_rel'], rel=1e-4)
    assert out['visible/abs_rel'] == 0 and out['visible/target_rmse'] == 0


def test_average_is_checked():
    with pytest.raises(ValueError, match="average must be 'pixel' or 'image', got 'frame'"):
        DepthReconstructionMetric(average='frame')
