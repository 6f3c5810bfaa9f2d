"""Pre-training seeds in the comparison (``--pretrain-seeds``, ``--preset protocol``): the runs
planned per pre-training seed, fine-tuning seeds nested in them, the nested tables."""
import json
import os.path as osp
import shutil

import numpy as np
import pytest

import mask3d_mm.analysis.pretraining_comparison as comparison
from mask3d_mm.analysis.pretraining_comparison.doc_tables import rebuild
from mask3d_mm.analysis.pretraining_comparison.study_json import load_study, study_record


def _planned(capsys, *argv) -> list:
    comparison.main(['--dry-run', *argv])
    return [line[2:] for line in capsys.readouterr().out.splitlines() if line.startswith('$ ')]


def _by_dir(cmds: list, tool: str = 'tools/train.py') -> dict:
    return {c.split('--work-dir ')[1].split()[0].split('/')[-1]: c for c in cmds if tool in c}


def test_protocol_preset_pre_trains_each_arm_per_seed(tmp_path, capsys):
    """MAE, MAE 2x and MAE-then-Mask3D, 3 pre-training seeds each; Mask3D of seed p starts
    from MAE's export of seed p; every fine-tuning seed runs from every pre-training."""
    args = comparison.parse_args(['--preset', 'protocol'])
    assert args.pretrain_seeds == [0, 1, 2] and args.arms == ['mae', 'mae2x', 'mae+mask3d']
    assert args.outputs == '_protocol' and comparison.settings.PRIMARY['protocol'] == \
        'mae+mask3d:mae2x'
    cmds = _planned(capsys, '--preset', 'protocol', '--work-dir', str(tmp_path),
                    '--seeds', '0', '1')
    train = _by_dir(cmds)
    pre = {name for name in train if '_seed' not in name}
    assert pre == {f'{arm}{f"_pseed{p}" if p else ""}' for arm in ('mae', 'mae2x', 'mae+mask3d')
                   for p in range(3)}
    for p in range(3):
        name = f'_pseed{p}' if p else ''
        assert f'randomness.seed={p} ' in train[f'mae{name}'] + ' '
        assert f'pretrain/mae{name}_vit-tiny_rgb-encoder.pth' in train[f'mae+mask3d{name}']
        for seed in (0, 1):
            run = train[f'mae+mask3d{name}_seed{seed}']
            assert f'pretrain/mae+mask3d{name}_vit-tiny_rgb-encoder.pth' in run
            assert f'randomness.seed={seed} ' in run
    assert len(train) == 9 + 3 * 3 * 2
    tests = [c for c in cmds if 'tools/test.py' in c]  # the report split, from each run
    assert len(tests) == 3 * 3 * 2 and '/mae+mask3d_pseed2_seed1/iter_400.pth' in ' '.join(tests)


def test_pretrain_seeds_preset_repeats_the_main_arms_of_defaults(tmp_path, capsys):
    """MAE, the Mask3D defaults and the spec's baseline setting, 3 pre-training seeds each (no
    'scratch': nothing to pair over); seed 0 is the run of 'defaults' (same dirs and options)."""
    args = comparison.parse_args(['--preset', 'pretrain-seeds'])
    assert args.pretrain_seeds == [0, 1, 2] and args.outputs == '_pretrain-seeds'
    assert comparison.settings.PRIMARY['pretrain-seeds'] == 'mask3d:mae'
    assert 'pretrain-seeds' not in comparison.settings.PRIMARY_NAMED_BEFORE_RUNS
    cmds = _planned(capsys, '--preset', 'pretrain-seeds', '--work-dir', str(tmp_path),
                    '--seeds', '0')
    train = _by_dir(cmds)
    assert {name for name in train if '_seed' not in name} == {
        f'{arm}{f"_pseed{p}" if p else ""}' for arm in ('mae', 'mask3d', 'mask3d-spec')
        for p in range(3)}
    assert set(train) - {n for n in train if '_seed' not in n} == {
        f'{arm}{f"_pseed{p}" if p else ""}_seed0' for arm in ('mae', 'mask3d', 'mask3d-spec')
        for p in range(3)}
    spec = train['mask3d-spec_pseed2']
    assert 'model.head.norm_target=metric' in spec and '.complementary=False' in spec
    assert 'randomness.seed=2 ' in spec + ' '
    defaults = _by_dir(_planned(capsys, '--preset', 'defaults', '--work-dir', str(tmp_path),
                                '--seeds', '0'))
    for name in ('mae', 'mask3d', 'mask3d-spec', 'mae_seed0', 'mask3d-spec_seed0'):
        assert train[name] == defaults[name]


def test_scratch_is_refused_with_several_pretrain_seeds(tmp_path, capsys):
    with pytest.raises(SystemExit, match='no pre-training has none to pair over'):
        _planned(capsys, '--work-dir', str(tmp_path), '--arms', 'scratch', 'mae',
                 '--pretrain-seeds', '0', '4', '--seeds', '2')
    cmds = _planned(capsys, '--work-dir', str(tmp_path), '--arms', 'scratch', 'mae',
                    '--pretrain-seeds', '4', '--seeds', '2')
    assert set(_by_dir(cmds)) == {'mae_pseed4', 'scratch_seed2', 'mae_pseed4_seed2'}


