"""tools/analysis_tools/compare_pretraining.py end to end, at a size that runs in about a minute:
real MMPretrain MAE pre-training, export, mmseg fine-tuning per arm and seed, the report."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from helpers.tools import REPO

SCRIPT = osp.join(REPO, 'tools/analysis_tools/compare_pretraining.py')


def load_script():
    spec = importlib.util.spec_from_file_location('compare_pretraining', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def split_data(tmp_path_factory) -> str:
    """3 small synthetic scenes with ScanNet split files (2 train, 1 val)."""
    from mask3d_mm.datasets.synthetic import generate_scannet_scenes, write_scene_splits
    root = str(tmp_path_factory.mktemp('split_scannet'))
    scenes = generate_scannet_scenes(root, num_scenes=3, frames_per_scene=5, height=120,
                                     width=160, seed=1)
    write_scene_splits(root, scenes)
    return root


def test_summarize_mean_and_sample_std():
    module = load_script()
    runs = {'mae': {0: dict(val=[(2, 1.0), (4, 10.0)], loss=[]),
                    1: dict(val=[(2, 3.0), (4, 14.0)], loss=[])}}
    out = module.summarize(runs)['mae']
    assert out['final'] == {0: 10.0, 1: 14.0}  # the last validation, not the best one
    assert out['mean'] == pytest.approx(12.0)
    assert out['std'] == pytest.approx(np.std([10.0, 14.0], ddof=1))


def test_comparison_runs_reports_and_resumes(split_data, tmp_path):
    work_dir = tmp_path / 'compare'
    cmd = [sys.executable, SCRIPT, '--work-dir', str(work_dir), '--data-root', split_data,
           '--arms', 'scratch', 'mae', '--seeds', '0', '1', '--pretrain-epochs', '1',
           '--finetune-iters', '2', '--val-points', '2']
    first = subprocess.run(cmd, cwd=str(tmp_path), capture_output=True, text=True)
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]

    with open(work_dir / 'results.json') as f:
        results = json.load(f)
    summary = results['summary']
    assert set(summary) == {'scratch', 'mae'}
    module = load_script()
    for arm in ('scratch', 'mae'):
        finals = []
        for seed in (0, 1):
            run_dir = work_dir / 'finetune' / f'{arm}_seed{seed}'
            curve = module.curves(str(run_dir))
            assert [s for s, _ in curve['val']] == [1, 2]  # --val-points 2 of 2 iterations
            assert summary[arm]['final'][str(seed)] == pytest.approx(curve['val'][-1][1])
            finals.append(curve['val'][-1][1])
        assert summary[arm]['mean'] == pytest.approx(np.mean(finals))
    # the MAE arm fine-tuned from its export; scratch from no checkpoint, without layer decay
    mae_cmds = [c for c in results['commands'] if 'finetune/mae_seed' in c]
    scratch_cmds = [c for c in results['commands'] if 'finetune/scratch_seed' in c]
    assert all('mae_vit-tiny_rgb-encoder.pth' in c for c in mae_cmds) and len(mae_cmds) == 2
    assert all('init_cfg=None' in c and 'layer_decay_rate=1.0' in c for c in scratch_cmds)
    assert osp.getsize(work_dir / 'learning_curves.png') > 10_000
    report = (work_dir / 'results.md').read_text()
    assert 'MMPretrain MAE (RGB)' in report and 'no pre-training' in report
    assert 'mae_vit-tiny_synthetic-112x112.py' in report  # the exact commands

    again = subprocess.run(cmd, cwd=str(tmp_path), capture_output=True, text=True)
    assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
    assert again.stdout.count('not run again') == 1 + 4  # pre-training + 4 fine-tunings
    assert 'tools/train.py' not in ''.join(
        line for line in again.stdout.splitlines(True) if line.startswith('$'))
