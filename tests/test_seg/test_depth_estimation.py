"""Monocular depth estimation (mmseg ``DepthEstimator``): the depth heads, the ScanNet depth
dataset, the training target decoded once in the source's encoding (``LoadDepthFromFile`` +
``DepthToTarget``, also on NYUv2 and any frame list), mmseg's ``DepthMetric`` as the configs
set it, and every config of configs/benchmarks/depth/ trained and validated through the real
Runner and tools."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import glob
import logging
import os.path as osp
import re
import shutil
import sys

import cv2
import numpy as np
import pytest
import torch
from helpers.seg_data import REPO, shrink_seg_cfg
from helpers.tools import run, run_tool_main
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.structures import PixelData

CFG_DIR = osp.join(REPO, 'configs/benchmarks/depth')
CONFIGS = sorted(glob.glob(osp.join(CFG_DIR, '*.py')))
TINY_CFG = osp.join(CFG_DIR, 'upernet-depth_vit-tiny_synthetic-scannet.py')
NYU_CFG = osp.join(CFG_DIR, 'upernet-depth_vit-b_mask3d_nyuv2-416x544.py')
FRAMES_CFG = osp.join(CFG_DIR, 'upernet-depth_vit-b_mask3d_frames-240x320.py')
CROP = (96, 128)  # the 6x8 grid of the tiny Mask3D export
# one training per config family: each dataset's Mask3D config, the ImageNet route once and the
# tiny config; the other variants differ only in init_cfg and are built by test_variant_builds
TRAINED = [c for c in CONFIGS if '_mask3d_' in c or 'vit-tiny' in c
           or osp.basename(c) == 'upernet-depth_vit-b_in1k_scannet-240x320.py']
BUILT_ONLY = [c for c in CONFIGS if c not in TRAINED]


def _root(cfg, request) -> str:
    dataset_type = cfg.train_dataloader.dataset.type
    return request.getfixturevalue('tiny_nyuv2' if dataset_type == 'NYUDataset'  # mmseg's
                                   else 'synthetic_frames' if 'FrameList' in dataset_type
                                   else 'synthetic_scannet')


@pytest.fixture(scope='module')
def synthetic_frames(tmp_path_factory) -> str:
    """A frame list (train.txt: 1 scene, val.txt: 1 scene, 4 frames each) of uint16 mm depth,
    the generic depth config's default encoding (depth_scale=1000)."""
    from mask3d_mm.synthetic.frame_list import write_synthetic_frame_list
    root = str(tmp_path_factory.mktemp('frames') / 'mm')
    write_synthetic_frame_list(root, encoding='scannet', num_scenes=2, frames_per_scene=4)
    return root


def build(cfg_model: dict):
    from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(cfg_model)


def head(**kwargs):
    cfg = dict(type='mask3d_mm.DepthFCNHead', in_channels=8, channels=8, num_convs=1,
               concat_input=False, dropout_ratio=0.0, max_depth=10.0)
    cfg.update(kwargs)
    return build(cfg)


def samples(*depths: torch.Tensor, path: str = 'frame'):
    from mmseg.structures import SegDataSample
    out = []
    for i, d in enumerate(depths):
        s = SegDataSample(metainfo=dict(img_path=f'{path}{i}.jpg', depth_map_path=f'{path}{i}.png'))
        s.gt_depth_map = PixelData(data=d[None].float())
        out.append(s)
    return out


# ---- metric ------------------------------------------------------------------------------------
def depth_metric(path: str = NYU_CFG):
    from mmseg.registry import METRICS
    with DefaultScope.overwrite_default_scope('mmseg'):
        return METRICS.build(Config.fromfile(path).val_evaluator)


def evaluate(metric, gt: torch.Tensor, pred: torch.Tensor) -> dict:
    metric.results.clear()
    metric.process({}, [dict(pred_depth_map=dict(data=pred[None]),
                             gt_depth_map=dict(data=gt[None]))])
    return metric.compute_metrics(metric.results)


