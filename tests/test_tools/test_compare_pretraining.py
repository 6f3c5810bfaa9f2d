"""tools/analysis_tools/compare_pretraining.py (mask3d_mm.analysis.pretraining_comparison) end
to end, at a size that runs in about two minutes: real MMPretrain MAE and Mask3D pre-training,
export, mmseg fine-tuning per arm and seed, the report."""
import json
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest

import mask3d_mm.analysis.pretraining_comparison as comparison

from helpers.fork_server import interpreter
from helpers.tools import REPO

SCRIPT = osp.join(REPO, 'tools/analysis_tools/compare_pretraining.py')


@pytest.fixture(scope='module')
def split_data(tmp_path_factory) -> str:
    """3 small synthetic scenes with ScanNet split files (2 train, 1 val)."""
    from mask3d_mm.synthetic import generate_scannet_scenes, write_scene_splits
    root = str(tmp_path_factory.mktemp('split_scannet'))
    scenes = generate_scannet_scenes(root, num_scenes=3, frames_per_scene=5, height=120,
                                     width=160, seed=1)
    write_scene_splits(root, scenes)
    return root


def test_summarize_mean_std_and_paired_tests():
    finals = {'mae': {0: 10.0, 1: 14.0, 2: 12.5}, 'scratch': {0: 9.0, 1: 11.0, 2: 12.0}}
    summary = comparison.summarize(finals, ['mae:scratch', 'mask3d:scratch'])
    out = summary['arms']['mae']
    assert out['mean'] == pytest.approx(np.mean([10.0, 14.0, 12.5]))
    assert out['std'] == pytest.approx(np.std([10.0, 14.0, 12.5], ddof=1))
    assert set(summary['pairs']) == {'mae:scratch'}  # pairs of absent arms are left out
    pair = summary['pairs']['mae:scratch']
    diff = np.array([1.0, 3.0, 0.5])  # paired by seed
    half = 4.302653 * diff.std(ddof=1) / np.sqrt(3)  # t(0.975, 2 dof)
    assert pair['n'] == 3 and pair['mean'] == pytest.approx(diff.mean())
    assert (pair['low'], pair['high']) == pytest.approx((diff.mean() - half,
                                                         diff.mean() + half), rel=1e-5)
    t = diff.mean() / (diff.std(ddof=1) / np.sqrt(3))
    assert pair['p'] == pytest.approx(1 - t / np.sqrt(2 + t * t))  # Student t, 2 dof, 2-sided


def test_paired_difference_edge_cases():
    from mask3d_mm.analysis import paired_difference
    one = paired_difference({0: 2.0, 5: 1.0}, {0: 1.0})  # one common seed: no interval
    assert one['n'] == 1 and one['mean'] == 1.0 and np.isnan(one['low']) and np.isnan(one['p'])
    same = paired_difference({0: 1.0, 1: 2.0}, {0: 1.0, 1: 2.0})
    assert same['mean'] == 0 and same['p'] == 1.0 and same['low'] == same['high'] == 0
    shift = paired_difference({0: 2.0, 1: 3.0}, {0: 1.0, 1: 2.0})
    assert shift['p'] == 0.0 and shift['low'] == shift['high'] == 1.0


def test_decision_rule():
    """A change is kept only if its interval against the spec arm lies above 0; the kept
    changes name the defaults."""
    spec = {s: 10.0 + s for s in range(5)}

    def selection(compl_gain, std_gain):
        finals = {'mask3d-spec': spec,
                  'mask3d-spec+complementary': {s: v + g for (s, v), g in
                                                zip(spec.items(), compl_gain)},
                  'mask3d-spec+standardize': {s: v + g for (s, v), g in
                                              zip(spec.items(), std_gain)}}
        return comparison.summarize(finals, comparison.presets()['defaults']['pairs'])

    clear, noisy = [1.0, 1.2, 0.9, 1.1, 1.0], [2.0, -1.5, 1.0, -0.5, 1.5]
    assert comparison.decide(selection(clear, clear)) == dict(
        kept=dict(complementary=True, standardize=True), defaults='mask3d')
    assert comparison.decide(selection(clear, noisy))['defaults'] == 'mask3d-spec+complementary'
    assert comparison.decide(selection(noisy, [-x for x in clear]))['defaults'] == 'mask3d-spec'
    with pytest.raises(RuntimeError, match='--preset defaults'):
        comparison.decide(comparison.summarize({'mae': spec}, []))


