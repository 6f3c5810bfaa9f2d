import pytest
"""A run SIGKILLed mid-way and resumed with ``--resume`` continues exactly like an uninterrupted
one: the same loss and lr at every iteration, the same batches, bit-identical final tensors.

The shipped configs run as users type them, ``python tools/train.py CONFIG --work-dir DIR
[--resume]``, shrunk through ``MASK3D_MM_CFG_OPTIONS``. The one addition is a child config that
imports the test hooks: ``BatchLogHook`` logs each batch's frames and SIGKILLs the run after
iteration k (after that iteration's checkpoint hook).
"""
import json
import os
import os.path as osp
from typing import Dict, List

import torch
from mmengine.config import Config

from mask3d_mm.compat import load_local_checkpoint
from mask3d_mm.tooling import read_scalars

from helpers.tools import (PRETRAIN_CONFIG, REPO, finish_runs, start_train, tiny_pretrain_cfg,
                           write_cfg)

pytestmark = pytest.mark.slow  # trains or runs tools in subprocesses: the full tier only

SEG_CONFIG = osp.join(REPO, 'configs/benchmarks/mmseg/upernet_vit-tiny_synthetic-scannet20.py')


def _train_steps(work_dir: str) -> Dict[int, dict]:
    """iteration -> its training scalars (loss, lr, ...) over the runs of ``work_dir``."""
    return {r['step']: r for r in read_scalars(work_dir) if 'loss' in r}


def _batches(work_dir: str) -> dict:
    """iteration -> image paths of its batch (a resumed iteration overrides the killed one)."""
    with open(osp.join(work_dir, 'batches_rank0.jsonl')) as f:
        return {r['iter']: r['img_path'] for r in map(json.loads, f)}


def _tensors(path: str) -> Dict[str, torch.Tensor]:
    """Every tensor of a Runner checkpoint's model and optimizer state, by a flat name."""
    ckpt = load_local_checkpoint(path)
    out = {f'model.{k}': v for k, v in ckpt['state_dict'].items()}
    for index, state in ckpt['optimizer']['state'].items():
        out.update({f'optim.{index}.{k}': v for k, v in state.items()
                    if isinstance(v, torch.Tensor)})
    return out


def _assert_same_run(ref: str, resumed: str, iters: int, final_ckpt: str) -> None:
    want, got = _train_steps(ref), _train_steps(resumed)
    assert sorted(want) == sorted(got) == list(range(1, iters + 1))
    for it in range(1, iters + 1):  # exactly the same numbers, iteration by iteration
        for key in ('loss', 'lr'):
            assert got[it][key] == want[it][key], (it, key, got[it][key], want[it][key])
    assert _batches(resumed) == _batches(ref)  # the data order continued
    a, b = _tensors(osp.join(ref, final_ckpt)), _tensors(osp.join(resumed, final_ckpt))
    assert a.keys() == b.keys() and len(a) > 100
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f'{len(differ)} of {len(a)} final tensors differ, e.g. {differ[:3]}'


def _with_test_hooks(config: str, path: str) -> str:
    """A child of ``config`` that only imports the test hooks."""
    with open(path, 'w') as f:
        f.write(f'_base_ = [{config!r}]\ncustom_imports = dict(imports=[\'mask3d_mm\', '
                f'\'tool_test_hooks\'], allow_failed_imports=False)\n')
    return path


def _data_options(data_root: str, *loaders: str) -> List[str]:
    return [f'{dl}.dataset.{k}={v}' for dl in loaders
            for k, v in (('data_root', data_root), ('ann_file', ''))]


def test_pretrain_config_epoch_loop_workers(synthetic_scannet, tmp_path):
    """configs/mask3d/vit-tiny_synthetic.py as shipped: EpochBasedTrainLoop, 2 workers that
    restart every epoch; killed in epoch 2, resumed from epoch_1.pth."""
    shipped = Config.fromfile(PRETRAIN_CONFIG)
    assert shipped.train_cfg.type == 'EpochBasedTrainLoop'
    assert shipped.train_dataloader.num_workers == 2  # the workers' seeding is under test
    assert shipped.train_dataloader.persistent_workers is False
    config = _with_test_hooks(PRETRAIN_CONFIG, str(tmp_path / 'pretrain.py'))
    # 8 frames, batch 2: 4 iterations per epoch, 3 epochs
    options = ['train_dataloader.batch_size=2', 'train_cfg.max_epochs=3',
               'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1',
               'log_processor.window_size=1',  # each iteration's own loss
               'default_hooks.batchlog.type=BatchLogHook'
               ] + _data_options(synthetic_scannet, 'train_dataloader', 'val_dataloader')
    ref, killed = str(tmp_path / 'uninterrupted'), str(tmp_path / 'killed')
    procs = [start_train(config, ref, options),
             start_train(config, killed, options + ['default_hooks.batchlog.kill_after=6'])]
    outs = finish_runs(*procs)
    assert procs[0].returncode == 0, outs[0][-3000:]
    assert procs[1].returncode == -9, outs[1][-3000:]  # SIGKILL after iteration 6 (epoch 2)
    assert sorted(f for f in os.listdir(killed) if f.endswith('.pth')) == ['epoch_1.pth']
    assert max(_train_steps(killed)) == 6

    out = finish_runs(start_train(config, killed, options, '--resume'))[0]
    assert 'resuming from' in out and 'epoch_1.pth' in out, out[-3000:]
    _assert_same_run(ref, killed, 12, 'epoch_3.pth')
    assert len({r['lr'] for r in _train_steps(ref).values()}) >= 10  # the lr really moves