@pytest.fixture
def known_frame() -> torch.Tensor:
    """A 480x640 NYUv2 frame of known depth: a 0.5-9.5 m ramp with a hole (0)."""
    gt = torch.linspace(0.5, 9.5, 640)[None].repeat(480, 1)
    gt[200:240, 300:340] = 0
    return gt


def test_depth_metric_on_a_frame_of_known_depth(known_frame):
    metric = depth_metric()
    assert metric.crop_type == 'nyu_crop' and metric.max_depth_eval == 10.0
    exact = evaluate(metric, known_frame, known_frame.clone())
    assert exact['abs_rel'] == pytest.approx(0, abs=1e-7) and exact['rmse'] == pytest.approx(0)
    assert exact['d1'] == exact['d2'] == exact['d3'] == 1
    assert exact['log10'] == pytest.approx(0, abs=1e-7)

    scaled = evaluate(metric, known_frame, 1.1 * known_frame)
    assert scaled['abs_rel'] == pytest.approx(0.1, rel=1e-5)
    assert scaled['log10'] == pytest.approx(np.log10(1.1), rel=1e-4)
    assert scaled['d1'] == 1  # 1.1 < 1.25
    assert scaled['silog'] == pytest.approx(np.log(1.1) / np.sqrt(2), rel=1e-4)  # scale only
    inside = known_frame[45:471, 41:601]
    rmse = 0.1 * inside[inside > 0].pow(2).mean().sqrt()
    assert scaled['rmse'] == pytest.approx(rmse.item(), rel=1e-4)

    # the Eigen crop and the holes are not evaluated: garbage there changes nothing
    pred = known_frame.clone()
    pred[:45] = pred[:, :41] = 100.0
    pred[known_frame == 0] = 100.0
    assert evaluate(metric, known_frame, pred)['abs_rel'] == pytest.approx(0, abs=1e-7)
    pred[100, 100] = 2 * known_frame[100, 100]  # inside: seen
    assert evaluate(metric, known_frame, pred)['abs_rel'] > 0


def test_scannet_metric_has_no_crop():
    metric = depth_metric(TINY_CFG)
    assert metric.crop_type is None and metric.min_depth_eval == pytest.approx(1e-3)


