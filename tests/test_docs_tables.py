"""The result tables of README.md and docs/results.md are rebuilt from the JSON shipped in
docs/results/ (``compare_pretraining.py --tables-from docs/results``): the text between
``<!-- tables-from:NAME -->`` and ``<!-- /tables-from -->`` must equal the rebuilt block.
Also: Holm's correction, the shipped summary JSON against itself, the per-run format."""
import json
import os.path as osp
import re

import numpy as np
import pytest

from helpers.tools import REPO
from mask3d_mm.analysis import holm
from mask3d_mm.analysis.pretraining_comparison import summarize
from mask3d_mm.analysis.pretraining_comparison.doc_tables import (holm_family, marker_blocks,
                                                                   rebuild, replace_blocks)
from mask3d_mm.analysis.pretraining_comparison.study_json import (PER_RUN, SUMMARY,
                                                                  load_studies, study_record)

RESULTS = osp.join(REPO, 'docs', 'results')
DOCS = ('README.md', 'docs/results.md')


def test_holm_against_a_hand_computation():
    # sorted 0.01 < 0.02 < 0.03 < 0.04 < 0.5: times 5, 4, 3, 2, 1, then the running maximum
    raw = [0.04, 0.01, 0.5, 0.03, 0.02]
    assert holm(raw) == pytest.approx([0.09, 0.05, 0.5, 0.09, 0.08])
    assert holm([0.3, 0.9]) == pytest.approx([0.6, 0.9])  # capped by the running max, not 1
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([]) == [] and holm([0.02]) == [0.02]
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        holm([0.1, float('nan')])


def test_holm_matches_statsmodels():
    multitest = pytest.importorskip('statsmodels.stats.multitest')
    raw = list(np.random.default_rng(0).uniform(0, 0.2, 24))
    expected = multitest.multipletests(raw, method='holm')[1]
    assert holm(raw) == pytest.approx(list(expected))


def test_shipped_summary_is_consistent():
    """The summary JSON transcribes docs/results.md as published: each p-value agrees with
    its interval (t with 4 dof) and each paired mean with the arms' means, to the rounding."""
    from scipy import stats
    studies = {n: s for n, s in load_studies([RESULTS]).items() if s['granularity'] == SUMMARY}
    assert set(studies) == {'defaults', 'materials', 'depth'}
    t975 = stats.t.ppf(0.975, 4)
    for name, study in studies.items():
        assert study['granularity'] == SUMMARY and study['primary'] == 'mask3d:mae'
        unit = 10 ** -study['digits']
        for split in ('selection', 'report'):
            arms, pairs = study['summary'][split]['arms'], study['summary'][split]['pairs']
            assert list(pairs) == study['pairs']
            for pair, x in pairs.items():
                a, b = pair.split(':')
                assert x['low'] < x['mean'] < x['high'], (name, split, pair)
                assert abs((x['low'] + x['high']) / 2 - x['mean']) <= unit, (name, split, pair)
                assert abs(arms[a]['mean'] - arms[b]['mean'] - x['mean']) <= 2 * unit
                t = x['mean'] / ((x['high'] - x['low']) / 2 / t975)
                assert 2 * stats.t.sf(abs(t), 4) == pytest.approx(x['p'], rel=0.25), \
                    (name, split, pair)


def test_docs_tables_equal_the_rebuilt_ones():
    blocks = rebuild([RESULTS])
    family = holm_family(load_studies([RESULTS]))
    # 6 + 3 + 3 pairs of the published summaries, the 4 pairs of crops.json, the 3 of
    # protocol.json and the 2 of pretrain-seeds.json, on 2 splits
    assert len(family) == 24 + 8 + 6 + 4
    seen = set()
    for doc in DOCS:
        with open(osp.join(REPO, doc)) as f:
            text = f.read()
        found = marker_blocks(text)
        assert text.count('<!-- tables-from:') == len(found), f'{doc}: an unclosed block'
        for name, content in found:
            assert name in blocks, f'{doc}: no table {name!r} is built (have {sorted(blocks)})'
            assert content == blocks[name], (
                f'{doc}: block {name!r} differs from `python tools/analysis_tools/'
                'compare_pretraining.py --tables-from docs/results` (--update-docs rewrites '
                f'it):\n{content}\n---\n{blocks[name]}')
            seen.add(name)
    assert seen == set(blocks), f'tables built but shown nowhere: {set(blocks) - seen}'


