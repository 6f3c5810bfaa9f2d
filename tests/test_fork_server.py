"""The tests' pre-imported interpreter (helpers/fork_server.py) behaves as ``python`` does for
the scripts it runs: argv, cwd, environment, open files, ``sys.path``, exit status, signals,
fresh random state; other command lines run the real interpreter."""
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers.fork_server import SOCKET_ENV, interpreter

SCRIPT = '''
import json, os, random, sys
out = dict(argv=sys.argv, cwd=os.getcwd(), flag=os.environ.get('FORK_TEST_FLAG'),
           path=sys.path[:2], random=random.random(), executable=sys.executable,
           preloaded='mmseg' in sys.modules)
if len(sys.argv) > 2:
    os.write(int(sys.argv[2]), b'through an inherited pipe')
print(json.dumps(out))
sys.exit(int(sys.argv[1]))
'''

pytestmark = pytest.mark.slow  # starts this worker's server (~6 s) if no test did


def _script(tmp_path) -> str:
    path = tmp_path / 'probe.py'
    path.write_text(SCRIPT)
    return str(path)


def test_script_runs_with_its_argv_cwd_env_path_and_exit_status(tmp_path):
    import json
    python = interpreter()
    assert python != sys.executable and os.environ[SOCKET_ENV]
    script, work = _script(tmp_path), tmp_path / 'work'
    work.mkdir()
    env = dict(os.environ, FORK_TEST_FLAG='on', PYTHONPATH='/some/where')
    runs = [subprocess.run([python, script, '3'], cwd=str(work), env=env, capture_output=True,
                           text=True, timeout=60) for _ in range(2)]
    outs = [json.loads(run.stdout) for run in runs]
    assert [run.returncode for run in runs] == [3, 3]
    assert outs[0]['argv'] == [script, '3'] and outs[0]['cwd'] == str(work)
    assert outs[0]['flag'] == 'on' and outs[0]['path'] == [str(tmp_path), '/some/where']
    assert outs[0]['preloaded'] and outs[0]['executable'] == python  # forked, not started
    assert outs[0]['random'] != outs[1]['random']  # each child draws its own seed


def test_open_files_are_inherited_by_number(tmp_path):
    read, write = os.pipe()
    try:
        proc = subprocess.run([interpreter(), _script(tmp_path), '0', str(write)],
                              pass_fds=(write,), capture_output=True, timeout=60)
        os.close(write)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert os.read(read, 100) == b'through an inherited pipe'
    finally:
        os.close(read)


def test_signals_reach_the_script_and_its_status_is_the_clients(tmp_path):
    script = tmp_path / 'wait.py'
    script.write_text('import time\nprint("ready", flush=True)\ntime.sleep(60)\n')
    proc = subprocess.Popen([interpreter(), str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == 'ready\n'
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM
    finally:
        proc.kill()


def test_a_killed_client_takes_its_script_along(tmp_path):
    marker = tmp_path / 'pid'
    script = tmp_path / 'wait.py'
    script.write_text(f'import os, time\nopen({str(marker)!r}, "w").write(str(os.getpid()))\n'
                      'time.sleep(60)\n')
    proc = subprocess.Popen([interpreter(), str(script)])
    deadline = time.time() + 30
    while not (marker.exists() and marker.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    pid = int(marker.read_text())
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail('the script outlived its killed client')


def test_other_command_lines_run_the_real_interpreter():
    proc = subprocess.run([interpreter(), '-c', 'import sys; print(sys.executable)'],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == sys.executable
    proc = subprocess.run([interpreter(), '-c', 'import sys; print(sys.executable)'],
                          env=dict(os.environ, MASK3D_MM_TEST_FORK='0'), capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.strip() == sys.executable


def test_a_script_killed_by_sigkill_kills_its_client(tmp_path):
    script = tmp_path / 'suicide.py'
    script.write_text('import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n')
    proc = subprocess.run([interpreter(), str(script)], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]


def test_threads_and_warning_filters_follow_the_environment(tmp_path):
    script = tmp_path / 'settings.py'
    script.write_text('import warnings, torch\nprint(torch.get_num_threads())\n'
                      'warnings.warn("shown")\n')
    for threads, warnings_env, shown in (('1', 'ignore', False), ('2', 'default', True)):
        proc = subprocess.run([interpreter(), str(script)], capture_output=True, text=True,
                              env=dict(os.environ, OMP_NUM_THREADS=threads,
                                       PYTHONWARNINGS=warnings_env), timeout=60)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.strip() == threads
        assert ('UserWarning: shown' in proc.stderr) == shown
