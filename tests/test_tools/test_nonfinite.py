"""A run that diverges stops, naming the iteration and the checkpoint to resume from; no
checkpoint on disk holds NaN or inf, none of the finite ones is pushed out by max_keep_ckpts,
and neither a NaN checkpoint nor its export is used."""
import glob
import os
import os.path as osp
import re

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner

from helpers.tools import REPO, free_port, run, run_tool_main, tiny_pretrain_cfg, write_cfg
from mask3d_mm.compat import load_local_checkpoint
from mask3d_mm.engine.nonfinite import add_nonfinite_check, find_nonfinite


@HOOKS.register_module(force=True)
class OverflowAdamMomentHook(Hook):
    """After the optimizer step of iteration ``at``, one Adam second moment overflows to inf
    (as ``grad ** 2`` of a huge gradient does) while the loss stays finite."""

    priority = 'NORMAL'  # before NonFiniteCheckHook (65) and CheckpointHook (90)

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.at:
            state = runner.optim_wrapper.optimizer.state
            next(iter(state.values()))['exp_avg_sq'].view(-1)[0] = float('inf')


def _diverge(root: str, tmp_path, *options: str, max_iters: int = 8, schedule=None,
             hooks=None, epochs: int = 0) -> tuple:
    """Train the tiny config for up to ``max_iters`` iterations (or ``epochs`` epochs) with
    ``options``, a checkpoint every iteration (epoch of 2 iterations), ``max_keep_ckpts=2``: the
    FloatingPointError's message (None: the run finished) and the work dir."""
    cfg = tiny_pretrain_cfg(root, max_iters=max_iters, ckpt_interval=1)
    cfg.default_hooks.checkpoint.max_keep_ckpts = 2
    if epochs:
        cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs)
        cfg.train_dataloader.batch_size = 4  # 8 frames: 2 iterations per epoch
        cfg.default_hooks.checkpoint.by_epoch = True
    if schedule is not None:
        cfg.param_scheduler = schedule
    cfg.custom_hooks = hooks or []
    work = str(tmp_path / 'work')
    config = write_cfg(cfg, str(tmp_path / 'tiny.py'))
    try:
        run_tool_main('train', config, '--work-dir', work, *options)
    except FloatingPointError as e:
        return str(e), work
    return None, work


def _checkpoints(work: str, kind: str = 'iter') -> dict:
    """``{iteration (epoch): nonfinite tensor names}`` of every checkpoint on disk."""
    out = {}
    for path in glob.glob(osp.join(work, '*_*.pth')):
        ckpt = load_local_checkpoint(path, map_location='cpu')
        assert osp.basename(path).startswith(kind + '_'), path
        step = int(re.search(r'_(\d+)\.pth', path).group(1))
        out[step] = find_nonfinite({k: ckpt[k] for k in ('state_dict', 'optimizer')})[0]
    return out


def _last_checkpoint(work: str) -> str:
    with open(osp.join(work, 'last_checkpoint')) as f:
        return f.read().strip()


def test_huge_lr_stops_naming_the_iteration_and_the_last_finite_checkpoint(
        synthetic_scannet, tmp_path):
    """lr=1e6: the state is NaN after iteration 2 while its loss is still finite (6e11); the
    loss is NaN from iteration 3. The run stops before it saves iteration 2."""
    msg, work = _diverge(synthetic_scannet, tmp_path, '--cfg-options',
                         'optim_wrapper.optimizer.lr=1e6')
    assert msg is not None, 'the diverging run went on'
    stopped = int(re.match(r'iteration (\d+): ', msg).group(1))
    ckpts = _checkpoints(work)
    assert ckpts and all(not bad for bad in ckpts.values()), ckpts  # all finite
    last = _last_checkpoint(work)
    assert last == osp.join(work, f'iter_{stopped - 1}.pth') == osp.join(
        work, f'iter_{max(ckpts)}.pth')
    assert f'The last checkpoint is {last} (its state checked finite by this run): ' \
           f'resume with --resume {last}' in msg
    assert 'default_hooks.nonfinite_check=None' in msg  # how to switch it off
    log = glob.glob(osp.join(work, '*', '*.log'))[0]
    assert msg in open(log).read()  # in the log too, not only on stderr


def test_nan_loss_stops_before_max_keep_ckpts_pushes_out_finite_checkpoints(
        synthetic_scannet, tmp_path):
    """Good for 3 iterations, then lr x1e9: the loss is NaN at iteration 5. The two kept
    checkpoints stay, the finite ones of iterations 3 and 4."""
    msg, work = _diverge(
        synthetic_scannet, tmp_path,
        schedule=[dict(type='MultiStepLR', by_epoch=False, milestones=[3], gamma=1e9)])
    assert msg is not None and re.match(r'iteration \d+: the loss is nan; ', msg)
    stopped = int(re.match(r'iteration (\d+)', msg).group(1))
    ckpts = _checkpoints(work)
    assert sorted(ckpts) == [stopped - 2, stopped - 1]
    assert all(not bad for bad in ckpts.values())
    assert _last_checkpoint(work) == osp.join(work, f'iter_{stopped - 1}.pth')


