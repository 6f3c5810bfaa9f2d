"""Mixtures of RGB-D sources (configs/mask3d/vit-tiny_synthetic-mixed.py,
configs/mask3d/vit-b_mixed-rgbd.py): mmengine's ConcatDataset + mmdet's MultiSourceSampler,
each batch composed by the sources' ratios, the frames per source in the log
(mask3d_mm.SourceCountHook), and an exact ``--resume``.

The tiny mixture runs as documented: its data step (the synthetic ScanNet-format set and two
frame lists in other depth encodings) in a folder the config's relative ``data/...`` roots
point into, then ``python tools/train.py CONFIG``, shrunk only through
``MASK3D_MM_CFG_OPTIONS``.
"""
import json
import logging
import os
import os.path as osp
import re
import subprocess
import sys
from collections import Counter
from types import SimpleNamespace
from typing import Dict, List

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import LoggerHook
from mmengine.logging import MMLogger
from mmengine.registry import DATASETS, DefaultScope
from mmengine.runner import Runner

from mask3d_mm.compat import load_local_checkpoint
from mask3d_mm.engine.hooks import SourceCountHook
from mask3d_mm.engine.hooks.source_count_hook import format_counts
from mask3d_mm.tooling import read_scalars

from helpers.fork_server import interpreter
from helpers.tools import REPO, finish_runs, start_train, tool_env

TINY_MIXED = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic-mixed.py')
VIT_B_MIXED = osp.join(REPO, 'configs/mask3d/vit-b_mixed-rgbd.py')


@pytest.fixture(scope='module')
def mixture_root(tmp_path_factory) -> str:
    """A folder whose ``data/`` holds the tiny mixture's three sources, as its data step
    writes them (smaller): the ScanNet-format set (2 scenes x 4 frames, 1 for training) and
    frame lists of 6 frames with TUM-scaled and float depth."""
    from mask3d_mm.synthetic import generate_scannet_scenes, write_scene_splits
    from mask3d_mm.synthetic.frame_list import write_synthetic_frame_list
    root = tmp_path_factory.mktemp('mixture')
    data = root / 'data'
    scannet = str(data / 'synthetic_scannet')
    write_scene_splits(scannet, generate_scannet_scenes(
        scannet, num_scenes=2, frames_per_scene=4, height=120, width=160, seed=0))
    for name, encoding, seed in (('tum', 'tum', 1), ('npy', 'float_m', 2)):
        write_synthetic_frame_list(str(data / f'synthetic_frames_{name}'), encoding=encoding,
                                   num_scenes=1, frames_per_scene=6, seed=seed)
    return str(root)


def _loader(cfg: Config, root: str, monkeypatch, batch_size: int = 4,
            sampler_batch_size: int = None):
    """The tiny mixture's training loader, built as the Runner builds it (no workers)."""
    monkeypatch.chdir(root)  # the config's data roots are relative, as documented
    dl = cfg.train_dataloader.copy()
    dl.update(batch_size=batch_size, num_workers=0, persistent_workers=False)
    dl.sampler = dict(dl.sampler, batch_size=sampler_batch_size or batch_size)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return Runner.build_dataloader(dl, seed=0)


def _runner(loader, iteration: int = 0, max_iters: int = 100) -> SimpleNamespace:
    """What SourceCountHook reads of a Runner."""
    return SimpleNamespace(train_dataloader=loader, logger=MMLogger.get_current_instance(),
                           hooks=[LoggerHook(interval=2)], iter=iteration, max_iters=max_iters)


def _log_lines(run) -> List[str]:
    records = []
    logger = MMLogger.get_current_instance()
    handler = logging.Handler()
    handler.emit = lambda r: records.append(r.getMessage())
    logger.addHandler(handler)
    try:
        run()
    finally:
        logger.removeHandler(handler)
    return records


def test_format_counts():
    assert format_counts(dict(b=1, a=3), order=['b', 'c']) == 'b 1 (25.0%), c 0 (0.0%), a 3 (75.0%)'


