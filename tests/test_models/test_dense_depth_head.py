import math

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from mask3d_mm.models import DenseDepthHead, ValidDepthLoss, depth_to_normals


def batch(B=2, H=32, W=48, seed=0, invalid=0.3):
    g = torch.Generator().manual_seed(seed)
    depth = 0.5 + 5 * torch.rand(B, 1, H, W, generator=g)
    depth[torch.rand(B, 1, H, W, generator=g) < invalid] = 0
    depth[0, 0, 0, :4] = 12.  # beyond max_depth: invalid
    mask = torch.zeros(B, (H // 16) * (W // 16), dtype=torch.bool)
    mask[:, ::2] = True
    return depth, mask


def test_patchify_roundtrip_rectangular():
    head = DenseDepthHead()
    x = torch.randn(2, 4, 32, 48)
    p = head.patchify(x)
    assert p.shape == (2, 6, 16 * 16 * 4)
    torch.testing.assert_close(head.unpatchify(p, (2, 3)), x)
    # patch 1 is the top row, second column, channel last
    torch.testing.assert_close(p[0, 1].view(16, 16, 4), x[0, :, 0:16, 16:32].permute(1, 2, 0))


@pytest.mark.parametrize('norm_target', ['metric', 'log', 'standardize'])
@pytest.mark.parametrize('loss_on', ['all', 'masked'])
@pytest.mark.parametrize('criterion', ['L1', 'L2'])
def test_loss_options_finite(norm_target, loss_on, criterion):
    head = DenseDepthHead(norm_target=norm_target, loss_on=loss_on,
                          loss=dict(type='mask3d_mm.ValidDepthLoss', criterion=criterion))
    depth, mask = batch()
    pred = torch.randn(2, 6, 256, requires_grad=True)
    loss = head.loss(pred, depth, mask)['loss']
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert torch.isfinite(pred.grad).all()


def test_invalid_pixels_get_zero_gradient():
    head = DenseDepthHead()
    depth, mask = batch()
    pred = torch.randn(2, 6, 256, requires_grad=True)
    head.loss(pred, depth, mask)['loss'].backward()
    invalid = ~head.valid_depth(head.patchify(depth))
    assert invalid.any() and (~invalid).any()
    assert (pred.grad[invalid] == 0).all()
    assert (pred.grad[~invalid] != 0).all()


def test_masked_only_ignores_visible_patches():
    head = DenseDepthHead(loss_on='masked')
    depth, mask = batch(invalid=0.)
    pred = torch.randn(2, 6, 256, requires_grad=True)
    head.loss(pred, depth, mask)['loss'].backward()
    assert (pred.grad[~mask] == 0).all() and (pred.grad[mask] != 0).any()


@pytest.mark.parametrize('norm_target', ['metric', 'log', 'standardize'])
def test_all_invalid_gives_zero_loss(norm_target):
    head = DenseDepthHead(norm_target=norm_target)
    depth = torch.zeros(2, 1, 32, 48)
    depth[1, 0, :5] = 50.  # beyond max_depth
    pred = torch.randn(2, 6, 256, requires_grad=True)
    loss = head.loss(pred, depth, torch.ones(2, 6, dtype=torch.bool))['loss']
    assert loss.item() == 0.
    loss.backward()
    assert (pred.grad == 0).all()


def test_valid_depth_loss_ignores_nan_and_inf():
    loss = ValidDepthLoss(criterion='L2', loss_weight=2.)
    pred = torch.tensor([1., float('inf'), 3.], requires_grad=True)
    target = torch.tensor([0., 1., float('nan')])
    valid = torch.tensor([True, False, False])
    out = loss(pred, target, valid)
    assert out.item() == 2.
    out.backward()
    assert pred.grad.tolist() == [4., 0., 0.]
    with pytest.raises(ValueError, match='criterion'):
        ValidDepthLoss(criterion='huber')


def test_targets_and_predict_roundtrip():
    depth, _ = batch(invalid=0.)
    depth[0, 0, 0, :4] = 3.
    for norm_target in ('metric', 'log', 'standardize'):
        head = DenseDepthHead(norm_target=norm_target)
        target, valid = head.construct_target(depth)
        assert valid.all()
        out = head.predict(target, (2, 3), ref_depth=depth)
        torch.testing.assert_close(out, depth, rtol=1e-4, atol=1e-4)
    head = DenseDepthHead(norm_target='metric')
    torch.testing.assert_close(head.construct_target(depth)[0], head.patchify(depth) / 10.)


def test_truncated_standardisation():
    head = DenseDepthHead(norm_target='standardize', trunc_ratio=0.1)
    values = torch.arange(1., 11.)  # 1..10 m: drop 1 and 10
    depth = torch.zeros(1, 1, 16, 16)
    depth.view(-1)[:10] = values
    mean, std = head.truncated_stats(depth, head.valid_depth(depth))
    kept = values[1:-1]
    assert math.isclose(mean.item(), kept.mean().item(), rel_tol=1e-6)
    assert math.isclose(std.item(), kept.std(unbiased=False).item(), rel_tol=1e-6)
    target, valid = head.construct_target(depth)
    assert valid.sum() == 10 and (target[~valid] == 0).all()


def _loop_truncated_stats(depth, valid, ratio):
    """The former per-sample implementation (sort of the valid values), as the reference."""
    means, stds = [], []
    for d, m in zip(depth.reshape(depth.shape[0], -1), valid.reshape(valid.shape[0], -1)):
        v = torch.sort(d[m].float())[0]
        k = int(v.numel() * ratio)
        v = v[k:v.numel() - k]
        if v.numel() == 0:
            means.append(torch.tensor(0.)), stds.append(torch.tensor(1.))
        else:
            means.append(v.mean()), stds.append(v.std(unbiased=False))
    return torch.stack(means), torch.stack(stds)


@pytest.mark.parametrize('ratio', [0., 0.1, 0.25, 0.45])
def test_truncated_stats_match_the_per_sample_loop(ratio):
    """Batched statistics equal the per-sample sort, with ties at the cut (depth in cm),
    NaN / inf / far invalid pixels, an empty sample and samples with 1 and 3 valid pixels."""
    g = torch.Generator().manual_seed(1)
    depth = torch.round(0.5 + 6 * torch.rand(7, 1, 32, 48, generator=g), decimals=2)
    depth[torch.rand(depth.shape, generator=g) < 0.3] = 0
    depth[0, 0, 0, :3] = torch.tensor([float('nan'), float('inf'), 12.])
    depth[1] = 0
    depth[2] = 0
    depth[2, 0, 5, 5] = 3.
    depth[3] = 0
    depth[3, 0, 0, :3] = torch.tensor([2., 1., 2.])
    depth[4] = 2.5  # all equal
    depth[5, 0, :16] = 1.  # many ties at the lower cut
    head = DenseDepthHead(norm_target='standardize', trunc_ratio=ratio, std_floor=0.)
    valid = head.valid_depth(depth)
    mean, std = head.truncated_stats(depth, valid)
    ref_mean, ref_std = _loop_truncated_stats(depth, valid, ratio)
    torch.testing.assert_close(mean, ref_mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(std, ref_std, rtol=1e-5, atol=1e-5)
    assert mean[1] == 0 and std[1] == 1 and mean[2] == 3 and std[2] == 0


def test_bad_options():
    with pytest.raises(ValueError, match='norm_target'):
        DenseDepthHead(norm_target='inverse')
    with pytest.raises(ValueError, match='loss_on'):
        DenseDepthHead(loss_on='visible')
    with pytest.raises(ValueError, match='p\\*p\\*out_channels'):
        DenseDepthHead().loss(torch.zeros(2, 6, 100), *batch())


def plane_depth(H=32, W=48, f=40.):
    """A fronto-parallel wall at 2 m, tilted about the vertical axis: z = 2 + 0.5 x."""
    k = torch.tensor([[f, 0, W / 2 - .5], [0, f, H / 2 - .5], [0, 0, 1]])
    u = torch.arange(W).float().view(1, W)
    # ray x/z = (u - cx)/f; z = 2 + 0.5 * z * (u - cx)/f  => z = 2 / (1 - 0.5 (u - cx)/f)
    z = 2 / (1 - 0.5 * (u - k[0, 2]) / f)
    return z.expand(H, W).reshape(1, 1, H, W).clone(), k


def test_normals_of_a_plane():
    depth, k = plane_depth()
    normals, valid = depth_to_normals(depth, k[None], max_depth=10.)
    assert not valid[..., 0, :].any() and valid[..., 1:-1, 1:-1].all()
    expected = torch.tensor([0.5, 0., -1.]) / math.sqrt(1.25)  # faces the camera
    inner = normals[0, :, 1:-1, 1:-1].reshape(3, -1).T
    torch.testing.assert_close(inner, expected.expand_as(inner), rtol=1e-4, atol=1e-4)
    depth[..., 10, 10] = 0
    _, valid = depth_to_normals(depth, k[None], max_depth=10.)
    assert not valid[0, 0, 9:12, 10].any() and not valid[0, 0, 10, 9:12].any()


def test_normal_loss():
    head = DenseDepthHead(normal_loss=dict(type='mask3d_mm.ValidDepthLoss', loss_weight=0.5))
    assert head.out_channels == 4
    depth, k = plane_depth()
    depth = depth.expand(2, -1, -1, -1).clone()
    samples = []
    for _ in range(2):
        ds = DataSample()
        ds.set_metainfo(dict(depth_intrinsics=k.numpy().astype(np.float32)))
        samples.append(ds)
    pred = torch.randn(2, 6, 256 * 4, requires_grad=True)
    losses = head.loss(pred, depth, torch.zeros(2, 6, dtype=torch.bool), samples)
    assert set(losses) == {'loss', 'loss_normal'} and torch.isfinite(losses['loss_normal'])
    sum(losses.values()).backward()
    assert torch.isfinite(pred.grad).all()
    with pytest.raises(KeyError, match='depth_intrinsics'):
        head.loss(pred, depth, torch.zeros(2, 6, dtype=torch.bool), [DataSample()] * 2)


def test_std_floor_changes_only_flat_frames():
    """A room-like frame (std ~1 m) keeps its target; a wall seen head-on at 2 m with 1 cm
    noise is divided by the 5 cm floor, not by its noise."""
    g = torch.Generator().manual_seed(0)
    depth = torch.empty(2, 1, 32, 48)
    depth[0] = 1 + 3 * torch.rand(1, 32, 48, generator=g)
    depth[1] = 2 + 0.01 * torch.randn(1, 32, 48, generator=g)
    raw = DenseDepthHead(norm_target='standardize', std_floor=0.)
    floored = DenseDepthHead(norm_target='standardize', std_floor=0.05)
    t_raw, t_floor = raw.dense_target(depth), floored.dense_target(depth)
    assert torch.equal(t_raw[0], t_floor[0])
    assert t_raw[1].abs().mean() > 0.5  # noise became unit-scale targets
    assert t_floor[1].abs().mean() < 0.2
    mean, std = raw.truncated_stats(depth, raw.valid_depth(depth))
    torch.testing.assert_close(t_floor[1], (depth[1] - mean[1]) / (0.05 + 1e-6))
    # prediction undoes the floored target (visible depth = the whole frame here)
    out = floored.predict(floored.patchify(t_floor), (2, 3), ref_depth=depth)
    torch.testing.assert_close(out, depth, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match='std_floor'):
        DenseDepthHead(std_floor=-0.01)


def test_dense_and_predicted_target_match_the_loss_layout():
    depth, _ = batch()
    head = DenseDepthHead(norm_target='standardize')
    target, _ = head.construct_target(depth)
    dense = head.dense_target(depth)
    assert dense.shape == depth.shape
    torch.testing.assert_close(head.patchify(dense), target)
    assert (dense[~head.valid_depth(depth)] == 0).all()
    torch.testing.assert_close(head.predict_target(target, (2, 3)), dense)