@pytest.mark.parametrize('loop', ['iter', 'epoch'])
def test_nonfinite_state_with_a_finite_loss_is_caught_before_a_kept_checkpoint_is_removed(
        synthetic_scannet, tmp_path, loop):
    """mmengine's CheckpointHook removes the oldest kept checkpoint before it saves: the state
    is checked before that, at the iteration (epoch) a checkpoint is due."""
    if loop == 'iter':
        msg, work = _diverge(synthetic_scannet, tmp_path,
                             hooks=[dict(type='OverflowAdamMomentHook', at=3)])
        where = 'iteration 3'
    else:  # 2 iterations per epoch: the moment overflows in epoch 3
        msg, work = _diverge(synthetic_scannet, tmp_path, epochs=4,
                             hooks=[dict(type='OverflowAdamMomentHook', at=5)])
        where = 'epoch 3 (after iteration 6)'
    ckpts = _checkpoints(work, loop)
    assert sorted(ckpts) == [1, 2] and all(not bad for bad in ckpts.values())
    assert _last_checkpoint(work) == osp.join(work, f'{loop}_2.pth')
    assert msg is not None and msg.startswith(
        f'{where}: the loss is finite but the model / optimizer state is not (1 of ')
    assert re.search(r'tensors hold NaN or inf: optimizer\.state\.\d+\.exp_avg_sq\)', msg)


def test_switched_off_the_run_goes_on_and_saves_nan(synthetic_scannet, tmp_path):
    """What the check prevents: with default_hooks.nonfinite_check=None the lr=1e6 run ends
    normally and its checkpoints hold NaN (max_keep_ckpts=2 pushed out the finite ones)."""
    msg, work = _diverge(synthetic_scannet, tmp_path, '--cfg-options',
                         'optim_wrapper.optimizer.lr=1e6', 'default_hooks.nonfinite_check=None',
                         max_iters=4)
    assert msg is None
    ckpts = _checkpoints(work)
    assert sorted(ckpts) == [3, 4] and all(ckpts.values())


def test_nonfinite_checkpoint_is_neither_saved_nor_resumed(synthetic_scannet, tmp_path):
    """Any save (not only CheckpointHook's) is refused; a NaN checkpoint given to --resume is
    refused naming it."""
    cfg = tiny_pretrain_cfg(synthetic_scannet, max_iters=1, ckpt_interval=10)
    cfg.work_dir = str(tmp_path / 'work')
    add_nonfinite_check(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    runner.save_checkpoint(cfg.work_dir, 'good.pth')
    with torch.no_grad():
        runner.model.backbone.cls_token.fill_(float('nan'))
    with pytest.raises(FloatingPointError, match=r'not saving the checkpoint of iteration \d+: '
                       r'1 of \d+ tensors hold NaN or inf: '
                       r'state_dict\.backbone\.cls_token'):
        runner.save_checkpoint(cfg.work_dir, 'nan.pth')
    assert not osp.exists(osp.join(cfg.work_dir, 'nan.pth'))

    nan = str(tmp_path / 'nan.pth')
    ckpt = load_local_checkpoint(osp.join(cfg.work_dir, 'good.pth'))
    ckpt['state_dict']['backbone.cls_token'].fill_(float('nan'))
    torch.save(ckpt, nan)
    config = write_cfg(cfg, str(tmp_path / 'tiny.py'))
    with pytest.raises(FloatingPointError, match=re.escape(nan) + ' was saved by a run that '
                       r'had diverged: 1 of \d+ tensors hold NaN or inf: '
                       r'state_dict\.backbone\.cls_token'):
        run_tool_main('train', config, '--work-dir', str(tmp_path / 'resumed'), '--resume', nan)


def test_export_refuses_a_nonfinite_encoder(tiny_pretrain_run, tmp_path):
    _, ckpt = tiny_pretrain_run
    nan = str(tmp_path / 'nan.pth')
    state = load_local_checkpoint(ckpt)
    for key in ('backbone.cls_token', 'backbone.pos_embed'):
        state['state_dict'][key].view(-1)[0] = float('inf')
    torch.save(state, nan)
    out = str(tmp_path / 'encoder.pth')
    with pytest.raises(ValueError) as e:
        run_tool_main('model_converters/export_rgb_encoder', nan, out)
    assert re.match(re.escape(nan) + r': not exported, the color encoder is not finite \(2 of '
                    r'\d+ tensors hold NaN or inf: cls_token, pos_embed\)', str(e.value))
    assert not os.path.exists(out)


@pytest.mark.slow  # 2 processes
def test_ddp_ranks_stop_together_when_one_rank_diverges(synthetic_scannet, tmp_path):
    """Rank 1's loss is NaN at iteration 2, rank 0's is finite: both stop at iteration 2 (one
    all-reduce), neither hangs, no checkpoint of iteration 2."""
    cfg = tiny_pretrain_cfg(synthetic_scannet, max_iters=4, ckpt_interval=10,
                            hooks=[dict(type='NaNParameterHook', rank=1, at=2)])
    cfg.log_level = 'DEBUG'  # one log file per rank
    work = str(tmp_path / 'work')
    proc = run(['bash', osp.join(REPO, 'tools/dist_train.sh'),
                write_cfg(cfg, str(tmp_path / 'cfg.py')), '2', '--work-dir', work],
               cwd=str(tmp_path), timeout=300, PORT=str(free_port()))
    assert proc.returncode != 0
    logs = sorted(glob.glob(osp.join(work, '*', '*_rank[01].log')))
    text = [open(p).read() for p in logs]
    assert len(text) == 2
    assert 'iteration 2: the loss is not finite on another rank; stopped' in text[0]
    assert 'iteration 2: the loss is nan; stopped' in text[1]
    assert not glob.glob(osp.join(work, 'iter_*.pth'))
