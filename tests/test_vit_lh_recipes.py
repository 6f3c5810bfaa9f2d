"""The ViT-L/16 and ViT-H/14 recipes: pre-training configs (sizes, the one ``with_cp`` and
``patch_size`` variables, the export loading strictly into mmpretrain's ``VisionTransformer``
of the same arch), the ViT-L fine-tuning configs (24-block layer decay, out_indices, neck
channels), and a shrunk ``tools/train.py`` run + export of each pre-training config."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import glob
import os.path as osp
import shlex

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmpretrain.models import VisionTransformer

from helpers.tools import REPO, run_tool_main
from mask3d_mm.models.export import extract_rgb_encoder

PRETRAIN = {
    'l': osp.join(REPO, 'configs/mask3d/vit-l_scannet.py'),
    'h': osp.join(REPO, 'configs/mask3d/vit-h_scannet.py'),
}
# arch -> (embed_dims, blocks, patch size, 224 crop grid)
ARCHS = {'l': (1024, 24, 16, 14), 'h': (1280, 32, 14, 16)}
SEG_L = sorted(glob.glob(osp.join(REPO, 'configs/benchmarks/mmseg/upernet_vit-l_*.py')))
DET_L = sorted(glob.glob(osp.join(REPO, 'configs/benchmarks/mmdet/mask-rcnn_vit-l_*.py')))
ENV = 'MASK3D_MM_CFG_OPTIONS'


def _build(cfg: Config, scope: str):
    from mmengine.registry import MODELS
    with DefaultScope.overwrite_default_scope(scope):
        with MODELS.switch_scope_and_registry(scope) as registry:
            return registry.build(cfg.model)


@pytest.mark.parametrize('arch', ['l', 'h'])  # 4 s / 7 s on 2 CPU cores (ViT-H: 660 M parameters)
def test_pretrain_config_sizes_and_strict_export(arch):
    """Built as configured (random init): ViT-L/H colour encoder, the ViT-B recipe's depth
    encoder (256 x 4) and decoder (512 x 8) fed by the encoder's width, every patch-size reader
    at the config's one ``patch_size``, ``with_cp`` off everywhere; the exported encoder loads
    with ``strict=True`` into ``VisionTransformer(arch=arch, patch_size=p)``."""
    dims, blocks, patch, grid = ARCHS[arch]
    cfg = Config.fromfile(PRETRAIN[arch])
    assert cfg.patch_size == patch and tuple(cfg.crop_size) == (224, 224)
    assert cfg.with_cp is False
    for part in ('backbone', 'depth_encoder', 'neck'):
        assert cfg.model[part].with_cp is False, part
    model = _build(cfg, cfg.default_scope)
    vit = model.backbone
    assert (vit.embed_dims, vit.num_layers, vit.patch_size) == (dims, blocks, (patch, patch))
    assert tuple(vit.patch_resolution) == (grid, grid)
    assert model.depth_encoder.patch_size == (patch, patch)
    assert (model.depth_encoder.embed_dims, len(model.depth_encoder.layers)) == (256, 4)
    assert model.neck.rgb_embed.in_features == dims
    assert (model.neck.embed_dims, len(model.neck.decoder_blocks)) == (512, 8)
    assert model.neck.decoder_pred.out_features == patch * patch
    assert model.head.patch_size == patch

    state = extract_rgb_encoder(model.state_dict())
    with torch.device('meta'):  # the target's own init would cost seconds: names and shapes
        target = VisionTransformer(arch=arch, img_size=224, patch_size=patch)
    target.load_state_dict(state, strict=True, assign=True)  # keys and shapes checked
    last = target.layers[blocks - 1].ffn.layers[1].weight
    assert last.device.type == 'cpu' and torch.equal(last, vit.layers[-1].ffn.layers[1].weight)
    assert sum(v.numel() for v in state.values()) == sum(
        p.numel() for p in target.state_dict().values())


@pytest.mark.slow  # ~15 s: a full-size ViT-L UperNet
@pytest.mark.parametrize('path', SEG_L, ids=osp.basename)
def test_vit_l_seg_configs(path):
    """UperNet on ViT-L: 4 maps of 1024 channels from blocks 6, 12, 18, 24 through the
    neck to the heads (a forward at 64x64), and the layer decay over 24 blocks."""
    assert len(SEG_L) == 2
    cfg = Config.fromfile(path)
    b = cfg.model.backbone
    assert b.arch == 'l' and tuple(b.out_indices) == (5, 11, 17, 23)
    assert b.init_cfg.checkpoint == 'checkpoints/mask3d_vit-l_scannet.pth'
    b.init_cfg = None
    import mmseg.models  # noqa: F401
    model = _build(cfg, 'mmseg').eval()
    assert model.backbone.num_layers == 24 and model.backbone.embed_dims == 1024
    with torch.no_grad():
        feats = model.backbone(torch.zeros(1, 3, 64, 64))
        assert [tuple(f.shape) for f in feats] == [(1, 1024, 4, 4)] * 4
        maps = model.neck(feats)
        assert [tuple(m.shape) for m in maps] == [(1, 1024, s, s) for s in (16, 8, 4, 2)]
        logits = model.decode_head(maps)
    assert logits.shape[1] == cfg.num_classes
    _check_layer_decay(model, cfg, top_module=model.decode_head.conv_seg.weight)


@pytest.mark.slow  # ~15 s: a full-size ViT-L Mask R-CNN
@pytest.mark.parametrize('path', DET_L, ids=osp.basename)
def test_vit_l_det_config(path):
    """Mask R-CNN on ViT-L: the last of 24 blocks feeds SimpleFPN (1024 in), layer decay over
    24 blocks."""
    assert len(DET_L) == 1
    cfg = Config.fromfile(path)
    b = cfg.model.backbone
    assert b.arch == 'l' and tuple(b.out_indices) == (23, )
    assert b.init_cfg.checkpoint == 'checkpoints/mask3d_vit-l_scannet.pth'
    assert cfg.optim_wrapper.paramwise_cfg.num_layers == 24
    b.init_cfg = None
    import mmdet.models  # noqa: F401
    model = _build(cfg, 'mmdet').eval()
    assert model.neck.in_channels == model.backbone.embed_dims == 1024
    with torch.no_grad():
        maps = model.neck(model.backbone(torch.zeros(1, 3, 64, 64)))
    assert [tuple(m.shape[1:]) for m in maps] == [(256, s, s) for s in (16, 8, 4, 2, 1)]
    _check_layer_decay(model, cfg, top_module=model.roi_head.bbox_head.fc_cls.weight)


def _check_layer_decay(model, cfg: Config, top_module: torch.Tensor) -> None:
    """lr of block i (1..24) = lr * rate ** (25 - i); the embedding at lr * rate ** 25."""
    optim_cfg = cfg.optim_wrapper.copy()
    optim_cfg.pop('loss_scale', None)
    optim_cfg.type = 'OptimWrapper'  # AMP needs a GPU; the same constructor
    optimizer = build_optim_wrapper(model, optim_cfg).optimizer
    lr = {id(p): g['lr'] for g in optimizer.param_groups for p in g['params']}
    base, rate = cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    vit = model.backbone
    assert lr[id(top_module)] == pytest.approx(base)
    assert lr[id(vit.patch_embed.projection.weight)] == pytest.approx(base * rate**25)
    for i in (0, 11, 23):
        assert lr[id(vit.layers[i].attn.qkv.weight)] == pytest.approx(base * rate**(24 - i))


# (arch, crop): the crop a multiple of the patch (64 = 4 x 16, 56 = 4 x 14)
@pytest.mark.slow
@pytest.mark.parametrize('arch, crop', [('l', 64), ('h', 56)])
def test_train_tool_shrunk_and_export(arch, crop, synthetic_scannet, tmp_path, monkeypatch):
    """``tools/train.py`` on the L / H recipe shrunk by ``MASK3D_MM_CFG_OPTIONS`` (2-block
    ViT of the arch's patch size, activation checkpointing on, 2 iterations + validation on
    the synthetic set), then ``export_rgb_encoder.py``: the export loads strictly into the
    shrunk ``VisionTransformer`` and has exactly the key names of the full arch's first two
    blocks."""
    _, _, patch, _ = ARCHS[arch]
    config = PRETRAIN[arch]
    tiny = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)
    opts = {'model.backbone.arch._delete_': True,
            **{f'model.backbone.arch.{k}': v for k, v in tiny.items()},
            'model.neck.in_channels': 64, 'model.neck.depth_in_channels': 32,
            'model.backbone.img_size': (crop, crop), 'model.depth_encoder.img_size': (crop, crop),
            'model.depth_encoder.embed_dims': 32, 'model.depth_encoder.num_layers': 1,
            'model.depth_encoder.num_heads': 2, 'model.neck.embed_dims': 32,
            'model.neck.num_layers': 1, 'model.neck.num_heads': 2,
            'train_dataloader.dataset.pipeline.3.scale': (crop, crop),
            'val_dataloader.dataset.pipeline.3.scale': (crop, crop),
            'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1,
            'optim_wrapper.type': 'OptimWrapper'}
    for part in ('backbone', 'depth_encoder', 'neck'):
        opts[f'model.{part}.with_cp'] = True
    for split in ('train', 'val'):
        opts.update({f'{split}_dataloader.dataset.data_root': synthetic_scannet,
                     f'{split}_dataloader.dataset.ann_file': '',
                     f'{split}_dataloader.batch_size': 4,
                     f'{split}_dataloader.num_workers': 0,
                     f'{split}_dataloader.persistent_workers': False})
    opts['val_dataloader.dataset.frame_skip'] = 2
    monkeypatch.setenv(ENV, ' '.join(shlex.quote(f'{k}={v}') for k, v in opts.items()))
    work_dir = str(tmp_path / 'work')
    run_tool_main('train', config, '--work-dir', work_dir)
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    logs = glob.glob(osp.join(work_dir, '*', '*.log'))
    log = open(logs[0]).read()
    assert 'Epoch(train) [1][2/2]' in log and 'depth/masked/abs_rel' in log
    dumped = Config.fromfile(osp.join(work_dir, osp.basename(config)))
    assert dumped.model.backbone.with_cp and dumped.model.neck.with_cp
    assert {t.patch_size for t in dumped.train_dataloader.dataset.pipeline
            if 'patch_size' in t} == {patch}

    out = str(tmp_path / f'mask3d_vit-{arch}_tiny.pth')
    run_tool_main('model_converters/export_rgb_encoder', ckpt, out)
    state = torch.load(out, weights_only=True)['state_dict']
    VisionTransformer(arch=tiny, img_size=crop, patch_size=patch).load_state_dict(
        state, strict=True)
    with torch.device('meta'):  # names only: no 300-600 M parameters allocated
        full = VisionTransformer(arch=arch, img_size=224, patch_size=patch).state_dict()
    first_two = {k for k in full if not k.startswith('layers.') or int(k.split('.')[1]) < 2}
    assert set(state) == first_two



@pytest.mark.slow
@pytest.mark.parametrize('path', [p for p in SEG_L if 'scannet20' in p], ids=osp.basename)
def test_vit_l_seg_config_trains(path, synthetic_scannet, tmp_path):
    """``tools/train.py`` fine-tunes the ViT-L UperNet ScanNet-20 config 2 iterations on the
    synthetic set (the NYUv2 one has the same model and ViT-B's NYUv2 data, trained in
    tests/test_seg), its ViT narrowed to 32 channels but kept at 24 blocks, so that its out_indices and the
    layer decay over 24 blocks run through the Runner as configured; random init (the export is
    tested above). Mask R-CNN on ViT-L is built at full size (test_vit_l_det_config)."""
    from helpers.seg_data import shrink_seg_cfg
    cfg = Config.fromfile(path)
    out_indices = tuple(cfg.model.backbone.out_indices)
    work_dir = str(tmp_path / 'work')
    cfg = shrink_seg_cfg(cfg, synthetic_scannet, None, work_dir)
    m = cfg.model
    m.backbone.update(arch=dict(embed_dims=32, num_layers=24, num_heads=2,
                                feedforward_channels=64), out_indices=out_indices, init_cfg=None)
    m.neck.update(in_channels=[32] * 4, out_channels=32)
    m.decode_head.in_channels = [32] * 4
    m.auxiliary_head.in_channels = 32
    config = str(tmp_path / osp.basename(path))
    cfg.dump(config)
    run_tool_main('train', config, '--work-dir', work_dir)
    log = open(glob.glob(osp.join(work_dir, '*', '*.log'))[0]).read()
    assert 'layer-wise lr decay: rate' in log and 'Iter(train) [2/2]' in log
    assert 'mIoU' in log