def test_the_primary_comparisons_do_not_survive_holm():
    """What the README says: no Mask3D - MAE difference survives the correction, nor does
    MAE-then-Mask3D - MAE 2x; MAE-then-Mask3D - MAE does on the report split only."""
    studies = load_studies([RESULTS])
    family = holm_family(studies)
    for name in ('defaults', 'materials', 'depth', 'pretrain-seeds'):
        for split in ('selection', 'report'):
            assert family[(name, split, 'mask3d:mae')] > 0.05
    assert family[('materials', 'report', 'mask3d:mae')] == pytest.approx(0.012 * 18)
    # the paper's comparison neither; Mask3D after MAE over its MAE start does (report split)
    assert min(family[('protocol', s, 'mae+mask3d:mae2x')] for s in ('selection', 'report')) > 0.05
    assert family[('protocol', 'report', 'mae+mask3d:mae')] < 0.05
    assert family[('protocol', 'selection', 'mae+mask3d:mae')] > 0.05


def _per_run_record(values: dict) -> dict:
    runs = [dict(arm=arm, seed=seed, split=split,
                 metrics=dict(mIoU=v + (split == 'report'), mAcc=50.0), command=f'cmd {arm}',
                 code_commit='abc', wall_s=60.0)
            for arm, per_seed in values.items() for seed, v in per_seed.items()
            for split in ('selection', 'report')]
    return study_record('defaults', 'python tools/analysis_tools/compare_pretraining.py '
                        '--preset defaults', 'seg', 'class', list(values),
                        ['mae:scratch', 'mask3d:scratch', 'mask3d:mae'], 'mask3d:mae', runs,
                        dict(pretrain=1.0, finetune=2.0, test=0.5), 'abc')


def test_per_run_json_gives_the_tables_and_wins_over_the_summary(tmp_path):
    values = {'scratch': {s: 10.0 + 0.3 * s for s in range(5)},
              'mae': {s: 10.5 + 0.2 * s + 0.1 * (s % 2) for s in range(5)},
              'mask3d': {s: 11.0 + 0.25 * s - 0.2 * (s % 3) for s in range(5)}}
    record = _per_run_record(values)
    assert record['granularity'] == PER_RUN
    with open(tmp_path / 'defaults.json', 'w') as f:
        json.dump(record, f)
    # the per-run file beside the shipped summary of the same study: the runs win
    studies = load_studies([RESULTS, str(tmp_path / 'defaults.json')])
    assert studies['defaults']['granularity'] == PER_RUN
    assert studies['materials']['granularity'] == SUMMARY
    expected = summarize(values, record['pairs'])
    got = studies['defaults']['summary']['selection']
    for pair, x in expected['pairs'].items():
        for key in ('mean', 'low', 'high', 'p'):
            assert got['pairs'][pair][key] == pytest.approx(x[key])
    assert got['arms']['mae']['mean'] == pytest.approx(np.mean(list(values['mae'].values())))
    report = studies['defaults']['summary']['report']['arms']['mae']['mean']
    assert report == pytest.approx(got['arms']['mae']['mean'] + 1)
    blocks = rebuild([RESULTS, str(tmp_path)])
    mae = expected['arms']['mae']
    assert f"| MMPretrain MAE (RGB) | {mae['mean']:.2f} +- {mae['std']:.2f} |" in \
        blocks['defaults-arms']
    assert 'Mask3D, baseline setting' not in blocks['defaults-arms']  # not in these runs