def test_finetune_config_without_seed(synthetic_scannet, tmp_path):
    """configs/benchmarks/mmseg/upernet_vit-tiny_synthetic-scannet20.py as shipped: no
    ``randomness.seed`` (each run draws one), dropout in the heads, IterBasedTrainLoop with 2
    workers. Killed after iteration 5, resumed from iter_4.pth; the uninterrupted run uses the
    killed run's seed."""
    shipped = Config.fromfile(SEG_CONFIG)
    assert (shipped.get('randomness') or {}).get('seed') is None
    assert shipped.model.decode_head.dropout_ratio > 0  # model randomness is under test too
    assert shipped.train_dataloader.num_workers == 2
    config = _with_test_hooks(SEG_CONFIG, str(tmp_path / 'seg.py'))
    options = ['model.backbone.init_cfg=None', 'train_dataloader.batch_size=2',
               'train_cfg.max_iters=8', 'train_cfg.val_interval=8',
               'param_scheduler.0.end=4', 'param_scheduler.1.begin=4', 'param_scheduler.1.end=8',
               'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
               'log_processor.window_size=1', 'default_hooks.batchlog.type=BatchLogHook'
               ] + _data_options(synthetic_scannet, 'train_dataloader', 'val_dataloader',
                                 'test_dataloader')
    killed, ref = str(tmp_path / 'killed'), str(tmp_path / 'uninterrupted')
    proc = start_train(config, killed, options + ['default_hooks.batchlog.kill_after=5'])
    out = finish_runs(proc)[0]
    assert proc.returncode == -9, out[-3000:]
    # the shipped max_keep_ckpts=1 keeps the last one
    assert sorted(f for f in os.listdir(killed) if f.endswith('.pth')) == ['iter_4.pth']
    seed = load_local_checkpoint(osp.join(killed, 'iter_4.pth'))['meta']['seed']

    procs = [start_train(config, killed, options, '--resume'),
             start_train(config, ref, options + [f'randomness.seed={seed}'])]
    outs = finish_runs(*procs)
    assert procs[0].returncode == 0 and procs[1].returncode == 0, outs[0][-3000:] + outs[1][-3000:]
    assert f'randomness.seed={seed}, the seed of the run in {killed}/iter_4.pth' in outs[0]
    assert 'Advance dataloader 4 steps' in outs[0]
    _assert_same_run(ref, killed, 8, 'iter_8.pth')


def test_kill_and_resume_continues_exactly(synthetic_scannet, tmp_path):
    """IterBasedTrainLoop without workers, across an epoch boundary of the sampler."""
    # 8 frames, batch 2: 4 iterations per epoch, so the 8 iterations cross an epoch boundary
    full_cfg = write_cfg(tiny_pretrain_cfg(synthetic_scannet, max_iters=8, ckpt_interval=2,
                                           hooks=[dict(type='BatchLogHook')]),
                         str(tmp_path / 'full.py'))
    kill_cfg = write_cfg(tiny_pretrain_cfg(synthetic_scannet, max_iters=8, ckpt_interval=2,
                                           hooks=[dict(type='BatchLogHook', kill_after=5)]),
                         str(tmp_path / 'kill.py'))
    ref, run_dir = str(tmp_path / 'uninterrupted'), str(tmp_path / 'killed')
    # the uninterrupted run and the run to kill side by side
    procs = [start_train(c, d, []) for c, d in ((full_cfg, ref), (kill_cfg, run_dir))]
    outs = finish_runs(*procs)
    assert procs[0].returncode == 0, outs[0][-3000:]
    assert procs[1].returncode == -9, outs[1][-3000:]  # SIGKILL after iteration 5
    assert sorted(f for f in os.listdir(run_dir) if f.endswith('.pth')) == [
        'iter_2.pth', 'iter_4.pth']
    assert max(_train_steps(run_dir)) == 5  # iteration 5 ran, its checkpoint never came

    resumed = start_train(full_cfg, run_dir, [], '--resume')
    log = finish_runs(resumed)[0]
    assert resumed.returncode == 0, log[-3000:]
    assert 'iter_4.pth' in log and 'Advance dataloader 4 steps' in log
    assert len({r['lr'] for r in _train_steps(ref).values()}) == 8  # lr moves every iteration
    _assert_same_run(ref, run_dir, 8, 'iter_8.pth')
