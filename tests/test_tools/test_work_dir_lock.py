"""One training run per work dir: ``tools/train.py`` holds ``WORK_DIR/.train.lock`` for the life
of the run (docs/tools.md). A second run is refused naming the first; a lock left by a dead run
is taken over with a log line; the lock goes with any exit of ``main()``; ``tools/test.py``
neither takes nor minds it."""
import glob
import os
import os.path as osp
import shlex
import socket
import subprocess
import sys

import pytest

from mask3d_mm.tooling import LOCK_FILE, WorkDirLock, WorkDirLockedError, read_lock_holder

from helpers.tools import REPO, run_tool_main, tiny_pretrain_cfg, write_cfg

TINY = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic.py')
LOCK_MODULE = osp.join(REPO, 'mask3d_mm/tooling/work_dir_lock.py')


def _log(work_dir: str) -> str:
    """The log of the newest run in ``work_dir``."""
    with open(sorted(glob.glob(osp.join(work_dir, '*', '*.log')))[-1]) as f:
        return f.read()


def _dead_run(work_dir: str, fork_child: bool = False) -> None:
    """A process that takes the lock and dies by SIGKILL, leaving its lock file (optionally
    after forking a child that outlives it, as a data-loader worker can). Only the lock module
    is imported (no torch): a second or so."""
    code = (
        'import importlib.util, os, signal, sys, time\n'
        f'spec = importlib.util.spec_from_file_location("wdl", {LOCK_MODULE!r})\n'
        'wdl = importlib.util.module_from_spec(spec); spec.loader.exec_module(wdl)\n'
        f'wdl.WorkDirLock({work_dir!r}).acquire()\n'
        f'if {fork_child!r} and os.fork() == 0:\n'
        '    time.sleep(60); os._exit(0)\n'
        'os.kill(os.getpid(), signal.SIGKILL)\n')
    proc = subprocess.run([sys.executable, '-c', code], timeout=60, start_new_session=True)
    assert proc.returncode == -9


def test_second_acquisition_is_refused_naming_the_first(tmp_path):
    work_dir = str(tmp_path / 'work')
    with WorkDirLock(work_dir) as first:
        assert first.notes == []
        holder = read_lock_holder(work_dir)
        assert holder['pid'] == os.getpid() and holder['host'] == socket.gethostname()
        with pytest.raises(WorkDirLockedError) as err:
            WorkDirLock(work_dir).acquire()
        msg = str(err.value)
        assert f'work dir {work_dir} is in use by another training run (pid {os.getpid()} on ' \
               f'host {socket.gethostname()}, started {holder["start_time"]}: ' in msg
        assert shlex.join([sys.executable, *sys.argv]) in msg  # its command
        assert '--work-dir NEW_DIR' in msg
    assert not osp.exists(osp.join(work_dir, LOCK_FILE))  # released: the file goes
    WorkDirLock(work_dir).acquire().release()


def test_train_tool_refuses_a_work_dir_in_use_before_writing(tmp_path, monkeypatch):
    """The second run fails before it writes anything, even with --overwrite-work-dir (which
    removes last_checkpoint): the first run's files stay as they are."""
    work_dir = str(tmp_path / 'work')
    os.makedirs(work_dir)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'iter_4.pth'))
    open(osp.join(work_dir, 'iter_4.pth'), 'wb').close()
    with WorkDirLock(work_dir):  # the first run
        before = sorted(os.listdir(work_dir))
        with pytest.raises(WorkDirLockedError, match=f'pid {os.getpid()} on host'):
            run_tool_main('train', TINY, '--work-dir', work_dir, '--overwrite-work-dir')
        assert sorted(os.listdir(work_dir)) == before
    monkeypatch.chdir(tmp_path)  # the default work dir (work_dirs/<config>) too
    with WorkDirLock(osp.join('work_dirs', 'vit-tiny_synthetic')):
        with pytest.raises(WorkDirLockedError, match='work_dirs/vit-tiny_synthetic is in use'):
            run_tool_main('train', TINY)