def test_load_refuses_what_is_not_a_study(tmp_path):
    (tmp_path / 'other.json').write_text('{"a": 1}')
    with pytest.raises(FileNotFoundError, match='no study JSON'):
        load_studies([str(tmp_path)])
    with pytest.raises(ValueError, match='not a study JSON'):
        load_studies([str(tmp_path / 'other.json')])
    broken = _per_run_record({'mae': {0: 1.0}})
    broken['granularity'] = 'per-frame'
    (tmp_path / 'x.json').write_text(json.dumps(broken))
    with pytest.raises(ValueError, match="unknown granularity 'per-frame'"):
        load_studies([str(tmp_path / 'x.json')])


def test_update_docs_rewrites_only_marked_blocks(tmp_path, capsys):
    """``compare_pretraining.py --tables-from DIR --update-docs DOC`` (its main, in process)."""
    from mask3d_mm.analysis.pretraining_comparison import main
    doc = tmp_path / 'doc.md'
    doc.write_text('intro\n<!-- tables-from:primary -->\nold table\n<!-- /tables-from -->\n'
                   '<!-- tables-from:unknown -->\nkept\n<!-- /tables-from -->\nend\n')
    main(['--tables-from', RESULTS, '--update-docs', str(doc)])
    out = capsys.readouterr()
    text = doc.read_text()
    primary = rebuild([RESULTS])['primary']
    assert text == ('intro\n<!-- tables-from:primary -->\n' + primary +
                    '\n<!-- /tables-from -->\n<!-- tables-from:unknown -->\nkept\n'
                    '<!-- /tables-from -->\nend\n')
    assert primary in out.out and f"{doc}: updated" in out.out
    assert replace_blocks(text, rebuild([RESULTS])) == text
    assert len(primary.splitlines()) == 2 + 6  # header, rule, one row per study


def test_demo_summary_spread_and_orderings():
    """tools/demo.py's table: mean +- std (min-max) over the mask seeds and, per baseline and
    metric, on how many seeds the model is better (lower AbsRel / RMSE, higher delta)."""
    from mask3d_mm.analysis.demo_summary import ROWS, demo_summary, demo_tables

    def metrics(model_abs_rel: float) -> dict:
        out = {}
        for row, (key, _) in ROWS.items():
            value = dict(mask3d=model_abs_rel, mask3d_aligned=0.1, patch=0.2, pixel=0.12)[row]
            out.update({key.format('abs_rel'): value, key.format('rmse'): 5 * value,
                        key.format('delta1'): 1 - value})
        return out
    summary = demo_summary({0: metrics(0.10), 1: metrics(0.13), 2: metrics(0.11)}, 12.34,
                           val_frames='20 frames of 2 scenes', pretrain_iters=750,
                           finetune_iters=200)
    text = demo_tables(summary)
    assert '| Mask3D, metres with visible-depth statistics | 0.113 +- 0.015 (0.100-0.130) |' \
        in text
    assert '| Mask3D vs nearest visible pixel | 2/3 | 2/3 | 2/3 |' in text
    assert '| Mask3D vs nearest visible patch | 3/3 | 3/3 | 3/3 |' in text
    assert '**12.3 mIoU**' in text and '3 mask seeds' in text
    assert 'mIoU' not in demo_tables(demo_summary({0: metrics(0.1)}, None, val_frames='x',
                                                  pretrain_iters=1, finetune_iters=None))


def test_shipped_crops_study_is_per_run_and_its_own_family():
    """docs/results/crops.json: the per-run record of section 4 (12 runs x 2 splits, 3 seeds
    per arm), its primary named before its runs, Holm-corrected over its own 8 tests."""
    studies = load_studies([RESULTS])
    crops = studies['crops']
    assert crops['granularity'] == PER_RUN and crops['primary_named'] == 'before the runs'
    assert len(crops['runs']) == 4 * 3 * 2
    assert {r['seed'] for r in crops['runs']} == {0, 1, 2}
    assert all(re.fullmatch(r'[0-9a-f]{40}', r['code_commit']) and r['wall_s'] > 0
               for r in crops['runs'])
    family = holm_family(studies)
    keys = [k for k in family if k[0] == 'crops']
    raw = [crops['summary'][split]['pairs'][pair]['p'] for _, split, pair in keys]
    assert len(keys) == 8 and [family[k] for k in keys] == pytest.approx(holm(raw))


