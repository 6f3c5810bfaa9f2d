import pytest
"""Smoke test of tools/analysis_tools/benchmark_depth_head.py at a tiny size."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import json

import torch

from helpers.tools import load_tool

pytestmark = pytest.mark.slow  # trains or runs tools in subprocesses: the full tier only


def test_tiny_depth_head_benchmark(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    threads = torch.get_num_threads()
    try:
        load_tool('tools/analysis_tools/benchmark_depth_head.py').main(
            ['--batch', '2', '--img-size', '32', '--warmup', '0', '--steps', '1', '--threads',
             '1', '--json', str(out)])
    finally:
        torch.set_num_threads(threads)
    assert 'standardize / metric' in capsys.readouterr().out
    res = json.loads(out.read_text())
    assert set(res['seconds']) == {'metric', 'log', 'standardize'}
    assert all(v > 0 for v in res['seconds'].values()) and res['ratio'] > 0