@pytest.mark.slow
def test_presets_expand_to_their_tables(tmp_path):
    """Each preset is one command of docs/results.md: its arms, variants, task and data."""
    defaults = comparison.parse_args(['--preset', 'defaults'])
    assert defaults.seeds == [0, 1, 2, 3, 4] and defaults.task == 'seg' and defaults.decide
    assert [v[0] for v in defaults.variant] == ['spec', 'spec+complementary',
                                                'spec+standardize']
    assert defaults.work_dir == osp.join(REPO, 'work_dirs', 'compare')
    assert defaults.report_data_root == osp.join(REPO, 'data', 'synthetic_scannet_report')
    materials = comparison.parse_args(['--preset', 'materials'])
    assert materials.materials == 'independent' and materials.variant == []
    assert materials.data_root == osp.join(REPO, 'data',
                                           'synthetic_scannet_independent-materials')
    assert materials.work_dir == osp.join(REPO, 'work_dirs', 'compare_independent-materials')
    depth = comparison.parse_args(['--preset', 'depth', '--seeds', '7'])  # explicit options win
    assert depth.task == 'depth' and depth.seeds == [7]
    assert depth.finetune_iters == 200 and defaults.finetune_iters == 400
    assert depth.work_dir == defaults.work_dir  # re-uses the pre-training runs of 'defaults'
    assert set(comparison.PRESET_NAMES) == set(comparison.presets())

    out = subprocess.run([interpreter(), SCRIPT, '--preset', 'depth', '--dry-run',
                          '--work-dir', str(tmp_path), '--seeds', '0'],
                         capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stderr[-3000:]
    cmds = [line[2:] for line in out.stdout.splitlines() if line.startswith('$ ')]
    tests = [c for c in cmds if 'tools/test.py' in c]
    assert len(tests) == 3 and all('upernet-depth_vit-tiny_synthetic-scannet.py' in c and
                                   'finetune_depth/' in c and 'synthetic_scannet_report' in c
                                   for c in tests)


def test_variants_find_the_mask_generator_by_type():
    """The 'defaults' variants change the RGBDMaskGenerator of the Mask3D config wherever it
    is in the pipeline; a config without one is refused."""
    from mmengine.config import Config
    key = comparison.mask_generator_key()
    config = Config.fromfile(osp.join(REPO, comparison.PRETRAIN_CONFIGS['mask3d']))
    step = config.train_dataloader.dataset.pipeline[int(key.rsplit('.', 1)[1])]
    assert step['type'] == 'mask3d_mm.RGBDMaskGenerator' and step['complementary']
    spec = dict((v[0], v[1:]) for v in comparison.presets()['defaults']['variant'])['spec']
    assert f'{key}.complementary=False' in spec
    with pytest.raises(ValueError, match='0 RGBDMaskGenerator steps'):
        comparison.mask_generator_key(comparison.PRETRAIN_CONFIGS['mae'])


def test_crops_preset_fixes_the_zoom_of_both_targets():
    """'crops': the standardised and the metric target, each with the config's random resized
    crops and with crops of one size (one zoom for every sample: the transform built from the
    variant's options draws one crop size)."""
    import numpy as np
    from mmengine.config import Config, DictAction
    from mmengine.registry import TRANSFORMS, init_default_scope
    preset = comparison.presets()['crops']
    variants = {v[0]: v[1:] for v in preset['variant']}
    assert set(variants) == {'metric', 'fixed-zoom', 'metric+fixed-zoom'}
    assert variants['metric'] == ['model.head.norm_target=metric']
    assert variants['metric+fixed-zoom'] == ['model.head.norm_target=metric',
                                             *variants['fixed-zoom']]
    assert comparison.settings.PRIMARY['crops'] == 'mask3d-fixed-zoom:mask3d-metric+fixed-zoom'
    config = Config.fromfile(osp.join(REPO, comparison.PRETRAIN_CONFIGS['mask3d']))
    import argparse
    parser = argparse.ArgumentParser()  # --cfg-options as tools/train.py reads them
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    config.merge_from_dict(parser.parse_args(['--cfg-options',
                                              *variants['fixed-zoom']]).cfg_options)
    key = comparison.settings.pipeline_step_key('RGBDRandomResizedCrop')
    init_default_scope('mmpretrain')
    crop = TRANSFORMS.build(config.train_dataloader.dataset.pipeline[int(key.rsplit('.')[-1])])
    sizes = set()
    for _ in range(20):
        out = crop(dict(img=np.zeros((480, 640, 3), np.uint8),
                        depth=np.ones((480, 640), np.float32)))
        x0, y0, x1, y1 = out['crop_bbox']
        sizes.add((x1 - x0, y1 - y0))
        assert out['img'].shape[:2] == (112, 112)
    assert sizes == {(392, 392)}  # sqrt(0.5 * 480 * 640), square


@pytest.mark.slow
def test_dry_run_commands(tmp_path):
    """Each arm's commands: scratch without a checkpoint and without layer decay, variants with
    their options, 'mae2x' with twice the epochs and the schedule stretched to them."""
    out = subprocess.run(
        [interpreter(), SCRIPT, '--work-dir', str(tmp_path), '--dry-run', '--seeds', '3',
         '--pretrain-epochs', '5', '--arms', 'scratch', 'mae', 'mae2x', '--variant', 'log',
         'model.head.norm_target=log'], capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stderr[-3000:]
    cmds = [line[2:] for line in out.stdout.splitlines() if line.startswith('$ ')]
    by_dir = {c.split('--work-dir ')[1].split()[0].split('/')[-1]: c for c in cmds
              if 'tools/train.py' in c}
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

    bad = subprocess.run([interpreter(), SCRIPT, '--dry-run', '--arms', 'mae+mask3d'],
                         capture_output=True, text=True, timeout=1800)
    assert bad.returncode != 0 and 'add mae' in bad.stderr


@pytest.mark.slow
def test_comparison_runs_reports_and_resumes(split_data, tmp_path):
    work_dir = tmp_path / 'compare'
    report_root = tmp_path / 'report_split'  # generated by the script: 1 scene x 2 frames
    cmd = [interpreter(), SCRIPT, '--work-dir', str(work_dir), '--data-root', split_data,
           '--report-data-root', str(report_root), '--report-scenes', '1', '--report-frames',
           '2', '--arms', 'mae', 'mae+mask3d', '--seeds', '0', '1', '--pretrain-epochs', '1',
           '--finetune-iters', '2', '--val-points', '2', '--pairs', 'mae+mask3d:mae']
    first = subprocess.run(cmd, cwd=str(tmp_path), capture_output=True, text=True, timeout=1800)
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
    with open(report_root / '.mask3d_mm_synthetic.json') as f:
        assert json.load(f)['args']['seed'] == 1  # other scenes than the training set's
    assert (report_root / 'scannetv2_val.txt').read_text().split() == ['scene0000_00']

    with open(work_dir / 'results.json') as f:
        results = json.load(f)
    selection, report = results['selection'], results['report']
    assert set(selection['arms']) == set(report['arms']) == {'mae', 'mae+mask3d'}
    for arm in ('mae', 'mae+mask3d'):
        finals = []
        for seed in (0, 1):
            run_dir = work_dir / 'finetune' / f'{arm}_seed{seed}'
            curve = comparison.curves(str(run_dir))
            assert [s for s, _ in curve['val']] == [1, 2]  # --val-points 2 of 2 iterations
            assert selection['arms'][arm]['final'][str(seed)] == pytest.approx(curve['val'][-1][1])
            finals.append(curve['val'][-1][1])
            with open(run_dir / 'report_metrics.json') as f:  # tools/test.py --out
                assert report['arms'][arm]['final'][str(seed)] == pytest.approx(
                    json.load(f)['mIoU'])
        assert selection['arms'][arm]['mean'] == pytest.approx(np.mean(finals))
    pair = report['pairs']['mae+mask3d:mae']
    assert pair['n'] == 2 and pair['mean'] == pytest.approx(
        report['arms']['mae+mask3d']['mean'] - report['arms']['mae']['mean'])
    mae_cmds = [c for c in results['commands'] if 'finetune/mae_seed' in c]
    assert all('mae_vit-tiny_rgb-encoder.pth' in c for c in mae_cmds if 'train.py' in c)
    assert len(mae_cmds) == 4 and sum('report_split' in c for c in mae_cmds) == 2
    # 'mae+mask3d': Mask3D pre-training whose colour ViT loaded the MAE export
    mae_export = str(work_dir / 'pretrain' / 'mae_vit-tiny_rgb-encoder.pth')
    logs = list((work_dir / 'pretrain' / 'mae+mask3d').glob('*/*.log'))
    assert len(logs) == 1
    assert re.search(rf'Mask3DViT: loaded (\d+)/\1 tensors from {re.escape(mae_export)}',
                     logs[0].read_text())
    assert osp.getsize(work_dir / 'learning_curves.png') > 10_000
    text = (work_dir / 'results.md').read_text()
    assert 'MMPretrain MAE (RGB)' in text and 'MAE, then Mask3D' in text
    assert 'mae_vit-tiny_synthetic-112x112.py' in text  # the exact commands
    assert re.search(r'## Report split \(2 frames of 1 scenes', text)
    assert re.search(r'\| MAE, then Mask3D \(2 runs\) - MMPretrain MAE \(RGB\) \| 2 \|', text)
    minutes = results['minutes']
    assert minutes['pretrain'] > 0 and minutes['finetune'] > 0 and minutes['test'] > 0
    assert re.search(r'pre-training \d+ min, fine-tuning \d+ min, report tests', text)

    # the per-run JSON (no preset: custom.json): per arm, seed and split every metric, the
    # command, the code commit and the wall time of the run; --tables-from builds on it
    with open(work_dir / 'custom.json') as f:
        study = json.load(f)
    assert study['granularity'] == 'per-seed runs' and len(study['runs']) == 2 * 2 * 2
    for run in study['runs']:
        final = results[run['split']]['arms'][run['arm']]['final'][str(run['seed'])]
        assert run['metrics']['mIoU'] == pytest.approx(final) and 'mAcc' in run['metrics']
        tool = 'tools/train.py' if run['split'] == 'selection' else 'tools/test.py'
        assert tool in run['command'] and f"{run['arm']}_seed{run['seed']}" in run['command']
        assert run['wall_s'] > 0
        assert run['code_commit'] is None or re.fullmatch(r'[0-9a-f]{40}(\+dirty)?',
                                                          run['code_commit'])
    from mask3d_mm.analysis.pretraining_comparison.doc_tables import rebuild
    tables = rebuild([str(work_dir)])['custom-pairs']
    assert re.search(r'\| MAE - MAE \| [-+]\d', tables) is None  # labels of these arms
    assert 'Holm' in tables and '| MAE, then Mask3D - MAE |' in tables

    again = subprocess.run(cmd, cwd=str(tmp_path), capture_output=True, text=True, timeout=1800)
    assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
    # 2 pre-trainings, 2 exports, 4 fine-tunings and their 4 report tests are complete
    assert again.stdout.count('(done, not run again) $ python') == 2 + 2 + 4 + 4
    assert not [line for line in again.stdout.splitlines() if line.startswith('$')]
    with open(work_dir / 'results.json') as f:
        resumed = json.load(f)
    assert resumed['commands'] == results['commands']
    assert resumed['minutes']['finetune'] == pytest.approx(minutes['finetune'])  # recorded
    with open(work_dir / 'custom.json') as f:  # commits and wall times recorded, not re-run
        assert json.load(f)['runs'] == study['runs']


@pytest.mark.slow
def test_depth_task_reports_abs_rel(split_data, tmp_path):
    """``--task depth``: the depth-estimation config, AbsRel from validation and test."""
    work_dir = tmp_path / 'compare'
    out = subprocess.run(
        [interpreter(), SCRIPT, '--task', 'depth', '--work-dir', str(work_dir), '--data-root',
         split_data, '--report-data-root', split_data, '--arms', 'scratch', '--seeds', '0',
         '--finetune-iters', '2', '--val-points', '1'],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    assert not (work_dir / 'results.json').exists()  # beside a 'seg' comparison's outputs
    with open(work_dir / 'results_depth.json') as f:
        results = json.load(f)
    assert osp.getsize(work_dir / 'learning_curves_depth.png') > 10_000
    run_dir = work_dir / 'finetune_depth' / 'scratch_seed0'
    with open(run_dir / 'report_metrics.json') as f:
        tested = json.load(f)
    assert results['report']['arms']['scratch']['final']['0'] == pytest.approx(tested['abs_rel'])
    assert 0 < tested['abs_rel'] < 10 and 0 <= tested['d1'] <= 1
    assert results['selection']['arms']['scratch']['final']['0'] == pytest.approx(
        comparison.curves(str(run_dir), 'abs_rel')['val'][-1][1])
    assert 'abs_rel, lower is better' not in (work_dir / 'results_depth.md').read_text()