def test_batches_follow_the_source_ratio(mixture_root, monkeypatch):
    """Each batch of 4 holds 2 + 1 + 1 frames of the three sources (source_ratio 8:4:4), each
    frame decoded in its own encoding; the hook logs the composition and counts them."""
    cfg = Config.fromfile(TINY_MIXED)
    assert cfg.train_dataloader.sampler.source_ratio == [8, 4, 4]
    loader = _loader(cfg, mixture_root, monkeypatch)
    hook = SourceCountHook()
    runner = _runner(loader)
    lines = _log_lines(lambda: hook.before_train(runner))
    assert hook.order == ['scannet', 'tum', 'npy'] and hook.interval == 2
    assert ('MultiSourceSampler: each batch of 4 frames per process draws scannet 2 (50.0%), '
            'tum 1 (25.0%), npy 1 (25.0%) (source_ratio=[8, 4, 4])') in lines
    batches = []
    it = iter(loader)
    for i in range(5):  # 20 frames: more than the 8 + 6 + 6 of the sources (they repeat)
        batch = next(it)
        batches.append([s.source for s in batch['data_samples']])
        runner.iter = i
        lines = _log_lines(lambda: hook.after_train_iter(runner, i, batch))
        for sample in batch['data_samples']:  # metres whatever the encoding
            depth = sample.depth[sample.depth > 0]
            assert 0.3 < float(depth.median()) < 8, (sample.source, sample.depth_path)
    assert all(Counter(b) == Counter(scannet=2, tum=1, npy=1) for b in batches), batches
    assert lines == []  # iteration 5: not a logging iteration (every 2)
    assert hook.total + hook.window == Counter(scannet=10, tum=5, npy=5)
    assert [line for line in _log_lines(lambda: hook._log(runner))] == [
        'frames per source, iterations 5-5: scannet 2 (50.0%), tum 1 (25.0%), npy 1 (25.0%); in '
        'total (5 iterations): scannet 10 (50.0%), tum 5 (25.0%), npy 5 (25.0%)']


def test_sampler_and_loader_must_agree(mixture_root, monkeypatch):
    cfg = Config.fromfile(TINY_MIXED)
    hook = SourceCountHook()
    loader = _loader(cfg, mixture_root, monkeypatch, batch_size=4, sampler_batch_size=8)
    with pytest.raises(ValueError, match=r'train_dataloader.batch_size=4 but '
                       r'train_dataloader.sampler.batch_size=8'):
        hook.before_train(_runner(loader))
    loader = _loader(cfg, mixture_root, monkeypatch, batch_size=2)  # 8:4:4 of 2 = 2, 0, 0
    with pytest.raises(ValueError, match=r'gives tum, npy 0 frames in a batch of 2'):
        hook.before_train(_runner(loader))


def test_samples_without_source_are_refused(mixture_root, monkeypatch):
    cfg = Config.fromfile(TINY_MIXED)
    for ds in cfg.train_dataloader.dataset.datasets:
        ds.pipeline[-1].meta_keys = ('img_path', 'depth_path')
    loader = _loader(cfg, mixture_root, monkeypatch)
    hook = SourceCountHook()
    runner = _runner(loader)
    hook.before_train(runner)
    with pytest.raises(ValueError, match="carry no 'source'.*meta_keys"):
        hook.after_train_iter(runner, 0, next(iter(loader)))


def test_vit_b_mixture_builds_its_datasets_lazily():
    """The recipe's mixture parses and builds its six readers and the ConcatDataset without
    reading a data root (lazy_init); its sampler composes batches of 64 exactly."""
    cfg = Config.fromfile(VIT_B_MIXED)
    assert cfg.default_scope == 'mmpretrain'
    assert 'mmdet.datasets.samplers' in cfg.custom_imports.imports
    dl = cfg.train_dataloader
    assert dl.sampler.type == 'mmdet.MultiSourceSampler'
    assert dl.sampler.batch_size == dl.batch_size == 64 and sum(dl.sampler.source_ratio) == 64
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert dict(type='mask3d_mm.SourceCountHook') in cfg.custom_hooks
    dataset = dict(dl.dataset, lazy_init=True,
                   datasets=[dict(d, lazy_init=True) for d in dl.dataset.datasets])
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        concat = DATASETS.build(dataset)
    names = [type(d).__name__ for d in concat.datasets]
    assert names == ['ScanNetRGBDDataset', 'SUNRGBDDataset', 'ARKitScenesDataset',
                     'HypersimDataset', 'TUMRGBDDataset', 'NYUv2RawDataset']
    sources = [d.source for d in concat.datasets]
    assert len(set(sources)) == 6, sources
    for d, roots in zip(concat.datasets, ('scannet_root', 'sunrgbd_root', 'arkitscenes_root',
                                          'hypersim_root', 'tum_root', 'nyuv2_raw_root')):
        assert d.data_root.rstrip('/') == cfg[roots].rstrip('/')
    max_depths = [d.pipeline.transforms[1].max_depth for d in concat.datasets]
    assert max_depths == [10.0, 8.0, 5.0, 10.0, 10.0, 10.0]


