import pytest
"""Smoke test of tools/analysis_tools/benchmark_mask3d_vs_mae.py with tiny models."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import json

import torch

from helpers.tools import load_tool

pytestmark = pytest.mark.slow  # trains or runs tools in subprocesses: the full tier only


def load_script():
    return load_tool('tools/analysis_tools/benchmark_mask3d_vs_mae.py')


def test_tiny_benchmark_writes_positive_results(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    threads = torch.get_num_threads()
    try:  # in this process (saves an import); the memory arms still run as subprocesses
        load_script().main(['--tiny', '--warmup', '1', '--steps', '1', '--threads', '1',
                            '--json', str(out)])
    finally:
        torch.set_num_threads(threads)
    assert 'step time' in capsys.readouterr().out
    res = json.loads(out.read_text())
    assert res['setup']['img_size'] == 64 and res['setup']['tiny']
    assert res['matmul']['flops_per_s'] > 0
    for arm in ('mask3d', 'mae'):
        for key in ('params', 'step_s', 'train_flops', 'flops_per_s', 'flops_fraction',
                    'memory_bytes', 'peak_bytes'):
            assert res[arm][key] > 0, (arm, key)
        assert len(res[arm]['all_step_s']) == 1
    for key in ('time_ratio', 'memory_ratio', 'flops_fraction'):
        check = res['checks'][key]
        assert check['value'] > 0 and isinstance(check['passed'], bool)
        assert check['target'].startswith(('<=', '>='))


def test_saved_activations_grow_with_the_batch_and_shrink_with_checkpointing(tmp_path):
    out = tmp_path / 'act.json'
    load_script().main(['--tiny', '--activations', '--batch', '2', '--json', str(out)])
    act = json.loads(out.read_text())['activations']
    assert len(act) == 8  # 2 arms x checkpointing on/off x fp32/bf16
    for arm in ('mask3d', 'mae'):
        plain, ckpt = act[f'{arm}_fp32'], act[f'{arm}_ckpt_fp32']
        assert plain['per_sample_bytes'] > ckpt['per_sample_bytes'] > 0
        assert act[f'{arm}_bf16']['per_sample_bytes'] < plain['per_sample_bytes']
        assert plain['params'] > 0
