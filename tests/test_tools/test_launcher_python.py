"""The launch scripts run the project's interpreter: $PYTHON, else <repo>/.venv/bin/python, else
python from PATH (a plain ``python`` without the environment failed with 'No module named
torch')."""
import os
import os.path as osp
import shutil
import stat
import subprocess

import pytest

from helpers.tools import REPO

SCRIPTS = {  # script: arguments
    'dist_train.sh': ['cfg.py', '2'],
    'dist_test.sh': ['cfg.py', 'ckpt.pth', '2'],
    'slurm_train.sh': ['gpu', 'job', 'cfg.py'],
    'slurm_test.sh': ['gpu', 'job', 'cfg.py', 'ckpt.pth'],
}


def _stub(path, name: str) -> str:
    """An executable that prints which stub ran and its arguments."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(f'#!/usr/bin/env bash\necho "RAN {name}" "$@"\n')
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def checkout(tmp_path):
    """A copy of the launch scripts in a checkout layout, plus stand-ins for srun and a
    ``python`` on PATH: ``(repo, bin dir)``."""
    repo = tmp_path / 'repo'
    os.makedirs(repo / 'tools')
    for script in SCRIPTS:
        shutil.copy(osp.join(REPO, 'tools', script), repo / 'tools' / script)
    bin_dir = tmp_path / 'bin'
    _stub(str(bin_dir / 'python'), 'path-python')
    with open(bin_dir / 'srun', 'w') as f:  # srun runs the command after its own options
        f.write('#!/usr/bin/env bash\nwhile [[ $1 != *python* ]]; do shift; done\nexec "$@"\n')
    os.chmod(bin_dir / 'srun', 0o755)
    return repo, bin_dir


def _launch(repo, bin_dir, script: str, **env) -> str:
    full_env = {k: v for k, v in os.environ.items() if k != 'PYTHON'}
    full_env.update(PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}', **env)
    proc = subprocess.run(['bash', str(repo / 'tools' / script), *SCRIPTS[script]],
                          env=full_env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_project_venv_is_used(checkout, script):
    repo, bin_dir = checkout
    _stub(str(repo / '.venv' / 'bin' / 'python'), 'venv-python')
    out = _launch(repo, bin_dir, script)
    assert out.startswith('RAN venv-python'), out
    assert f'{script[:-3].split("_")[-1]}.py' in out  # train.py / test.py


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_python_env_var_wins(checkout, script, tmp_path):
    repo, bin_dir = checkout
    _stub(str(repo / '.venv' / 'bin' / 'python'), 'venv-python')
    chosen = _stub(str(tmp_path / 'conda' / 'python'), 'chosen-python')
    assert _launch(repo, bin_dir, script, PYTHON=chosen).startswith('RAN chosen-python')


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_python_from_path_without_venv(checkout, script):
    repo, bin_dir = checkout
    assert _launch(repo, bin_dir, script).startswith('RAN path-python')


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_header_says_which_interpreter(script):
    with open(osp.join(REPO, 'tools', script)) as f:
        header = ''.join(line for line in f if line.startswith('#'))
    assert '$PYTHON' in header and '.venv/bin/python' in header