# ---- through tools/train.py ----------------------------------------------------------------
_SHRINK = ['train_dataloader.batch_size=4', 'train_dataloader.sampler.batch_size=4',
           'train_cfg.max_iters=6', 'train_cfg.val_interval=100',
           'param_scheduler.0.end=2', 'param_scheduler.1.begin=2', 'param_scheduler.1.end=6',
           'param_scheduler.1.T_max=4',
           'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
           'log_processor.window_size=1', 'default_hooks.batchlog.type=BatchLogHook']


def _with_test_hooks(path: str) -> str:
    with open(path, 'w') as f:
        f.write(f'_base_ = [{TINY_MIXED!r}]\ncustom_imports = dict(imports=[\'mask3d_mm\', '
                "'mmdet.datasets.samplers', 'tool_test_hooks'], allow_failed_imports=False)\n")
    return path


def _steps(work_dir: str) -> Dict[int, dict]:
    return {r['step']: r for r in read_scalars(work_dir) if 'loss' in r}


def _tensors(path: str) -> Dict[str, torch.Tensor]:
    ckpt = load_local_checkpoint(path)
    out = {f'model.{k}': v for k, v in ckpt['state_dict'].items()}
    for index, state in ckpt['optimizer']['state'].items():
        out.update({f'optim.{index}.{k}': v for k, v in state.items()
                    if isinstance(v, torch.Tensor)})
    return out


def _source_lines(log: str) -> List[str]:
    return re.findall(r'frames per source, iterations .*', log)


@pytest.mark.slow
def test_mixture_kill_and_resume_continues_exactly(mixture_root, tmp_path):
    """The tiny mixture as shipped (IterBasedTrainLoop, MultiSourceSampler, 2 workers),
    SIGKILLed after iteration 5 and resumed from iter_4.pth: the same loss and lr at every
    iteration, the same batches, bit-identical final tensors; the frames per source of each
    iteration in the log follow the ratio exactly (2 + 1 + 1 of 4), and the total continues
    across the resume."""
    shipped = Config.fromfile(TINY_MIXED)
    assert shipped.train_cfg.type == 'IterBasedTrainLoop'
    assert shipped.train_dataloader.num_workers == 2  # the workers' seeding is under test
    config = _with_test_hooks(str(tmp_path / 'mixed.py'))
    ref, killed = str(tmp_path / 'uninterrupted'), str(tmp_path / 'killed')
    procs = [start_train(config, ref, _SHRINK, cwd=mixture_root),
             start_train(config, killed, _SHRINK + ['default_hooks.batchlog.kill_after=5'],
                         cwd=mixture_root)]
    outs = finish_runs(*procs)
    assert procs[0].returncode == 0, outs[0][-3000:]
    assert procs[1].returncode == -9, outs[1][-3000:]  # SIGKILL after iteration 5
    assert sorted(f for f in os.listdir(killed) if f.endswith('.pth')) == [
        'iter_2.pth', 'iter_4.pth']
    assert max(_steps(killed)) == 5

    # the log file holds the killed run, then the resumed one
    resumed = finish_runs(start_train(config, killed, _SHRINK, '--resume',
                                      cwd=mixture_root))[0]
    resumed = resumed[len(outs[1]):]
    assert 'Advance dataloader 4 steps' in resumed, resumed[-3000:]
    want, got = _steps(ref), _steps(killed)
    assert sorted(want) == sorted(got) == list(range(1, 7))
    for it in range(1, 7):
        for key in ('loss', 'lr'):
            assert got[it][key] == want[it][key], (it, key, got[it][key], want[it][key])
    assert len({r['lr'] for r in want.values()}) >= 5  # the lr moves
    with open(osp.join(ref, 'batches_rank0.jsonl')) as f:
        ref_batches = {r['iter']: r['img_path'] for r in map(json.loads, f)}
    with open(osp.join(killed, 'batches_rank0.jsonl')) as f:
        got_batches = {r['iter']: r['img_path'] for r in map(json.loads, f)}
    assert got_batches == ref_batches and len(ref_batches) == 6
    a, b = _tensors(osp.join(ref, 'iter_6.pth')), _tensors(osp.join(killed, 'iter_6.pth'))
    assert a.keys() == b.keys() and len(a) > 50
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f'{len(differ)} of {len(a)} final tensors differ, e.g. {differ[:3]}'

    # frames per source: each iteration 2 + 1 + 1, the total continued by the resumed run
    lines = _source_lines(outs[0])
    assert len(lines) == 6, outs[0][-3000:]
    for i, line in enumerate(lines, 1):
        assert line == (f'frames per source, iterations {i}-{i}: scannet 2 (50.0%), tum 1 '
                        f'(25.0%), npy 1 (25.0%); in total ({i} iterations): scannet {2 * i} '
                        f'(50.0%), tum {i} (25.0%), npy {i} (25.0%)')
    assert _source_lines(resumed) == lines[4:]  # iterations 5 and 6, the total continued
    assert load_local_checkpoint(osp.join(killed, 'iter_4.pth'))['meta']['source_counts'] == \
        dict(scannet=8, tum=4, npy=4)


