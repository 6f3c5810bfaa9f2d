"""A run SIGKILLed mid-way and resumed with --resume continues exactly like an uninterrupted one."""
import json
import os
import os.path as osp
import subprocess
import sys

import torch

from mask3d_mm.compat import load_local_checkpoint

from helpers.tools import REPO, read_scalars, run, tiny_pretrain_cfg, tool_env, write_cfg

TRAIN = osp.join(REPO, 'tools/train.py')


def _batches(work_dir: str) -> dict:
    """iteration -> image paths of its batch (a resumed iteration overrides the killed one)."""
    with open(osp.join(work_dir, 'batches_rank0.jsonl')) as f:
        return {r['iter']: r['img_path'] for r in map(json.loads, f)}


def test_kill_and_resume_continues_exactly(synthetic_scannet, tmp_path):
    # 8 frames, batch 2: 4 iterations per epoch, so the 8 iterations cross an epoch boundary
    full_cfg = write_cfg(tiny_pretrain_cfg(synthetic_scannet, max_iters=8, ckpt_interval=2,
                                           hooks=[dict(type='BatchLogHook')]),
                         str(tmp_path / 'full.py'))
    kill_cfg = write_cfg(tiny_pretrain_cfg(synthetic_scannet, max_iters=8, ckpt_interval=2,
                                           hooks=[dict(type='BatchLogHook', kill_after=5)]),
                         str(tmp_path / 'kill.py'))
    ref, run_dir = str(tmp_path / 'uninterrupted'), str(tmp_path / 'killed')
    # the uninterrupted run and the run to kill side by side
    procs = [subprocess.Popen([sys.executable, TRAIN, c, '--work-dir', d], cwd=REPO,
                              env=tool_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for c, d in ((full_cfg, ref), (kill_cfg, run_dir))]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert procs[0].returncode == 0, outs[0][-3000:]
    assert procs[1].returncode == -9, outs[1][-3000:]  # SIGKILL after iteration 5
    assert sorted(f for f in os.listdir(run_dir) if f.endswith('.pth')) == [
        'iter_2.pth', 'iter_4.pth']
    assert max(read_scalars(run_dir)) == 5  # iteration 5 ran, its checkpoint never came

    resumed = run([sys.executable, TRAIN, full_cfg, '--work-dir', run_dir, '--resume'])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert 'iter_4.pth' in log and 'Advance dataloader 4 steps' in log

    want, got = read_scalars(ref), read_scalars(run_dir)
    assert sorted(want) == sorted(got) == list(range(1, 9))
    for it in range(1, 9):  # exactly the same numbers, iteration by iteration
        for key in ('loss', 'lr', 'base_lr'):
            assert got[it][key] == want[it][key], (it, key, got[it][key], want[it][key])
    assert len({want[it]['lr'] for it in want}) == 8  # the lr really changes every iteration
    assert _batches(run_dir) == _batches(ref)  # the data order continued, across the epoch end

    a = load_local_checkpoint(osp.join(ref, 'iter_8.pth'))['state_dict']
    b = load_local_checkpoint(osp.join(run_dir, 'iter_8.pth'))['state_dict']
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
