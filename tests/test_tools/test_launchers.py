"""The launch scripts hand the right command to torchrun / srun (stand-ins record it)."""
import os
import os.path as osp
import stat
import subprocess

import pytest
import torch
from mmengine.config import Config

from helpers.tools import REPO
from mask3d_mm.tooling import setup_cpu_distributed

TOOLS = osp.join(REPO, 'tools')


def _stub(path, record: str) -> str:
    """An executable that writes its arguments, one per line, to ``record``."""
    path.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {record}\n'
                    f'echo "PYTHONPATH=$PYTHONPATH" >> {record}\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def _launch(tmp_path, script, *args, **env):
    record = tmp_path / 'args.txt'
    full_env = dict(os.environ, PYTHON=_stub(tmp_path / 'python', record),
                    PATH=f'{tmp_path}{os.pathsep}{os.environ["PATH"]}', **env)
    _stub(tmp_path / 'srun', record)
    proc = subprocess.run(['bash', osp.join(REPO, 'tools', script), *args], env=full_env,
                          capture_output=True, text=True, timeout=30)
    return proc, (record.read_text().splitlines() if record.exists() else [])


@pytest.mark.parametrize('script, args, env, expected', [
    ('dist_train.sh', ['cfg.py', '4', '--amp'], {}, [
        '-m', 'torch.distributed.run', '--nnodes=1', '--node_rank=0',
        '--master_addr=127.0.0.1', '--master_port=29500', '--nproc_per_node=4',
        f'{TOOLS}/train.py', 'cfg.py', '--launcher', 'pytorch', '--amp']),
    ('dist_train.sh', ['cfg.py', '8', '--cfg-options', 'a=1 b'],
     dict(NNODES='2', NODE_RANK='1', MASTER_ADDR='10.0.0.1', PORT='1234'), [
        '-m', 'torch.distributed.run', '--nnodes=2', '--node_rank=1',
        '--master_addr=10.0.0.1', '--master_port=1234', '--nproc_per_node=8',
        f'{TOOLS}/train.py', 'cfg.py', '--launcher', 'pytorch', '--cfg-options', 'a=1 b']),
    ('dist_test.sh', ['cfg.py', 'ckpt.pth', '2', '--out', 'm.json'], dict(PORT='29700'), [
        '-m', 'torch.distributed.run', '--nnodes=1', '--node_rank=0',
        '--master_addr=127.0.0.1', '--master_port=29700', '--nproc_per_node=2',
        f'{TOOLS}/test.py', 'cfg.py', 'ckpt.pth', '--launcher', 'pytorch', '--out', 'm.json']),
    ('slurm_train.sh', ['gpu', 'job', 'cfg.py', 'work', '--resume'],
     dict(GPUS='16', SRUN_ARGS='--quotatype=auto --time=1'), [
        '-p', 'gpu', '--job-name=job', '--gres=gpu:8', '--ntasks=16', '--ntasks-per-node=8',
        '--cpus-per-task=5', '--kill-on-bad-exit=1', '--quotatype=auto', '--time=1',
        'PYTHON', '-u', f'{TOOLS}/train.py', 'cfg.py', '--work-dir', 'work', '--launcher',
        'slurm', '--resume']),
    ('slurm_train.sh', ['gpu', 'job', 'cfg.py', '--amp'],
     dict(GPUS='2', GPUS_PER_NODE='2', CPUS_PER_TASK='3'), [
        '-p', 'gpu', '--job-name=job', '--gres=gpu:2', '--ntasks=2', '--ntasks-per-node=2',
        '--cpus-per-task=3', '--kill-on-bad-exit=1', 'PYTHON', '-u', f'{TOOLS}/train.py',
        'cfg.py', '--launcher', 'slurm', '--amp']),
    ('slurm_test.sh', ['gpu', 'job', 'cfg.py', 'ckpt.pth', '--out', 'm.json'],
     dict(GPUS='4', GPUS_PER_NODE='4'), [
        '-p', 'gpu', '--job-name=job', '--gres=gpu:4', '--ntasks=4', '--ntasks-per-node=4',
        '--cpus-per-task=5', '--kill-on-bad-exit=1', 'PYTHON', '-u', f'{TOOLS}/test.py',
        'cfg.py', 'ckpt.pth', '--launcher', 'slurm', '--out', 'm.json']),
], ids=['dist-train', 'dist-train-multinode', 'dist-test', 'slurm-workdir', 'slurm-no-workdir',
        'slurm-test'])
def test_launch_command(tmp_path, script, args, env, expected):
    proc, recorded = _launch(tmp_path, script, *args, **env)
    assert proc.returncode == 0, proc.stderr
    expected = [str(tmp_path / 'python') if a == 'PYTHON' else a for a in expected]
    assert recorded[:-1] == expected
    assert recorded[-1].startswith(f'PYTHONPATH={TOOLS}/..')  # the checkout is importable


@pytest.mark.parametrize('script, args', [('dist_train.sh', ['cfg.py']),
                                          ('dist_test.sh', ['cfg.py', 'ckpt.pth']),
                                          ('slurm_train.sh', ['gpu', 'job']),
                                          ('slurm_test.sh', ['gpu', 'job', 'cfg.py'])])
def test_usage_errors(tmp_path, script, args):
    proc, recorded = _launch(tmp_path, script, *args)
    assert proc.returncode == 2 and 'usage' in proc.stderr and not recorded


@pytest.mark.skipif(torch.cuda.is_available(), reason='about machines without CUDA')
def test_cpu_launchers():
    assert setup_cpu_distributed(Config(dict(launcher='none', model=dict()))) is None
    for launcher in ('slurm', 'mpi'):  # mmengine pins a CUDA device per process for these
        with pytest.raises(RuntimeError, match='torchrun'):
            setup_cpu_distributed(Config(dict(launcher=launcher, model=dict())))
