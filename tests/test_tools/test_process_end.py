"""The end of a tool's process (mask3d_mm/tooling/process_end.py): a launched rank exits with
its status, everything it wrote flushed, data-loader workers stopped, and no interpreter
finalization (where a gloo worker thread can abort the process); a single process ends as
usual."""
import os
import subprocess

import pytest

from helpers.fork_server import interpreter

pytestmark = pytest.mark.slow  # subprocesses (the fork server's, ~6 s if no test started it)

SCRIPT = '''
import atexit, logging, sys
import torch
from torch.utils.data import DataLoader
from mask3d_mm.tooling import exit_after_distributed_run

atexit.register(lambda: print('finalized', flush=True))
log = logging.getLogger('probe')
log.addHandler(logging.FileHandler(sys.argv[2], delay=True))
log.propagate = False
with exit_after_distributed_run():
    workers = iter(DataLoader(list(range(8)), num_workers=1, persistent_workers=True))
    next(workers)
    print(f'workers={[w.pid for w in workers._workers]}')
    log.warning('logged before the end')
    sys.stdout.write('buffered, no newline')  # written only if stdout is flushed
    how = sys.argv[1]
    if how == 'stop':
        raise SystemExit(143)
    if how == 'message':
        sys.exit('stopped: a message')
    if how == 'error':
        raise ValueError('a bug')
'''


def _run(tmp_path, how: str, launched: bool) -> subprocess.CompletedProcess:
    script = tmp_path / 'probe.py'
    script.write_text(SCRIPT)
    env = dict(os.environ)
    for key in ('RANK', 'WORLD_SIZE'):
        env.pop(key, None)
    if launched:
        env.update(RANK='1', WORLD_SIZE='2')
    return subprocess.run([interpreter(), str(script), how, str(tmp_path / f'{how}.log')],
                          env=env, capture_output=True, text=True, timeout=120)


def _pids_alive(stdout: str) -> list:
    pids = [int(p) for p in stdout.split('[', 1)[1].split(']', 1)[0].split(',')]
    alive = []
    for pid in pids:
        try:
            with open(f'/proc/{pid}/stat') as f:
                if f.read().split(')')[-1].split()[0] != 'Z':
                    alive.append(pid)
        except FileNotFoundError:
            pass
    return alive


@pytest.mark.parametrize('how,status', [('return', 0), ('stop', 143), ('message', 1)])
def test_a_launched_rank_exits_with_its_status_and_without_finalization(tmp_path, how, status):
    proc = _run(tmp_path, how, launched=True)
    assert proc.returncode == status, proc.stderr[-3000:]
    assert 'finalized' not in proc.stdout  # no interpreter finalization
    assert proc.stdout.endswith('buffered, no newline')  # what it wrote is flushed
    assert (tmp_path / f'{how}.log').read_text() == 'logged before the end\n'
    assert not _pids_alive(proc.stdout)  # the data-loader worker is stopped
    if how == 'message':
        assert 'stopped: a message' in proc.stderr


def test_an_error_and_a_single_process_end_through_the_interpreter(tmp_path):
    error = _run(tmp_path, 'error', launched=True)
    assert error.returncode == 1
    assert 'ValueError: a bug' in error.stderr and 'finalized' in error.stdout
    single = _run(tmp_path, 'return', launched=False)
    assert single.returncode == 0, single.stderr[-3000:]
    assert single.stdout.endswith('finalized\n')  # atexit handlers ran: finalization


def test_the_race_script_runs_both_ends(tmp_path):
    """docs/robustness.md's `.dev_scripts/gloo_exit_race.py` at the smallest size: one run of
    each kind, both counted (the race itself needs load; the guarded run must end cleanly)."""
    import os.path as osp
    import sys
    script = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                      '.dev_scripts', 'gloo_exit_race.py')
    proc = subprocess.run([sys.executable, script, '--runs', '1', '--ranks', '2'],
                          capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[-1] == 'guarded: 1 ok, 0 aborted, 0 hung, 0 failed', proc.stdout
    assert lines[-2].startswith('plain: ') and '0 failed' in lines[-2], proc.stdout
