"""tools/dist_train.sh: 2 CPU processes (gloo) train one model: equal weights and BN statistics on
both ranks, also at validation; the checkpoint is written once."""
import glob
import json
import os
import os.path as osp

import pytest
import torch

from mask3d_mm.compat import load_local_checkpoint
from mmengine.config import Config

from helpers.tools import REPO, free_port, run, tiny_pretrain_cfg, write_cfg

pytestmark = pytest.mark.slow  # trains or runs tools in subprocesses: the full tier only

SEG_CONFIG = osp.join(REPO, 'configs/benchmarks/mmseg/upernet_vit-tiny_synthetic-scannet20.py')


def pretrain_cfg(data_root: str, iters: int) -> Config:
    return tiny_pretrain_cfg(data_root, max_iters=iters, ckpt_interval=iters, batch_size=2,
                             hooks=[dict(type='RankStateHook'), dict(type='BatchLogHook')])


def seg_cfg(data_root: str, iters: int) -> Config:
    """The tiny mmseg fine-tuning config on the synthetic set, no pretrained file, validated
    once at the end (after the checkpoint)."""
    cfg = Config.fromfile(SEG_CONFIG)
    cfg.model.backbone.init_cfg = None
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.val_dataloader.update(batch_size=1, num_workers=0, persistent_workers=False)
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.update(data_root=data_root, ann_file='')
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=iters, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.custom_hooks = [dict(type='RankStateHook'), dict(type='BatchLogHook')]
    cfg.custom_imports = dict(imports=['mask3d_mm', 'tool_test_hooks'],
                              allow_failed_imports=False)
    return cfg


@pytest.mark.parametrize('make_cfg', [
    pretrain_cfg,
    seg_cfg,
], ids=['mask3d-pretrain', 'mmseg-upernet-finetune'])
def test_two_cpu_ranks_train_one_model(make_cfg, synthetic_scannet, tmp_path):
    iters = 3
    cfg = make_cfg(synthetic_scannet, iters)
    cfg.log_level = 'DEBUG'  # mmengine then writes one log file per rank
    work_dir = str(tmp_path / 'work')
    proc = run(['bash', osp.join(REPO, 'tools/dist_train.sh'), write_cfg(cfg, str(
        tmp_path / 'cfg.py')), '2', '--work-dir', work_dir], cwd=str(tmp_path),
        PORT=str(free_port()))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]

    # each rank ran, on gloo, and says so in its own log
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*_rank[01].log')))
    assert [osp.basename(p)[-9:] for p in logs] == ['rank0.log', 'rank1.log']
    for rank, path in enumerate(logs):
        with open(path) as f:
            text = f.read()
        assert f'rank {rank} of 2' in text and 'gloo backend' in text
        assert f'Iter(train) [{iters}/{iters}]' in text
        assert f'RankStateHook: rank {rank} of 2 trained {iters} iterations' in text
        if make_cfg is seg_cfg:  # UperNet's SyncBN cannot run on CPU
            assert 'SyncBN -> BN' in text
    # the data was split between the ranks: no frame seen twice in an iteration
    batches = []
    for rank in (0, 1):
        with open(osp.join(work_dir, f'batches_rank{rank}.jsonl')) as f:
            batches.append([json.loads(line)['img_path'] for line in f])
    assert len(batches[0]) == len(batches[1]) == iters
    for b0, b1 in zip(*batches):
        assert not set(b0) & set(b1)

    # one checkpoint, written by rank 0 only; all ranks hold the same, trained weights
    assert sorted(f for f in os.listdir(work_dir) if f.startswith('iter_')) == [
        f'iter_{iters}.pth']
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip().endswith(f'iter_{iters}.pth')
    # parameters and buffers (BN running statistics of UperNet) included
    ckpt = load_local_checkpoint(osp.join(work_dir, f'iter_{iters}.pth'))['state_dict']
    whens = ('before', 'val', 'after') if make_cfg is seg_cfg else ('before', 'after')
    states = {(r, w): torch.load(osp.join(work_dir, f'rank{r}_{w}.pth'), weights_only=True)
              for r in (0, 1) for w in whens}
    assert states[0, 'after'].keys() == ckpt.keys()
    for key, value in states[0, 'after'].items():
        for when in whens:  # at validation too: both ranks evaluate the checkpoint's model
            assert torch.equal(states[0, when][key], states[1, when][key]), (when, key)
        assert torch.equal(value, ckpt[key]), key
        if 'val' in whens:
            assert torch.equal(states[0, 'val'][key], ckpt[key]), key
    changed = [k for k, v in states[0, 'after'].items()
               if not torch.equal(v, states[0, 'before'][k])]
    assert len(changed) > len(states[0, 'after']) // 2  # the steps did update the weights
    if make_cfg is seg_cfg:  # the BN statistics are there and were updated by training
        stats = [k for k in ckpt if k.endswith(('running_mean', 'running_var'))]
        assert len(stats) >= 20 and all(k in changed for k in stats)