def test_lock_is_released_when_main_raises(tmp_path):
    work_dir = str(tmp_path / 'work')
    os.makedirs(work_dir)
    open(osp.join(work_dir, 'iter_4.pth'), 'wb').close()
    with pytest.raises(FileExistsError, match='holds checkpoints of an earlier run'):
        run_tool_main('train', TINY, '--work-dir', work_dir)  # fails under the lock
    assert not osp.exists(osp.join(work_dir, LOCK_FILE))
    WorkDirLock(work_dir).acquire().release()


def test_only_rank_0_of_a_run_holds_the_lock(tmp_path, monkeypatch):
    """torchrun starts the ranks of one run together: rank 1 must not be refused by rank 0's
    lock (tools/dist_train.sh in test_dist_train.py runs 2 ranks through it)."""
    from mask3d_mm.tooling import launcher_rank
    work_dir = str(tmp_path / 'work')
    monkeypatch.setenv('RANK', '1')
    monkeypatch.setenv('SLURM_PROCID', '3')
    assert launcher_rank('pytorch') == 1 and launcher_rank('slurm') == 3
    assert launcher_rank('none') == 0
    with WorkDirLock(work_dir, enabled=launcher_rank('none') == 0):  # rank 0
        with WorkDirLock(work_dir, enabled=launcher_rank('pytorch') == 0) as rank1:
            assert rank1.notes == [] and read_lock_holder(work_dir)['pid'] == os.getpid()


@pytest.mark.slow
def test_lock_of_a_dead_run_is_taken_over_with_a_log_line(synthetic_scannet, tmp_path):
    """A run killed with kill -9 leaves its lock file; the OS dropped its lock, so the next run
    takes it over and says whose it was. One training iteration, in this process."""
    work_dir = str(tmp_path / 'work')
    _dead_run(work_dir)
    dead = read_lock_holder(work_dir)
    assert dead and dead['pid'] != os.getpid()
    cfg = write_cfg(tiny_pretrain_cfg(synthetic_scannet, max_iters=1, ckpt_interval=1),
                    str(tmp_path / 'tiny.py'))
    run_tool_main('train', cfg, '--work-dir', work_dir)
    assert (f'work dir lock: took over {work_dir}/{LOCK_FILE}, left by a run that is gone '
            f'(pid {dead["pid"]} on host {dead["host"]}, started {dead["start_time"]}: ') \
        in _log(work_dir)
    assert osp.isfile(osp.join(work_dir, 'iter_1.pth'))
    assert not osp.exists(osp.join(work_dir, LOCK_FILE))  # released at the end


@pytest.mark.slow
def test_a_forked_child_does_not_keep_the_lock(tmp_path):
    """A child forked by the lock holder (a data-loader worker) that outlives it does not hold
    the lock: flock is shared by every copy of the descriptor, so the child closes its copy."""
    work_dir = str(tmp_path / 'work')
    _dead_run(work_dir, fork_child=True)
    dead = read_lock_holder(work_dir)
    try:
        with WorkDirLock(work_dir) as lock:
            assert f'left by a run that is gone (pid {dead["pid"]}' in lock.notes[0]
    finally:  # the child sleeps in the dead run's session: end it
        for pid in os.listdir('/proc'):
            if pid.isdigit():
                try:
                    if os.getsid(int(pid)) == dead['pid']:
                        os.kill(int(pid), 9)
                except (ProcessLookupError, PermissionError):
                    pass


@pytest.mark.slow  # the fixture trains
def test_test_tool_ignores_the_lock(tiny_pretrain_run, tmp_path):
    """tools/test.py reads a checkpoint of a running training (a legitimate use) and writes its
    own timestamped log folder: it neither takes the lock nor is refused by it."""
    config, ckpt = tiny_pretrain_run
    work_dir = str(tmp_path / 'work')
    with WorkDirLock(work_dir):  # a training run
        metrics = run_tool_main('test', config, ckpt, '--work-dir', work_dir)
        assert read_lock_holder(work_dir)['pid'] == os.getpid()
    assert metrics and all(v == v for v in metrics.values())
