import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmpretrain.models import VisionTransformer

from mask3d_mm.models import Mask3D

TINY = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)


def test_forward_backward(build_model, make_batch):
    model = build_model()
    assert isinstance(model, Mask3D)
    inputs, samples = make_batch()
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss'} and torch.isfinite(losses['loss'])
    losses['loss'].backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    assert grads['backbone.patch_embed.projection.weight'].abs().sum() > 0
    assert grads['depth_encoder.patch_embed.projection.weight'].abs().sum() > 0
    assert not model.backbone.pos_embed.requires_grad  # fixed, as MAE


@pytest.mark.parametrize('fusion', ['add', 'concat'])
def test_rectangular_64x96(build_model, make_batch, fusion):
    model = build_model(img_size=(64, 96), fusion=fusion)
    inputs, samples = make_batch(size=(64, 96), rgb_ratio=0.75, depth_ratio=0.75)
    loss = model.loss(inputs, samples)['loss']
    assert torch.isfinite(loss)
    loss.backward()
    # a model configured for 224x224 still takes 64x96 (position embedding resized)
    model = build_model(img_size=224, fusion=fusion)
    assert torch.isfinite(model.loss(inputs, samples)['loss'])


def test_all_invalid_batch(build_model, make_batch):
    model = build_model()
    inputs, samples = make_batch(invalid_ratio=1.0)
    loss = model.loss(inputs, samples)['loss']
    assert loss.item() == 0.
    loss.backward()
    for n, p in model.named_parameters():
        if p.grad is not None:
            assert torch.isfinite(p.grad).all(), n


def test_loss_options(build_model, make_batch):
    heads = [
        dict(type='mask3d_mm.DenseDepthHead', loss=dict(type='mask3d_mm.ValidDepthLoss',
                                                        criterion='L2')),
        dict(type='mask3d_mm.DenseDepthHead', norm_target='log'),
        dict(type='mask3d_mm.DenseDepthHead', norm_target='standardize'),
        dict(type='mask3d_mm.DenseDepthHead', loss_on='masked'),
    ]
    inputs, samples = make_batch()
    for head in heads:
        loss = build_model(head=head).loss(inputs, samples)['loss']
        assert torch.isfinite(loss) and loss > 0, head


def test_surface_normal_target(build_model, make_batch):
    head = dict(type='mask3d_mm.DenseDepthHead',
                normal_loss=dict(type='mask3d_mm.ValidDepthLoss', loss_weight=0.5))
    model = build_model(head=head, out_channels=4)
    inputs, samples = make_batch(intrinsics=True, invalid_ratio=0.)
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss', 'loss_normal'}
    assert all(torch.isfinite(v) for v in losses.values())
    with pytest.raises(ValueError, match='out_channels'):
        build_model(head=head)  # neck predicts 1 value per pixel


def test_mask_validation_errors(build_model, make_batch):
    """The one check of the patch masks (the pipeline packs them unchecked, the encoders trust
    them): dtype, grid of the model's patch size, count; errors name the sample's files."""
    model = build_model()
    inputs, samples = make_batch()

    def named(batch):
        for i, ds in enumerate(batch):
            ds.set_metainfo(dict(img_path=f'color/{i:06d}.jpg', depth_path=f'depth/{i:06d}.png'))
        return batch

    with pytest.raises(ValueError, match=r"'rgb_mask' of sample 1 \(img_path='color/000001\.jpg'"
                       r", depth_path='depth/000001\.png'\) has shape \(3, 2\), expected "
                       r'\(2, 3\): input 32x48 / patch 16'):
        bad = named(make_batch()[1])
        bad[1].rgb_mask = torch.zeros(3, 2, dtype=torch.bool)
        model.loss(inputs, bad)
    with pytest.raises(ValueError, match=r'expected \(2, 3\).*RGBDMaskGenerator\.patch_size'):
        bad = make_batch()[1]
        bad[0].rgb_mask = torch.zeros(1, 2, dtype=torch.bool)  # a grid of 32x32 patches
        model.loss(inputs, bad)
    with pytest.raises(TypeError, match=r"'depth_mask' of sample 0 .*000000\.png.* bool"):
        bad = named(make_batch()[1])
        bad[0].depth_mask = bad[0].depth_mask.to(torch.uint8)
        model.loss(inputs, bad)
    with pytest.raises(ValueError, match=r"same number.*\[6, 3\] \(not as sample 0: sample 1 "
                       r"\(img_path='color/000001\.jpg'"):
        bad = named(make_batch()[1])
        bad[0].rgb_mask = torch.ones(2, 3, dtype=torch.bool)
        model.loss(inputs, bad)
    with pytest.raises(KeyError, match=r"mask3d_mm\.PackRGBDInputs\(.*'depth_mask'"):
        bad = make_batch()[1]
        del bad[0].depth_mask
        model.loss(inputs, bad)
    with pytest.raises(ValueError, match='one data sample per image'):
        model.loss(inputs, samples[:1])
    with pytest.raises(ValueError, match='not divisible by the patch size'):
        model.loss([inputs[0][..., :40], inputs[1][..., :40]], samples)
    with pytest.raises(TypeError, match=r'inputs=\[rgb'):
        model.loss(inputs[0], samples)
    # numpy bool masks (unpacked) are accepted
    ok = make_batch()[1]
    ok[0].rgb_mask = ok[0].rgb_mask.numpy()
    assert isinstance(ok[0].rgb_mask, np.ndarray)
    assert torch.isfinite(model.loss(inputs, ok)['loss'])


