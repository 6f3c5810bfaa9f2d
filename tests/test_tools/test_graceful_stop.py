"""SIGTERM / SIGINT during training (what cluster schedulers and Ctrl-C send): a checkpoint after
the current iteration, as CheckpointHook would have saved it, ``last_checkpoint`` naming it, the
data-loader workers gone and exit status 128 + signal (docs/tools.md).

In this process (the signal sent by a test hook to its own process): the checkpoint is the
one CheckpointHook writes for the same state, for iteration and epoch loops. In a subprocess:
``kill -TERM`` on the trainer, or on its whole process group as slurm does, with two data-loader
workers, and ``--resume`` from the checkpoint.
"""
import glob
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time
from typing import Set, Tuple

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mask3d_mm.compat import load_local_checkpoint
from mask3d_mm.engine.hooks import GracefulStopHook, ResumeInEpochHook

from helpers.fork_server import interpreter
from helpers.tools import REPO, free_port, tiny_pretrain_cfg, tool_env, write_cfg

TRAIN = osp.join(REPO, 'tools/train.py')


class _SignalSelf(Hook):
    """Sends ``signum`` to this process before training iteration ``at`` (1-based) and, with
    ``again``, once more while the stop's checkpoint is being saved."""

    priority = 'LOWEST'

    def __init__(self, at: int, signum: int = signal.SIGTERM, again: bool = False) -> None:
        self.at, self.signum, self.again = at, signum, again
        self.sent = False

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if runner.iter + 1 == self.at:
            os.kill(os.getpid(), self.signum)
            self.sent = True

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.sent and self.again:
            os.kill(os.getpid(), self.signum)


def _cfg(data_root: str, work_dir: str, loop: str, ckpt_interval: int):
    """The tiny pre-training config (64x96, 8 frames, batch 2: 4 iterations per epoch); an
    epoch loop of 3 epochs with an lr scheduler stepped at the end of each epoch, or an
    iteration loop of 12 iterations."""
    cfg = tiny_pretrain_cfg(data_root, max_iters=12, ckpt_interval=ckpt_interval)
    if loop == 'epoch':
        cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3, val_interval=10**6)
        cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0,
                                    end=3, convert_to_iter_based=False)]
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=ckpt_interval,
                                            by_epoch=True)
        cfg.log_processor = dict(window_size=1, by_epoch=True)
    cfg.work_dir = work_dir
    return cfg


def _train(cfg, *hooks: Hook) -> Runner:
    runner = Runner.from_cfg(cfg)
    for hook in hooks:
        runner.register_hook(hook)
    runner.train()
    return runner


def _same_checkpoint(a: str, b: str) -> None:
    """Same meta counters, model, optimizer and scheduler states."""
    ca, cb = load_local_checkpoint(a), load_local_checkpoint(b)
    for key in ('epoch', 'iter', 'seed'):
        assert ca['meta'][key] == cb['meta'][key], (key, ca['meta'][key], cb['meta'][key])
    assert ca['state_dict'].keys() == cb['state_dict'].keys()
    assert all(torch.equal(ca['state_dict'][k], cb['state_dict'][k]) for k in ca['state_dict'])
    sa, sb = ca['optimizer']['state'], cb['optimizer']['state']
    assert sa.keys() == sb.keys() and len(sa) > 10
    assert all(torch.equal(sa[i][k], sb[i][k]) for i in sa for k in sa[i])
    assert ca['param_schedulers'] == cb['param_schedulers']