# ---- heads -------------------------------------------------------------------------------------
def test_depth_head_predicts_metres_in_range():
    h = head().eval()
    out = h([torch.randn(2, 8, 6, 8) * 1e4])  # saturated: min_depth / max_depth, never 0
    assert out.shape == (2, 1, 6, 8)
    assert (out >= 1e-3).all() and (out <= 10).all() and out.min().item() == pytest.approx(1e-3)
    uper = build(dict(type='mask3d_mm.DepthUPerHead', in_channels=[8] * 4, in_index=[0, 1, 2, 3],
                      channels=8, max_depth=5.0)).eval()
    feats = [torch.randn(2, 8, 24 // s, 32 // s) for s in (1, 2, 4, 8)]
    out = uper(feats)
    assert out.shape == (2, 1, 24, 32) and (out < 5).all()
    pred = uper.predict(feats, [dict(img_shape=(96, 128), pad_shape=(96, 128))] * 2, None)
    assert pred.shape == (2, 1, 96, 128)


def test_depth_head_fixed_arguments():
    with pytest.raises(ValueError, match='num_classes'):
        head(num_classes=40)
    with pytest.raises(ValueError, match='max_depth'):
        head(max_depth=0)
    with pytest.raises(ValueError, match='min_depth'):
        head(min_depth=0)


def test_padding_and_far_depth_are_no_target():
    """SegDataPreProcessor pads gt_depth_map with seg_pad_val (255 by default): the loss must
    not learn 255 m there, nor beyond max_depth."""
    torch.manual_seed(0)
    h = head()
    feats = [torch.randn(2, 8, 12, 16)]
    gt = torch.rand(2, 48, 64) * 4 + 1
    logits = h(feats)
    ref = h.loss_by_feat(logits, samples(*gt))['loss_silog']
    padded = gt.clone()
    padded[:, 40:] = 255.0  # padding
    padded[:, :4] = 12.0  # beyond max_depth
    cut = gt.clone()
    cut[:, 40:] = 0
    cut[:, :4] = 0
    got = h.loss_by_feat(logits, samples(*padded))['loss_silog']
    assert torch.isclose(got, h.loss_by_feat(logits, samples(*cut))['loss_silog'])
    assert not torch.isclose(got, ref)


def test_sample_without_target_left_out_batch_without_any_raises():
    h = head()
    logits = h([torch.randn(2, 8, 12, 16)])
    good = torch.rand(48, 64) + 1
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    MMLogger.get_current_instance().addHandler(handler)
    try:
        loss = h.loss_by_feat(logits, samples(good, torch.zeros(48, 64)))['loss_silog']
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    assert torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in h.parameters() if p.grad is not None)
    assert any('frame1.png' in r.getMessage() for r in records)
    only = h.loss_by_feat(logits[:1], samples(good))['loss_silog']
    assert torch.isclose(loss, only)
    with pytest.raises(ValueError, match=r'no sample .* valid target.*frame0\.png'):
        h.loss_by_feat(logits, samples(torch.zeros(48, 64), torch.full((48, 64), 30.)))


# ---- ScanNet depth dataset ---------------------------------------------------------------------
def test_scannet_depth_dataset_pipeline(synthetic_scannet):
    from mmseg.registry import DATASETS
    cfg = Config.fromfile(TINY_CFG).val_dataloader.dataset
    cfg.update(data_root=synthetic_scannet, ann_file='', scenes=['scene0001_00'], frame_skip=1)
    with DefaultScope.overwrite_default_scope('mmseg'):
        ds = DATASETS.build(cfg)
    assert len(ds) == 4
    info = ds.get_data_info(0)
    assert info['depth_map_path'] == info['depth_path'] and info['seg_fields'] == []
    out = ds[0]
    raw = cv2.imread(info['depth_path'], cv2.IMREAD_UNCHANGED)
    sample = out['data_samples']
    gt = sample.gt_depth_map.data[0].numpy()
    assert raw.shape == (120, 160) and gt.shape == raw.shape  # the target at depth resolution
    assert np.allclose(gt, raw.astype(np.float32) / 1000)
    assert sample.ori_shape == raw.shape  # colour (240x320) aligned onto the depth grid
    assert out['inputs'].shape[1:] == CROP  # resized network input
    with pytest.raises(ValueError, match="'depth'"):
        with DefaultScope.overwrite_default_scope('mmseg'):
            DATASETS.build(dict(cfg, required=('color', )))


# ---- the target: one decode, the source's encoding ----------------------------------------------
def _dataset(path: str, split: str, **update):
    from mmseg.registry import DATASETS
    cfg = Config.fromfile(path)[f'{split}_dataloader'].dataset
    cfg.update(update)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return DATASETS.build(cfg)


def test_nyuv2_target_is_the_depth_file_in_metres(tiny_nyuv2):
    """mmseg's NYUDataset through the NYUv2 config's test pipeline: the target is the uint16 mm
    depth file / 1000, read once by LoadDepthFromFile (from mmseg's depth_map_path)."""
    ds = _dataset(NYU_CFG, 'val', data_root=tiny_nyuv2)
    names = [type(t).__name__ for t in ds.pipeline.transforms]
    assert names == ['LoadImageFromFile', 'LoadDepthFromFile', 'DepthToTarget', 'PackSegInputs']
    info = ds.get_data_info(0)
    raw = cv2.imread(info['depth_map_path'], cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16
    gt = ds[0]['data_samples'].gt_depth_map.data[0].numpy()
    expected = raw.astype(np.float32) / 1000
    expected[expected > 10] = 0  # beyond max_depth: no target
    assert np.allclose(gt, expected) and (gt > 0).any()


def test_nyuv2_8bit_depth_is_an_error_naming_the_file(tiny_nyuv2, tmp_path):
    """A copy of the NYUv2 layout whose depth PNGs were saved as 8 bits: mmseg's
    LoadDepthAnnotation read it as 0.02-0.24 m without a word; now training stops at the first
    such file, naming it, and tools/misc/verify_dataset.py lists every one."""
    root = str(tmp_path / 'nyuv2')
    shutil.copytree(tiny_nyuv2, root)
    depth_dir = osp.join(root, 'depth', 'train')
    bad = sorted(glob.glob(osp.join(depth_dir, '*.png')))
    for path in bad:
        mm = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        cv2.imwrite(path, np.clip(mm // 40, 0, 255).astype(np.uint8))  # a visualisation
    ds = _dataset(NYU_CFG, 'train', data_root=root)
    with pytest.raises(ValueError, match=re.escape(f'depth file {bad[0]} is an 8-bit image')):
        ds[0]
    out = tmp_path / 'bad.txt'
    with pytest.raises(SystemExit) as exit_info:
        run_tool_main('misc/verify_dataset', NYU_CFG, '--out-path', str(out), '--cfg-options',
                      f'train_dataloader.dataset.data_root={root}')
    assert exit_info.value.code == 1
    lines = out.read_text().splitlines()
    assert len(lines) == len(bad) and all(f'depth file {p} is an 8-bit image' in line
                                          for p, line in zip(bad, lines)), lines


def test_depth_to_target_moves_the_decoded_depth():
    from mask3d_mm.datasets.transforms import DepthToTarget
    depth = np.full((4, 6), 2.5, np.float32)
    out = DepthToTarget()(dict(depth=depth, seg_fields=['gt_seg_map']))
    assert out['gt_depth_map'] is depth and 'depth' not in out  # no stale copy left behind
    assert out['seg_fields'] == ['gt_seg_map', 'gt_depth_map']
    assert out['depth_rescale_factor'] == 1.0
    assert DepthToTarget()(dict(depth=depth))['seg_fields'] == ['gt_depth_map']
    with pytest.raises(KeyError, match='LoadDepthFromFile before it.*a.jpg'):
        DepthToTarget()(dict(img_path='a.jpg'))


def test_frame_list_target_follows_the_encoding(tmp_path):
    """The generic depth config on a frame list written at TUM's scale: depth_scale=5000 gives
    the target in metres (the file / 5000), the same scene as the millimetre files."""
    from mask3d_mm.synthetic.frame_list import write_synthetic_frame_list
    roots = {}
    for name, encoding in (('tum', 'tum'), ('mm', 'scannet')):
        roots[name] = str(tmp_path / name)
        write_synthetic_frame_list(roots[name], encoding=encoding, num_scenes=2,
                                   frames_per_scene=2)
    tum = _dataset(FRAMES_CFG, 'val', data_root=roots['tum'], depth_scale=5000.0)
    mm = _dataset(FRAMES_CFG, 'val', data_root=roots['mm'])
    info = tum.get_data_info(0)
    assert info['depth_encoding'] == 'scale:5000'
    raw = cv2.imread(info['depth_path'], cv2.IMREAD_UNCHANGED)
    gt = tum[0]['data_samples'].gt_depth_map.data[0].numpy()
    assert np.allclose(gt, raw.astype(np.float32) / 5000)
    assert np.allclose(gt, mm[0]['data_samples'].gt_depth_map.data[0].numpy(), atol=1e-3)


# ---- the Mask3D export -------------------------------------------------------------------------
@pytest.mark.slow
def test_mask3d_export_loads_into_the_tiny_depth_config(mask3d_export):
    cfg = Config.fromfile(TINY_CFG)
    cfg.model.backbone.init_cfg.checkpoint = mask3d_export
    model = build(cfg.model)
    state = torch.load(mask3d_export, weights_only=True)['state_dict']
    report = model.backbone.load_state_dict(state, strict=False)
    assert report.missing_keys == [] and report.unexpected_keys == []
    model.init_weights()
    loaded = model.backbone.state_dict()
    assert all(torch.equal(loaded[k], state[k]) for k in state)


# ---- configs through the Runner ----------------------------------------------------------------
def test_config_set():
    names = {osp.basename(c) for c in CONFIGS}
    for init in ('mask3d', 'in1k', 'scratch'):
        for data in ('nyuv2-416x544', 'scannet-240x320'):
            assert f'upernet-depth_vit-b_{init}_{data}.py' in names
    assert 'upernet-depth_vit-tiny_synthetic-scannet.py' in names
    assert 'upernet-depth_vit-b_mask3d_frames-240x320.py' in names  # any RGB-D collection


@pytest.mark.parametrize('path', BUILT_ONLY, ids=osp.basename)
def test_variant_builds(path, request, tmp_path):
    """The variants not trained build their Runner and model (shrunk as the trained ones)."""
    cfg = Config.fromfile(path)
    runner = Runner.from_cfg(shrink_seg_cfg(cfg, _root(cfg, request), None, str(tmp_path),
                                            crop=(64, 96), resize=False))
    assert runner.model.decode_head is not None


@pytest.mark.parametrize('path', TRAINED, ids=osp.basename)
@pytest.mark.slow
def test_config_trains_and_validates(path, request, tmp_path, mask3d_export, in1k_checkpoint):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg' and 'mask3d_mm' in cfg.custom_imports.imports
    assert cfg.model.type == 'DepthEstimator' and cfg.model.pretrained is None
    assert cfg.model.data_preprocessor.seg_pad_val == 0
    assert tuple(cfg.model.backbone.img_size) == tuple(cfg.model.data_preprocessor.size)
    root = _root(cfg, request)
    init = cfg.model.backbone.init_cfg
    ckpt = None if init is None else in1k_checkpoint if 'prefix' in init else mask3d_export
    runner = Runner.from_cfg(shrink_seg_cfg(cfg, root, ckpt, str(tmp_path), crop=(64, 96),
                                                resize=False))  # smaller than the padded input
    runner.train()
    losses = np.array(runner.message_hub.get_scalar('train/loss').data[0])
    assert len(losses) == 2 and np.isfinite(losses).all()
    hub = runner.message_hub
    for key in ('abs_rel', 'rmse', 'log10', 'd1', 'd2', 'd3'):
        assert np.isfinite(hub.get_scalar(f'val/{key}').current()), key
    assert 0 <= hub.get_scalar('val/d1').current() <= 1
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        log = f.read()
    if ckpt is not None:
        assert 'missing keys' not in log and 'unexpected key' not in log
        assert 'do not match exactly' not in log


@pytest.mark.slow
def test_tiny_config_through_the_tools(synthetic_scannet, mask3d_export, tmp_path):
    """The documented path: tools/train.py CONFIG shrunk by MASK3D_MM_CFG_OPTIONS, then
    tools/test.py CONFIG CHECKPOINT."""
    data = ' '.join(f'{s}_dataloader.dataset.data_root={synthetic_scannet} '
                    f'{s}_dataloader.num_workers=0 {s}_dataloader.dataset.ann_file= '
                    f'{s}_dataloader.dataset.scenes=[{scene}]'
                    for s, scene in (('train', 'scene0000_00'), ('val', 'scene0001_00'),
                                     ('test', 'scene0001_00')))  # the fixture has no lists
    shrink_opts = (f'{data} train_cfg.max_iters=2 train_cfg.val_interval=2 '
                   'default_hooks.checkpoint.interval=2 train_dataloader.batch_size=2 '
                   'val_dataloader.dataset.frame_skip=2 test_dataloader.dataset.frame_skip=2 '
                   f'model.backbone.init_cfg.checkpoint={mask3d_export}')
    work = str(tmp_path / 'work')
    proc = run([sys.executable, 'tools/train.py', TINY_CFG, '--work-dir', work],
               MASK3D_MM_CFG_OPTIONS=shrink_opts)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'Iter(val) [' in out and re.search(r'abs_rel: \d', out)
    assert 'missing keys' not in out and f'from path: {mask3d_export}' in out
    with open(osp.join(work, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    proc = run([sys.executable, 'tools/test.py', TINY_CFG, ckpt, '--work-dir', work],
               MASK3D_MM_CFG_OPTIONS=shrink_opts)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert re.search(r'Iter\(test\) \[\d+/\d+\].*abs_rel: \d.*rmse: \d', out)