def test_masked_rgb_pixels_do_not_change_the_loss(build_model, make_batch):
    model = build_model()
    model.eval()
    inputs, samples = make_batch(batch=1)
    ref = model.loss(inputs, samples)['loss']
    rgb = inputs[0].clone()
    mask = samples[0].rgb_mask
    for i, j in mask.nonzero().tolist():
        rgb[..., i * 16:(i + 1) * 16, j * 16:(j + 1) * 16] = 9.
    torch.testing.assert_close(model.loss([rgb, inputs[1]], samples)['loss'], ref, rtol=0,
                               atol=0)
    i, j = (~mask).nonzero()[0].tolist()
    rgb[..., i * 16:(i + 1) * 16, j * 16:(j + 1) * 16] = 9.
    assert model.loss([rgb, inputs[1]], samples)['loss'] != ref


def test_predict_and_extract_feat(build_model, make_batch):
    model = build_model()
    model.eval()
    inputs, samples = make_batch()
    with torch.no_grad():
        depth = model.predict_depth(inputs, samples)
        assert depth.shape == (2, 1, 32, 48)
        assert (depth >= 0).all() and (depth <= 10).all()
        out = model(inputs, samples, mode='predict')
        assert out[0].pred_depth.shape == (1, 32, 48)
        torch.testing.assert_close(out[1].pred_depth, depth[1])
        # no masks: every patch visible
        assert model.predict_depth(inputs).shape == (2, 1, 32, 48)
        feats = model(inputs, mode='tensor')
        assert feats[0].shape == (2, 1 + 6, 64)
    std = build_model(head=dict(type='mask3d_mm.DenseDepthHead', norm_target='standardize'))
    std.eval()
    with torch.no_grad():
        assert torch.isfinite(std.predict_depth(inputs, samples)).all()
        out = std(inputs, samples, mode='predict')
    # the target-space prediction and the full-frame loss target travel with the samples
    for i, ds in enumerate(out):
        assert ds.pred_target.shape == ds.gt_target.shape == (1, 32, 48)
        torch.testing.assert_close(ds.gt_target, std.head.dense_target(inputs[1][i:i + 1])[0])
    # ... exactly what the loss compares (eval mode: no dropout)
    target, valid = std.head.construct_target(inputs[1])
    pred = std.head.patchify(torch.stack([ds.pred_target for ds in out]))
    with torch.no_grad():
        loss = std.loss(inputs, samples)['loss']
    torch.testing.assert_close(std.head.loss_module(pred, target, valid), loss)


def test_few_steps_lower_the_loss(build_model, make_batch):
    model = build_model()
    inputs, samples = make_batch()
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    data = dict(inputs=inputs, data_samples=samples)
    first = model.train_step(data, optim)['loss'].item()
    for _ in range(15):
        last = model.train_step(data, optim)['loss'].item()
    assert last < 0.7 * first, (first, last)


def test_exported_backbone_loads_strict(build_model, tmp_path):
    model = build_model()
    state = {k[len('backbone.'):]: v for k, v in model.state_dict().items()
             if k.startswith('backbone.')}
    vit = VisionTransformer(arch=TINY, img_size=(32, 48))
    vit.load_state_dict(state, strict=True)


def test_patch_size_mismatch(tiny_cfg):
    from mask3d_mm.registry import MODELS
    cfg = tiny_cfg()
    cfg['depth_encoder']['patch_size'] = 8
    with pytest.raises(ValueError, match='same square patch size'):
        MODELS.build(cfg)


@pytest.mark.parametrize('fusion', ['add', 'concat'])
@pytest.mark.parametrize('ratios', [(1.0, 0.0), (0.0, 1.0), (1.0, 1.0)])
def test_extreme_mask_ratios(build_model, make_batch, fusion, ratios):
    """All colour patches hidden (depth completion) or all depth hidden (monocular depth)."""
    model = build_model(fusion=fusion)
    inputs, samples = make_batch(rgb_ratio=ratios[0], depth_ratio=ratios[1])
    loss = model.loss(inputs, samples)['loss']
    assert torch.isfinite(loss)
    loss.backward()