@pytest.mark.slow
@pytest.mark.parametrize('loop, at, name, epoch', [
    ('iter', 2, 'iter_2.pth', 0),
    ('epoch', 4, 'epoch_1.pth', 1),  # the epoch's last iteration: after the epoch's hooks
    ('epoch', 2, 'iter_2.pth', 0),  # inside an epoch
], ids=['iteration-loop', 'epoch-loop-end-of-epoch', 'epoch-loop-mid-epoch'])
def test_stop_saves_what_checkpoint_hook_saves(loop, at, name, epoch, synthetic_scannet,
                                               tmp_path, capfd):
    """The signal comes during iteration ``at`` and again while the checkpoint is saved; the
    second one is ignored. The checkpoint equals CheckpointHook's of the same state."""
    stopped = str(tmp_path / 'stopped')
    hook = GracefulStopHook()
    with pytest.raises(SystemExit) as exit_:
        _train(_cfg(synthetic_scannet, stopped, loop, ckpt_interval=100), hook,
               _SignalSelf(at, again=True))
    assert exit_.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored
    path = osp.join(stopped, name)
    with open(osp.join(stopped, 'last_checkpoint')) as f:
        assert f.read() == path
    assert sorted(f for f in os.listdir(stopped) if f.endswith('.pth')) == [name]
    err = capfd.readouterr().err
    assert 'SIGTERM received: saving a checkpoint after the current iteration' in err
    assert 'SIGTERM received again: still stopping' in err

    # CheckpointHook's checkpoint of that state, from an uninterrupted run
    reference = str(tmp_path / 'reference')
    interval = 1 if name.startswith('epoch') else at
    cfg = _cfg(synthetic_scannet, reference, loop, ckpt_interval=interval)
    if name.startswith('iter') and loop == 'epoch':  # CheckpointHook by iteration
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=at, by_epoch=False)
    if loop == 'epoch':
        cfg.train_cfg.max_epochs = max(epoch, 1)
    else:
        cfg.train_cfg.max_iters = at
    _train(cfg)
    _same_checkpoint(path, osp.join(reference, name))
    assert load_local_checkpoint(path)['meta']['epoch'] == epoch


@pytest.mark.slow
def test_resume_inside_an_epoch_continues_exactly(synthetic_scannet, tmp_path):
    """Stopped after iteration 2 of 4 in epoch 1 (iter_2.pth), resumed with ResumeInEpochHook
    (tools/train.py adds it): the run skips the 2 batches trained before and ends with the
    uninterrupted run's epoch_2.pth, bit for bit (2 workers that restart every epoch)."""
    def cfg_(work_dir: str):
        cfg = _cfg(synthetic_scannet, work_dir, 'epoch', ckpt_interval=1)
        cfg.train_cfg.max_epochs = 2
        cfg.train_dataloader.update(num_workers=2, persistent_workers=False)
        return cfg

    reference, stopped = str(tmp_path / 'reference'), str(tmp_path / 'stopped')
    _train(cfg_(reference))
    with pytest.raises(SystemExit):
        _train(cfg_(stopped), GracefulStopHook(), _SignalSelf(2))
    assert sorted(f for f in os.listdir(stopped) if f.endswith('.pth')) == ['iter_2.pth']
    cfg = cfg_(stopped)
    cfg.update(resume=True, load_from=osp.join(stopped, 'iter_2.pth'))
    runner = _train(cfg, ResumeInEpochHook())
    assert runner.iter == 8
    with open(sorted(glob.glob(osp.join(stopped, '*', '*.log')))[-1]) as f:
        assert 'resumed inside epoch 1 after iteration 2: skipping the 2 batch(es)' in f.read()
    _same_checkpoint(osp.join(stopped, 'epoch_2.pth'), osp.join(reference, 'epoch_2.pth'))


class _SignalSelfInValidation(Hook):
    """Sends SIGINT to this process before the first validation iteration."""

    def before_val_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if batch_idx == 0:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.slow
def test_sigint_during_validation_saves_the_last_training_iteration(synthetic_scannet,
                                                                    tmp_path):
    """A signal during the validation that follows iteration 2 stops after that validation
    iteration, with the state of iteration 2 (iter_2.pth), exit status 130."""
    work_dir = str(tmp_path / 'work')
    cfg = tiny_pretrain_cfg(synthetic_scannet, max_iters=4, ckpt_interval=100, validate=True)
    cfg.train_cfg.val_interval = 2
    cfg.default_hooks.checkpoint.save_last = False
    cfg.work_dir = work_dir
    before = signal.getsignal(signal.SIGINT)  # whatever earlier tests of the process left
    with pytest.raises(SystemExit) as exit_:
        _train(cfg, GracefulStopHook(), _SignalSelfInValidation())
    assert exit_.value.code == 128 + signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is before  # restored
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) == ['iter_2.pth']
    meta = load_local_checkpoint(osp.join(work_dir, 'iter_2.pth'))['meta']
    assert (meta['epoch'], meta['iter']) == (0, 2)


