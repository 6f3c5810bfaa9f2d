"""SimpleFPN (with mmpretrain's LN2d): shapes, strides, normalisation, gradients."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope

from mask3d_mm.registry import MODELS


def build(**kwargs):
    with DefaultScope.overwrite_default_scope('mmdet'):  # host scope, plugin names prefixed
        return MODELS.build(dict(type='mask3d_mm.SimpleFPN', **kwargs))


def test_pyramid_shapes_and_strides():
    neck = build(in_channels=96, out_channels=32)
    x = torch.randn(2, 96, 6, 8)  # a 96x128 image at stride 16 (rectangular on purpose)
    outs = neck((x, ))
    assert len(outs) == 5
    strides = [4, 8, 16, 32, 64]
    for out, stride in zip(outs, strides):
        assert out.shape == (2, 32, -(-96 // stride), -(-128 // stride))
    # channels of the resampling branches: C/4, C/2, C, C
    assert [lat.conv.in_channels for lat in neck.lateral_convs] == [24, 48, 96, 96]
    assert type(neck.lateral_convs[0].norm).__name__ == 'LayerNorm2d'
    # a bare tensor and the last map of a longer tuple work too
    assert neck(x)[2].shape == neck((torch.randn(2, 96, 3, 4), x))[2].shape


def test_num_outs_and_scale_factors():
    neck = build(in_channels=16, out_channels=8, scale_factors=(2.0, 1.0, 0.5, 0.25), num_outs=4)
    outs = neck(torch.randn(1, 16, 8, 8))
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]
    with pytest.raises(ValueError, match='powers of two'):
        build(in_channels=16, scale_factors=(3.0, ))
    with pytest.raises(ValueError, match='num_outs'):
        build(in_channels=16, num_outs=3)
    with pytest.raises(ValueError, match='featmap'):
        neck(torch.randn(1, 5, 16))  # a token sequence, not a map


def test_gradients_reach_every_parameter():
    neck = build(in_channels=32, out_channels=16)
    x = torch.randn(1, 32, 4, 4, requires_grad=True)
    sum(o.square().mean() for o in neck((x, ))).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in neck.parameters())
    assert x.grad.abs().sum() > 0


def test_layer_norm_2d_normalises_channels():
    """The configs' norm, mmpretrain's LN2d, built from the mmdet scope as the configs do."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        ln = MODELS.build(dict(type='mmpretrain.LN2d', num_channels=6, eps=1e-6))
    with torch.no_grad():
        ln.weight.uniform_(0.5, 2)
        ln.bias.uniform_(-1, 1)
    x = torch.randn(2, 6, 5, 7) * 3 + 1
    ref = F.layer_norm(x.permute(0, 2, 3, 1), (6, ), ln.weight, ln.bias, 1e-6).permute(0, 3, 1, 2)
    torch.testing.assert_close(ln(x), ref)
    plain = (ln(x) - ln.bias[:, None, None]) / ln.weight[:, None, None]
    torch.testing.assert_close(plain.mean(1), torch.zeros(2, 5, 7), atol=1e-5, rtol=0)
    torch.testing.assert_close(plain.var(1, unbiased=False), torch.ones(2, 5, 7), atol=1e-4,
                               rtol=0)
