"""Every mmseg benchmark config trains 2 iterations and validates once through the real Runner
(ViT-B configs shrunk to the tiny ViT of the Mask3D synthetic config), loading its weights."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import glob
import os.path as osp
import re

import numpy as np
import pytest
import torch
from helpers.seg_data import REPO, shrink_seg_cfg as shrink
from helpers.tools import capture_log
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

CFG_DIR = osp.join(REPO, 'configs/benchmarks/mmseg')
CONFIGS = sorted(glob.glob(osp.join(CFG_DIR, '*.py')))
TINY_CFG = osp.join(CFG_DIR, 'upernet_vit-tiny_synthetic-scannet20.py')
# one training per config family: each dataset's Mask3D config, the ImageNet route (a prefixed,
# resized checkpoint) once and the tiny config; the other variants differ only in init_cfg
# (test_config_contents) and are built by test_variant_builds
# (the ViT-L configs differ from ViT-B only in the model, which the shrink replaces: built only;
# tests/test_vit_lh_recipes.py builds them at full size)
TRAINED = [c for c in CONFIGS if ('_mask3d_' in c and 'vit-l_' not in c) or 'vit-tiny' in c
           or osp.basename(c) == 'upernet_vit-b_in1k_scannet20-240x320.py']
BUILT_ONLY = [c for c in CONFIGS if c not in TRAINED]
TINY_ARCH = dict(embed_dims=128, num_layers=4, num_heads=4, feedforward_channels=512)
CROP = (96, 128)  # the grid of the Mask3D export (6x8): mmpretrain resizes only square grids


def test_config_set():
    names = {osp.basename(c) for c in CONFIGS}
    for data in ('scannet20-240x320', 'nyuv2-40-480x640', 'cityscapes-512x1024'):
        for init in ('mask3d', 'in1k', 'scratch'):
            assert f'upernet_vit-b_{init}_{data}.py' in names
    assert 'upernet_vit-tiny_synthetic-scannet20.py' in names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_contents(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg' and 'mask3d_mm' in cfg.custom_imports.imports
    assert cfg.model.pretrained is None
    b = cfg.model.backbone
    assert b.type == 'mmpretrain.VisionTransformer' and b.out_type == 'featmap'
    assert tuple(b.img_size) == tuple(cfg.model.data_preprocessor.size)
    assert cfg.optim_wrapper.constructor == 'mask3d_mm.LayerDecayOptimWrapperConstructor'
    name = osp.basename(path)
    if '_scratch_' in name:
        assert b.init_cfg is None
    elif '_in1k_' in name:
        assert b.init_cfg.type == 'Pretrained' and b.init_cfg.prefix == 'backbone.'
    else:
        assert b.init_cfg.type == 'Pretrained' and 'prefix' not in b.init_cfg
        assert b.init_cfg.checkpoint.startswith('checkpoints/mask3d_vit-')
    if 'vit-b' in name:
        assert b.arch == 'b' and tuple(b.out_indices) == (2, 5, 8, 11)
    elif 'vit-l' in name:  # every 6th of 24 blocks, 1024 channels from the maps to the heads
        assert b.arch == 'l' and tuple(b.out_indices) == (5, 11, 17, 23)
        assert cfg.model.neck.in_channels == [1024] * 4 == cfg.model.decode_head.in_channels
        assert cfg.model.neck.out_channels == cfg.model.auxiliary_head.in_channels == 1024
    else:
        assert b.arch == TINY_ARCH and tuple(b.img_size) == CROP


@pytest.mark.parametrize('path', BUILT_ONLY, ids=osp.basename)
def test_variant_builds(path, request, tmp_path):
    """The variants not trained build their Runner and model (shrunk as the trained ones)."""
    cfg = Config.fromfile(path)
    dataset = cfg.train_dataloader.dataset.type
    root = request.getfixturevalue({'mask3d_mm.ScanNetSegDataset': 'synthetic_scannet',
                                    'mask3d_mm.NYUv2SegDataset': 'tiny_nyuv2',
                                    'CityscapesDataset': 'tiny_cityscapes'}[dataset])
    runner = Runner.from_cfg(shrink(cfg, root, None, str(tmp_path)))
    assert runner.model.backbone.patch_embed is not None


@pytest.mark.parametrize('path', TRAINED, ids=osp.basename)
@pytest.mark.slow
def test_trains_and_validates(path, request, tmp_path, mask3d_export, in1k_checkpoint):
    cfg = Config.fromfile(path)
    dataset = cfg.train_dataloader.dataset.type
    root = request.getfixturevalue({'mask3d_mm.ScanNetSegDataset': 'synthetic_scannet',
                                    'mask3d_mm.NYUv2SegDataset': 'tiny_nyuv2',
                                    'CityscapesDataset': 'tiny_cityscapes'}[dataset])
    init = cfg.model.backbone.init_cfg
    ckpt = None if init is None else in1k_checkpoint if 'prefix' in init else mask3d_export
    cfg = shrink(cfg, root, ckpt, str(tmp_path))
    runner = Runner.from_cfg(cfg)
    runner.train()

    losses = np.array(runner.message_hub.get_scalar('train/loss').data[0])
    assert len(losses) == 2 and np.isfinite(losses).all()
    miou = runner.message_hub.get_scalar('val/mIoU').current()
    assert 0 <= miou <= 100
    num_classes = {'mask3d_mm.ScanNetSegDataset': 20, 'mask3d_mm.NYUv2SegDataset': 40,
                   'CityscapesDataset': 19}[dataset]
    assert runner.model.decode_head.num_classes == num_classes
    assert len(runner.val_dataloader.dataset.metainfo['classes']) == num_classes

    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        log = f.read()
    if ckpt is None:
        assert 'PretrainedInit' not in log and 'Loads checkpoint' not in log
    else:  # the load report: every key matched
        loaded = (r'Loads checkpoint by \w+ backend from path: ' if ckpt == mask3d_export else
                  r'load backbone\. in model from: ')  # in1k: the 'backbone.' keys only
        assert re.search(loaded + re.escape(ckpt), log)
        if ckpt == in1k_checkpoint:  # a square 4x4 grid resized to the 6x8 of 96x128 inputs
            assert 'Resize the pos_embed shape from torch.Size([1, 17, 128])' in log
        assert 'missing keys' not in log and 'unexpected key' not in log
        assert 'do not match exactly' not in log
    assert 'layer-wise lr decay: rate' in log

    # layer-wise lr decay as configured: rate ** (5 - layer id) relative to the heads
    rate = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    initial = {id(p): g['initial_lr'] for g in runner.optim_wrapper.optimizer.param_groups
               for p in g['params']}
    model = runner.model
    head = initial[id(model.decode_head.conv_seg.weight)]
    assert head == pytest.approx(cfg.optim_wrapper.optimizer.lr)
    assert initial[id(model.backbone.patch_embed.projection.weight)] == \
        pytest.approx(head * rate**5)
    for i in range(4):
        assert initial[id(model.backbone.layers[i].attn.qkv.weight)] == \
            pytest.approx(head * rate**(4 - i))


def build_tiny(checkpoint: str):
    from mmseg.registry import MODELS
    cfg = Config.fromfile(TINY_CFG)
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(cfg.model)


@pytest.mark.slow
def test_mask3d_export_loads_into_tiny_config_exactly(mask3d_export, tmp_path):
    state = torch.load(mask3d_export, weights_only=True)['state_dict']
    model = build_tiny(mask3d_export)
    report = model.backbone.load_state_dict(state, strict=False)
    assert report.missing_keys == [] and report.unexpected_keys == []

    model = build_tiny(mask3d_export)  # through init_cfg, as the Runner does
    log = capture_log(model.init_weights)
    assert f'from path: {mask3d_export}' in log and 'do not match exactly' not in log
    loaded = model.backbone.state_dict()
    assert set(loaded) == set(state)
    assert all(torch.equal(loaded[k], state[k]) for k in state)

    # the same check catches a checkpoint that does not fit
    bad = dict(state)
    bad.pop('layers.3.ffn.layers.1.weight')
    bad['decoder.weight'] = torch.zeros(1)
    torch.save(dict(state_dict=bad), tmp_path / 'bad.pth')
    log = capture_log(build_tiny(str(tmp_path / 'bad.pth')).init_weights)
    assert 'missing keys in source state_dict: layers.3.ffn.layers.1.weight' in log
    assert 'unexpected key in source state_dict: decoder.weight' in log