# ---- a real trainer process -------------------------------------------------------------------
def _proc_stat(pid: int) -> Tuple[int, str, int]:
    """(ppid, state, start time) of a process from /proc/<pid>/stat."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[1]), fields[0], int(fields[19])


def _children(pid: int) -> Set[Tuple[int, int]]:
    """(pid, start time) of the live children of ``pid``."""
    out = set()
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                ppid, state, start = _proc_stat(int(entry))
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid and state != 'Z':
                out.add((int(entry), start))
    return out


def _alive(pid: int, start: int) -> bool:
    try:
        _, state, now = _proc_stat(pid)
    except (OSError, IndexError, ValueError):
        return False
    return now == start and state != 'Z'


def _wait_for(path: str, pattern: str, proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(path) as f:
            text = f.read()
        if re.search(pattern, text) or proc.poll() is not None:
            return text
        time.sleep(0.05)
    raise TimeoutError(f'{pattern!r} not in the output of {proc.args} after {timeout} s')


def _start_trainer(data_root: str, tmp_path) -> Tuple[subprocess.Popen, str, str, str, set]:
    """``python tools/train.py`` on the tiny config (40 iterations) with 2 persistent
    data-loader workers, in its own session, once its first iteration is logged:
    ``(process, output file, work dir, config, {(worker pid, start time)})``."""
    cfg = tiny_pretrain_cfg(data_root, max_iters=40, ckpt_interval=100)
    cfg.train_dataloader.update(num_workers=2, persistent_workers=True)
    config = write_cfg(cfg, str(tmp_path / 'tiny.py'))
    work_dir, out = str(tmp_path / 'work'), str(tmp_path / 'out.log')
    with open(out, 'w') as log:
        proc = subprocess.Popen([sys.executable, TRAIN, config, '--work-dir', work_dir],
                                cwd=REPO, env=tool_env(), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_for(out, r'Iter\(train\) \[ ?1/40\]', proc, timeout=240)
        assert proc.poll() is None, open(out).read()[-3000:]
        workers = _children(proc.pid)
        assert len(workers) == 2, workers  # the two workers, forked before the first batch
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc, out, work_dir, config, workers


def _wait_and_end(proc: subprocess.Popen, workers: set, timeout: float) -> None:
    """Wait for ``proc``, adding any worker it starts meanwhile to ``workers``; then SIGKILL
    whatever is left of its session."""
    try:
        deadline = time.time() + timeout
        while proc.poll() is None and time.time() < deadline:
            workers |= _children(proc.pid)
            time.sleep(0.05)
        proc.wait(timeout=1)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.slow
@pytest.mark.parametrize('target', ['trainer', 'process-group'])
def test_sigterm_stops_the_trainer_with_a_checkpoint(target, synthetic_scannet, tmp_path):
    """``kill -TERM`` on ``python tools/train.py`` with 2 data-loader workers (or on its process
    group, as slurm signals every process of a job) once the first iteration is logged: exit
    status 143, the log names the signal and the checkpoint, ``last_checkpoint`` names it, no
    worker survives; after a trainer-only kill ``--resume`` continues from it."""
    proc, out, work_dir, config, workers = _start_trainer(synthetic_scannet, tmp_path)
    (os.killpg if target == 'process-group' else os.kill)(proc.pid, signal.SIGTERM)
    _wait_and_end(proc, workers, timeout=120)
    text = open(out).read()
    assert proc.returncode == 128 + signal.SIGTERM, text[-3000:]
    n = int(re.search(r'SIGTERM received: stopping after iteration (\d+)', text).group(1))
    ckpt = osp.join(work_dir, f'iter_{n}.pth')
    assert f'SIGTERM: checkpoint {ckpt} saved (epoch 0, iteration {n})' in text, text[-3000:]
    assert 'stopped 2 data-loader worker process(es)' in text
    assert 'Traceback' not in text and 'DataLoader worker' not in text, text[-3000:]
    assert not [w for w in workers if _alive(*w)], 'data-loader workers survived the trainer'
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == ckpt
    assert load_local_checkpoint(ckpt)['meta']['iter'] == n
    assert not osp.exists(osp.join(work_dir, '.train.lock'))  # released
    if target != 'trainer':
        return

    proc = subprocess.run([interpreter(), TRAIN, config, '--work-dir', work_dir, '--resume',
                           '--cfg-options', f'train_cfg.max_iters={n + 1}'], cwd=REPO,
                          env=tool_env(), capture_output=True, text=True, timeout=300)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text[-3000:]
    assert f'resumed from {ckpt} at epoch 0, iteration {n}' in text
    assert osp.isfile(osp.join(work_dir, f'iter_{n + 1}.pth'))


@pytest.mark.slow
def test_sigterm_to_one_rank_stops_all_ranks_after_the_same_iteration(synthetic_scannet,
                                                                      tmp_path):
    """``tools/dist_train.sh`` with 2 CPU ranks; SIGTERM to rank 1 only. The ranks agree after
    every iteration, so rank 0 (which got no signal) stops after the same iteration and saves
    the checkpoint; no rank waits for the other in a collective."""
    cfg = tiny_pretrain_cfg(synthetic_scannet, max_iters=40, ckpt_interval=100)
    cfg.log_level = 'DEBUG'  # one log file per rank
    config = write_cfg(cfg, str(tmp_path / 'tiny.py'))
    work_dir, out = str(tmp_path / 'work'), str(tmp_path / 'out.log')
    # real interpreters: the ranks are found as torchrun's children, by their environment
    env = tool_env(PORT=str(free_port()), PYTHON=sys.executable)
    with open(out, 'w') as log:
        proc = subprocess.Popen(['bash', osp.join(REPO, 'tools/dist_train.sh'), config, '2',
                                 '--work-dir', work_dir], cwd=str(tmp_path), env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(out, r'Iter\(train\) \[ ?1/40\]', proc, timeout=300)
        assert proc.poll() is None, open(out).read()[-3000:]
        ranks = {}
        for pid, _ in _children(proc.pid):  # torchrun's workers
            with open(f'/proc/{pid}/environ', 'rb') as f:
                environ = dict(kv.split(b'=', 1) for kv in f.read().split(b'\0') if b'=' in kv)
            ranks[int(environ[b'RANK'])] = pid
        assert sorted(ranks) == [0, 1]
        os.kill(ranks[1], signal.SIGTERM)
        proc.wait(timeout=180)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    text = open(out).read()
    assert proc.returncode != 0, text[-3000:]  # torchrun reports the ranks' status 143
    stops = {}
    for rank in (0, 1):
        path = glob.glob(osp.join(work_dir, '*', f'*_rank{rank}.log'))[0]
        with open(path) as f:
            match = re.search(r'SIGTERM received( by another rank)?: stopping after iteration '
                              r'(\d+)', f.read())
        assert match, f'rank {rank} did not stop'
        assert bool(match.group(1)) == (rank == 0)
        stops[rank] = int(match.group(2))
    assert stops[0] == stops[1]
    ckpt = osp.join(work_dir, f'iter_{stops[0]}.pth')
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == ckpt
    assert load_local_checkpoint(ckpt)['meta']['iter'] == stops[0]
    # both ranks exited with 143 (torchrun's report lists the first failure only), none raised
    assert 'exitcode  : 143' in text and 'exitcode  : 1 ' not in text, text[-3000:]
    assert text.count('Traceback') == 1, text[-3000:]  # torchrun's ChildFailedError


@pytest.mark.slow
def test_workers_of_a_killed_trainer_end(synthetic_scannet, tmp_path):
    """``kill -9`` on the trainer (no handler runs): its 2 data-loader workers used to stay
    under PID 1, blocked writing to a pipe nobody reads; they now end within seconds."""
    proc, out, _, _, workers = _start_trainer(synthetic_scannet, tmp_path)
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.time() + 15
        while any(_alive(*w) for w in workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _alive(*w)], 'workers outlived the killed trainer'
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group outlives its leader
        except ProcessLookupError:
            pass
