"""Layer-wise lr decay constructor: the exact lr and weight decay of every parameter."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import pytest
import torch.nn as nn
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from mask3d_mm.engine import LayerDecayOptimWrapperConstructor

from helpers.tools import capture_messages

ARCH = dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)
LR, WD, RATE = 1.0, 0.05, 0.5


def vit(**kwargs) -> nn.Module:
    from mmpretrain.models import VisionTransformer
    return VisionTransformer(arch=ARCH, img_size=(32, 48), patch_size=16, out_type='featmap',
                             out_indices=(0, 1, 2, 3), **kwargs)


def encoder_decoder() -> nn.Module:
    from mmseg.registry import MODELS
    cfg = dict(
        type='EncoderDecoder',
        backbone=dict(type='mmpretrain.VisionTransformer', arch=ARCH, img_size=(32, 48),
                      patch_size=16, out_type='featmap', out_indices=(0, 1, 2, 3)),
        neck=dict(type='MultiLevelNeck', in_channels=[32] * 4, out_channels=16,
                  scales=[4, 2, 1, 0.5]),
        decode_head=dict(type='UPerHead', in_channels=[16] * 4, in_index=[0, 1, 2, 3],
                         channels=8, num_classes=3, norm_cfg=dict(type='BN')),
        train_cfg=dict(), test_cfg=dict(mode='whole'))
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(cfg)


def expected_scale(name: str, prefix: str = 'backbone.', num_layers: int = 4) -> float:
    """Written out by hand: embeddings 0.5**5, layers.i 0.5**(4 - i), rest 1."""
    if not name.startswith(prefix):
        return 1.0
    name = name[len(prefix):]
    if name.startswith(('patch_embed.', 'cls_token', 'pos_embed', 'pre_norm.')):
        return RATE**(num_layers + 1)
    if name.startswith('layers.'):
        return RATE**(num_layers - int(name.split('.')[1]))
    return 1.0


def expected_wd(name: str, param) -> float:
    return 0.0 if param.ndim == 1 or name.endswith(('cls_token', 'pos_embed')) else WD


def build(model: nn.Module, **paramwise) -> list:
    cfg = dict(optimizer=dict(type='AdamW', lr=LR, weight_decay=WD),
               constructor='mask3d_mm.LayerDecayOptimWrapperConstructor',
               paramwise_cfg=dict(layer_decay_rate=RATE, **paramwise))
    with DefaultScope.overwrite_default_scope('mmseg'):
        return build_optim_wrapper(model, cfg).optimizer.param_groups


def per_param(groups: list) -> dict:
    """id(param) -> (lr, weight_decay)."""
    out = {}
    for g in groups:
        for p in g['params']:
            assert id(p) not in out, 'a parameter is in two groups'
            out[id(p)] = (g['lr'], g['weight_decay'])
    return out


def test_encoder_decoder_lr_per_layer():
    model = encoder_decoder()
    got = per_param(build(model))
    names = dict(model.named_parameters())
    assert len(got) == len(names)
    for name, p in names.items():
        lr, wd = got[id(p)]
        assert lr == pytest.approx(LR * expected_scale(name)), name
        assert wd == pytest.approx(expected_wd(name, p)), name
    # spot checks against the formula rate ** (num_layers + 1 - layer_id)
    assert got[id(model.backbone.pos_embed)] == (pytest.approx(1 / 32), 0.0)
    assert got[id(model.backbone.layers[0].attn.qkv.weight)][0] == pytest.approx(1 / 16)
    assert got[id(model.backbone.layers[3].ffn.layers[1].weight)][0] == pytest.approx(1 / 2)
    assert got[id(model.backbone.ln1.weight)] == (pytest.approx(1.0), 0.0)
    assert got[id(model.decode_head.conv_seg.weight)] == (pytest.approx(1.0), pytest.approx(WD))
    assert got[id(model.neck.convs[0].conv.weight)][0] == pytest.approx(1.0)


def test_bare_vit_and_prefixes():
    model = vit(pre_norm=True)
    got = per_param(build(model, backbone_prefix=''))
    for name, p in model.named_parameters():
        assert got[id(p)][0] == pytest.approx(expected_scale(name, prefix='')), name
    assert got[id(model.pre_norm.weight)][0] == pytest.approx(1 / 32)

    # a ViT deeper in another model (e.g. a detector wrapping it)
    outer = nn.Module()
    outer.encoder = nn.Module()
    outer.encoder.vit = vit()
    outer.head = nn.Linear(32, 2)
    got = per_param(build(outer, backbone_prefix='encoder.vit.'))
    for name, p in outer.named_parameters():
        assert got[id(p)][0] == pytest.approx(expected_scale(name, 'encoder.vit.')), name


def test_num_layers_override_custom_keys_and_frozen():
    model = encoder_decoder()
    got = per_param(build(model, num_layers=6))  # as if 2 more blocks existed
    assert got[id(model.backbone.cls_token)][0] == pytest.approx(RATE**7)
    assert got[id(model.backbone.layers[0].ln1.weight)][0] == pytest.approx(RATE**6)
    assert got[id(model.decode_head.conv_seg.weight)][0] == pytest.approx(1.0)

    got = per_param(build(model, custom_keys={'decode_head': dict(lr_mult=10.0, decay_mult=0.)}))
    assert got[id(model.decode_head.conv_seg.weight)] == (pytest.approx(10.0), 0.0)
    assert got[id(model.neck.convs[0].conv.weight)][0] == pytest.approx(1.0)

    frozen = vit(frozen_stages=1)
    got = per_param(build(frozen, backbone_prefix=''))
    assert id(frozen.patch_embed.projection.weight) not in got
    assert id(frozen.layers[0].attn.qkv.weight) not in got
    assert got[id(frozen.layers[1].attn.qkv.weight)][0] == pytest.approx(RATE**3)


def test_groups_logged_once():
    msgs = capture_messages(lambda: build(encoder_decoder()))
    assert sum('layer-wise lr decay' in m for m in msgs) == 1
    assert not any('paramwise_options' in m for m in msgs)  # no per-parameter lines
    table = next(m for m in msgs if 'layer-wise lr decay' in m)
    assert '4 layers' in table and '0.03125' in table


@pytest.mark.parametrize('paramwise, match', [
    (dict(), 'layer_decay_rate'),
    (dict(layer_decay_rate=1.5), r'\(0, 1\]'),
    (dict(layer_decay_rate=0.5, bias_lr_mult=2.), 'unknown paramwise_cfg keys'),
])
def test_bad_config(paramwise, match):
    with pytest.raises(ValueError, match=match):
        LayerDecayOptimWrapperConstructor(
            dict(optimizer=dict(type='AdamW', lr=LR, weight_decay=WD)), paramwise)


def test_wrong_prefix_and_too_small_num_layers():
    with pytest.raises(ValueError, match="'encoder.' names no submodule"):
        build(encoder_decoder(), backbone_prefix='encoder.')
    with pytest.raises(ValueError, match='num_layers=2'):
        build(encoder_decoder(), num_layers=2)