@pytest.mark.slow
def test_documented_mixture_trains_with_counts_by_ratio(tmp_path):
    """The data step of the config's header (as written, smaller) and ``tools/train.py``
    on the shipped tiny mixture (batch 16: 8 + 4 + 4) for 10 iterations: the frames per
    source in the log over 160 frames are 50 / 25 / 25%."""
    env = tool_env()
    for cmd in (['tools/dataset_converters/generate_synthetic_scannet.py',
                 'data/synthetic_scannet', '--num-scenes', '2', '--frames-per-scene', '4',
                 '--height', '120', '--width', '160'],
                ['tools/dataset_converters/generate_synthetic_frame_list.py',
                 'data/synthetic_frames_tum', '--encoding', 'tum', '--seed', '1',
                 '--num-scenes', '1', '--frames-per-scene', '6'],
                ['tools/dataset_converters/generate_synthetic_frame_list.py',
                 'data/synthetic_frames_npy', '--encoding', 'float_m', '--seed', '2',
                 '--num-scenes', '1', '--frames-per-scene', '6']):
        proc = subprocess.run([interpreter(), osp.join(REPO, cmd[0]), *cmd[1:]],
                              cwd=str(tmp_path), env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    tum = np.array([line.split() for line in open(tmp_path / 'data/synthetic_frames_tum/'
                                                  'frames.txt') if not line.startswith('#')])
    assert tum.shape == (6, 2)
    proc = start_train(TINY_MIXED, str(tmp_path / 'work'),
                       ['train_cfg.max_iters=10', 'train_cfg.val_interval=10',
                        'default_hooks.logger.interval=5', 'train_dataloader.num_workers=0',
                        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False'],
                       cwd=str(tmp_path))
    out = finish_runs(proc)[0]
    assert proc.returncode == 0, out[-4000:]
    assert _source_lines(out) == [
        'frames per source, iterations 1-5: scannet 40 (50.0%), tum 20 (25.0%), npy 20 (25.0%);'
        ' in total (5 iterations): scannet 40 (50.0%), tum 20 (25.0%), npy 20 (25.0%)',
        'frames per source, iterations 6-10: scannet 40 (50.0%), tum 20 (25.0%), npy 20 '
        '(25.0%); in total (10 iterations): scannet 80 (50.0%), tum 40 (25.0%), npy 40 (25.0%)']
    assert 'Iter(val)' in out and 'Traceback' not in out