def test_nest_averages_fine_tuning_seeds_per_pre_training():
    per_run = {'mae': {(0, 0): 11.0, (0, 1): 13.0, (1, 0): 12.0, (1, 1): 16.0},
               'mask3d': {(0, 0): 12.0, (0, 1): 12.0, (1, 0): 15.0, (1, 1): 17.0}}
    finals, unit = comparison.nest(per_run)
    assert unit == 'pre-training seed'
    assert finals == {'mae': {0: 12.0, 1: 14.0}, 'mask3d': {0: 12.0, 1: 16.0}}
    with pytest.raises(ValueError, match="'scratch' has no pre-training seed"):
        comparison.nest({**per_run, 'scratch': {(None, 0): 10.0, (None, 1): 12.0}})
    pair = comparison.summarize(finals, ['mask3d:mae'])['pairs']['mask3d:mae']
    assert pair['n'] == 2 and pair['mean'] == pytest.approx(1.0)  # (0 + 2) / 2, n = runs
    one, unit = comparison.nest({'mae': {(0, 3): 1.0, (0, 1): 2.0}, 'scratch': {(None, 1): 0.5}})
    assert unit == 'seed' and one == {'mae': {1: 2.0, 3: 1.0}, 'scratch': {1: 0.5}}


def test_study_json_with_pretrain_seeds_gives_nested_tables(tmp_path):
    rng = np.random.default_rng(0)
    runs = []
    for arm, base in (('mae', 10.0), ('mae2x', 10.5), ('mae+mask3d', 11.0)):
        for p in range(3):
            for seed in range(2):
                v = float(base + p + rng.normal(0, 0.3))
                runs += [dict(arm=arm, pretrain_seed=p, seed=seed, split=split,
                              metrics=dict(mIoU=v), command=f'cmd {arm} {p} {seed}',
                              code_commit=None, wall_s=1.0) for split in ('selection', 'report')]
    record = study_record('protocol', 'python tools/analysis_tools/compare_pretraining.py '
                          '--preset protocol', 'seg', 'class', ['mae', 'mae2x', 'mae+mask3d'],
                          ['mae+mask3d:mae2x'], 'mae+mask3d:mae2x', runs,
                          dict(pretrain=1.0, finetune=1.0, test=1.0), None)
    record['primary_named'] = 'before the runs'
    path = tmp_path / 'synthetic' / 'protocol.json'
    path.parent.mkdir()
    path.write_text(json.dumps(record))
    summary = load_study(str(path))['summary']['selection']
    assert summary['unit'] == 'pre-training seed'
    means = {arm: [np.mean([r['metrics']['mIoU'] for r in runs if r['arm'] == arm and
                            r['pretrain_seed'] == p and r['split'] == 'selection'])
                   for p in range(3)] for arm in ('mae2x', 'mae+mask3d')}
    pair = summary['pairs']['mae+mask3d:mae2x']
    diff = np.subtract(means['mae+mask3d'], means['mae2x'])
    assert pair['n'] == 3 and pair['mean'] == pytest.approx(diff.mean())
    assert summary['arms']['mae2x']['std'] == pytest.approx(np.std(means['mae2x'], ddof=1))
    blocks = rebuild([str(path.parent)])
    assert 'selection split (mean +- std over pre-training seeds)' in blocks['protocol-arms']
    assert 'MAE, then Mask3D - MAE 2x (mIoU; before the runs)' in blocks['primary']

    # named before its runs, the study is its own Holm family: the published studies' 28
    # tests keep their adjusted p, and its 2 tests are corrected only with each other
    from mask3d_mm.analysis.multiple_testing import holm
    from mask3d_mm.analysis.pretraining_comparison.doc_tables import holm_family
    from mask3d_mm.analysis.pretraining_comparison.study_json import load_studies
    from helpers.tools import REPO
    published = str(tmp_path / 'published')  # the shipped studies but their own protocol run
    shutil.copytree(osp.join(REPO, 'docs', 'results'), published,
                    ignore=shutil.ignore_patterns('protocol.json'))
    alone = holm_family(load_studies([published]))
    both = holm_family(load_studies([published, str(path.parent)]))
    assert len(both) == len(alone) + 2 and all(both[k] == v for k, v in alone.items())
    studies = load_studies([str(path.parent)])
    raw = [studies['protocol']['summary'][s]['pairs']['mae+mask3d:mae2x']['p']
           for s in ('selection', 'report')]
    assert [both['protocol', s, 'mae+mask3d:mae2x'] for s in ('selection', 'report')] == \
        pytest.approx(holm(raw))
    primary = rebuild([published, str(path.parent)])['primary']
    assert '| 2 tests of this study |' in primary and '| 28 tests of the studies named' in primary


def test_crops_command_of_the_docs_plans_its_runs(tmp_path, capsys):
    """docs/results.md's `--preset crops --seeds 0 1 2` (the study itself is not re-run here):
    4 Mask3D pre-trainings, 12 fine-tunings, the fixed-zoom options on their two arms."""
    cmds = _planned(capsys, '--preset', 'crops', '--seeds', '0', '1', '2',
                    '--work-dir', str(tmp_path))
    train = _by_dir(cmds)
    pre = {name for name in train if '_seed' not in name}
    assert pre == {'mask3d', 'mask3d-metric', 'mask3d-fixed-zoom', 'mask3d-metric+fixed-zoom'}
    assert len(train) == 4 + 4 * 3
    for name in pre:
        fixed = 'crop_ratio_range=(0.5,0.5)' in train[name]
        assert fixed == ('fixed-zoom' in name), name
        assert ('norm_target=metric' in train[name]) == ('metric' in name), name