def test_shipped_protocol_study_nests_fine_tuning_in_pre_training_seeds():
    """docs/results/protocol.json: section 5's runs (3 arms x 3 pre-training seeds x 5
    fine-tuning seeds x 2 splits); the primary's paired test is over the 3 per-pre-training
    means (hand computation), in a Holm family of the study's own 6 tests."""
    from scipy import stats
    studies = load_studies([RESULTS])
    protocol = studies['protocol']
    assert protocol['granularity'] == PER_RUN and protocol['primary_named'] == 'before the runs'
    runs = protocol['runs']
    assert len(runs) == 3 * 3 * 5 * 2
    assert {(r['pretrain_seed'], r['seed']) for r in runs} == {(p, s) for p in range(3)
                                                              for s in range(5)}

    def means(arm: str) -> list:
        return [sum(r['metrics']['mIoU'] for r in runs if r['arm'] == arm
                    and r['split'] == 'report' and r['pretrain_seed'] == p) / 5
                for p in range(3)]
    diff = [a - b for a, b in zip(means('mae+mask3d'), means('mae2x'))]
    pair = protocol['summary']['report']['pairs']['mae+mask3d:mae2x']
    assert pair['n'] == 3 and pair['mean'] == pytest.approx(sum(diff) / 3, abs=1e-6)
    assert pair['p'] == pytest.approx(stats.ttest_1samp(diff, 0).pvalue, rel=1e-6)
    family = holm_family(studies)
    assert len([k for k in family if k[0] == 'protocol']) == 6


def test_shipped_pretrain_seeds_study_tests_over_pre_training_seeds():
    """docs/results/pretrain-seeds.json: section 6's runs (MAE, the Mask3D defaults and the
    baseline setting x 3 pre-training seeds x 5 fine-tuning seeds, on 2 splits); Mask3D - MAE
    is a paired t over the 3 per-pre-training means (hand computation) in the Holm family of
    the studies named after their results."""
    from scipy import stats
    studies = load_studies([RESULTS])
    study = studies['pretrain-seeds']
    assert study['granularity'] == PER_RUN and study['primary'] == 'mask3d:mae'
    assert study.get('primary_named') != 'before the runs'
    runs = study['runs']
    assert len(runs) == 3 * 3 * 5 * 2
    for arm in ('mae', 'mask3d', 'mask3d-spec'):
        assert sorted((r['pretrain_seed'], r['seed']) for r in runs if r['arm'] == arm
                      and r['split'] == 'report') == [(p, s) for p in range(3) for s in range(5)]

    def means(arm: str, split: str) -> list:
        return [np.mean([r['metrics']['mIoU'] for r in runs if r['arm'] == arm
                         and r['split'] == split and r['pretrain_seed'] == p])
                for p in range(3)]
    family = holm_family(studies)
    for split in ('selection', 'report'):
        diff = np.subtract(means('mask3d', split), means('mae', split))
        pair = study['summary'][split]['pairs']['mask3d:mae']
        assert pair['n'] == 3 and pair['mean'] == pytest.approx(diff.mean(), abs=1e-6)
        assert pair['p'] == pytest.approx(stats.ttest_1samp(diff, 0).pvalue, rel=1e-6)
        assert family[('pretrain-seeds', split, 'mask3d:mae')] > 0.05  # the README's claim
    exploratory = [k for k in family if k[0] in ('defaults', 'materials', 'depth',
                                                 'pretrain-seeds')]
    assert len(exploratory) == len([k for k in family if k[0] != 'crops'
                                    and k[0] != 'protocol']) == 24 + 4
