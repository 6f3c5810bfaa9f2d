"""tools/analysis_tools/compare_pretraining.py end to end, at a size that runs in about two
minutes: real MMPretrain MAE and Mask3D pre-training, export, mmseg fine-tuning per arm and
seed, the report."""
import json
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest

from helpers.tools import REPO, load_tool

SCRIPT = osp.join(REPO, 'tools/analysis_tools/compare_pretraining.py')


def load_script():
    return load_tool('tools/analysis_tools/compare_pretraining.py')


@pytest.fixture(scope='module')
def split_data(tmp_path_factory) -> str:
    """3 small synthetic scenes with ScanNet split files (2 train, 1 val)."""
    from mask3d_mm.synthetic import generate_scannet_scenes, write_scene_splits
    root = str(tmp_path_factory.mktemp('split_scannet'))
    scenes = generate_scannet_scenes(root, num_scenes=3, frames_per_scene=5, height=120,
                                     width=160, seed=1)
    write_scene_splits(root, scenes)
    return root


def test_summarize_mean_and_sample_std():
    module = load_script()
    runs = {'mae': {0: dict(val=[(2, 1.0), (4, 10.0)], loss=[]),
                    1: dict(val=[(2, 3.0), (4, 14.0)], loss=[])}}
    runs['scratch'] = {0: dict(val=[(4, 9.0)], loss=[]), 1: dict(val=[(4, 11.0)], loss=[])}
    summary = module.summarize(runs)
    out = summary['mae']
    assert out['final'] == {0: 10.0, 1: 14.0}  # the last validation, not the best one
    assert out['mean'] == pytest.approx(12.0)
    assert out['std'] == pytest.approx(np.std([10.0, 14.0], ddof=1))
    assert out['gain_mean'] == pytest.approx(2.0)  # paired by seed: +1 and +3
    assert out['gain_std'] == pytest.approx(np.std([1.0, 3.0], ddof=1))
    assert 'gain_mean' not in summary['scratch']


def test_dry_run_commands(tmp_path):
    """Each arm's commands: scratch without a checkpoint and without layer decay, variants with
    their options, 'mae2x' with twice the epochs and the schedule stretched to them."""
    out = subprocess.run(
        [sys.executable, SCRIPT, '--work-dir', str(tmp_path), '--dry-run', '--seeds', '3',
         '--pretrain-epochs', '5', '--arms', 'scratch', 'mae', 'mae2x', '--variant', 'log',
         'model.head.norm_target=log'], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    cmds = [line[2:] for line in out.stdout.splitlines() if line.startswith('$ ')]
    by_dir = {c.split('--work-dir ')[1].split()[0].split('/')[-1]: c for c in cmds
              if '--work-dir' in c}
    assert set(by_dir) == {'mae', 'mae2x', 'mask3d-log', 'scratch_seed3', 'mae_seed3',
                           'mae2x_seed3', 'mask3d-log_seed3'}
    assert 'model.backbone.init_cfg=None' in by_dir['scratch_seed3']
    assert 'layer_decay_rate=1.0' in by_dir['scratch_seed3']
    assert 'randomness.seed=3' in by_dir['scratch_seed3']
    assert 'mae2x_vit-tiny_rgb-encoder.pth' in by_dir['mae2x_seed3']
    assert 'train_cfg.max_epochs=10' in by_dir['mae2x']
    assert 'param_scheduler.1.end=10' in by_dir['mae2x'] and 'T_max=9' in by_dir['mae2x']
    assert 'mask3d_vit-tiny_synthetic-112x112.py' in by_dir['mask3d-log']
    assert by_dir['mask3d-log'].endswith('model.head.norm_target=log')
    assert 'train_cfg.max_epochs=5' in by_dir['mask3d-log']

    bad = subprocess.run([sys.executable, SCRIPT, '--dry-run', '--arms', 'mae+mask3d'],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and 'add mae' in bad.stderr


def test_comparison_runs_reports_and_resumes(split_data, tmp_path):
    work_dir = tmp_path / 'compare'
    cmd = [sys.executable, SCRIPT, '--work-dir', str(work_dir), '--data-root', split_data,
           '--arms', 'mae', 'mae+mask3d', '--seeds', '0', '1', '--pretrain-epochs', '1',
           '--finetune-iters', '2', '--val-points', '2']
    first = subprocess.run(cmd, cwd=str(tmp_path), capture_output=True, text=True)
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]

    with open(work_dir / 'results.json') as f:
        results = json.load(f)
    summary = results['summary']
    assert set(summary) == {'mae', 'mae+mask3d'}
    module = load_script()
    for arm in ('mae', 'mae+mask3d'):
        finals = []
        for seed in (0, 1):
            run_dir = work_dir / 'finetune' / f'{arm}_seed{seed}'
            curve = module.curves(str(run_dir))
            assert [s for s, _ in curve['val']] == [1, 2]  # --val-points 2 of 2 iterations
            assert summary[arm]['final'][str(seed)] == pytest.approx(curve['val'][-1][1])
            finals.append(curve['val'][-1][1])
        assert summary[arm]['mean'] == pytest.approx(np.mean(finals))
    mae_cmds = [c for c in results['commands'] if 'finetune/mae_seed' in c]
    assert all('mae_vit-tiny_rgb-encoder.pth' in c for c in mae_cmds) and len(mae_cmds) == 2
    # 'mae+mask3d': Mask3D pre-training whose colour ViT loaded the MAE export
    mae_export = str(work_dir / 'pretrain' / 'mae_vit-tiny_rgb-encoder.pth')
    logs = list((work_dir / 'pretrain' / 'mae+mask3d').glob('*/*.log'))
    assert len(logs) == 1
    assert re.search(rf'Mask3DViT: loaded (\d+)/\1 tensors from {re.escape(mae_export)}',
                     logs[0].read_text())
    assert osp.getsize(work_dir / 'learning_curves.png') > 10_000
    report = (work_dir / 'results.md').read_text()
    assert 'MMPretrain MAE (RGB)' in report and 'MAE, then Mask3D' in report
    assert 'mae_vit-tiny_synthetic-112x112.py' in report  # the exact commands

    again = subprocess.run(cmd, cwd=str(tmp_path), capture_output=True, text=True)
    assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
    # 2 pre-trainings, 2 exports and 4 fine-tunings are complete: listed, not run again
    assert again.stdout.count('(done, not run again) $ python') == 2 + 2 + 4
    assert not [line for line in again.stdout.splitlines() if line.startswith('$')]
    with open(work_dir / 'results.json') as f:
        assert json.load(f)['commands'] == results['commands']
