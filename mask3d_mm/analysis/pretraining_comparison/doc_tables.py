"""The tables of docs/results.md and the README, rebuilt from study JSONs
(``compare_pretraining.py --tables-from DIR``), with every paired test's Holm-adjusted p over
its family (:func:`holm_family`: the paired tests of all studies whose primary comparison was
named after their results together; those of a study that named it before its runs, alone).
In the docs each table sits between
``<!-- tables-from:NAME -->`` and ``<!-- /tables-from -->``; tests/test_docs_tables.py checks
that the text there equals what this module builds from docs/results/."""
import math
import re
from typing import Dict, List, Sequence, Tuple

from mask3d_mm.analysis.multiple_testing import holm
from .settings import LABELS as ARM_LABELS
from .study_json import SPLITS, load_studies

__all__ = ['rebuild', 'holm_family', 'family_of', 'family_size', 'marker_blocks', 'replace_blocks',
           'STUDY_ORDER']

STUDY_ORDER = ('defaults', 'pretrain-seeds', 'materials', 'depth', 'crops', 'protocol')
# the comparison's arm labels, and names for the Mask3D arm and the presets' variants
LABELS = {**ARM_LABELS,
          'mask3d': 'Mask3D (RGB-D), the defaults', 'mask3d-spec': 'Mask3D, baseline setting',
          'mask3d-metric': 'Mask3D, metric target',
          'mask3d-fixed-zoom': 'Mask3D, the defaults, fixed-zoom crops',
          'mask3d-metric+fixed-zoom': 'Mask3D, metric target, fixed-zoom crops',
          'mask3d-spec+complementary': 'Mask3D, baseline + complementary masks',
          'mask3d-spec+standardize': 'Mask3D, baseline + standardised target'}
SHORT = {'scratch': 'no pre-training', 'mae': 'MAE', 'mask3d': 'Mask3D',
         'mae2x': 'MAE 2x', 'mae+mask3d': 'MAE, then Mask3D',
         'mask3d-metric': 'metric', 'mask3d-fixed-zoom': 'standardised, fixed zoom',
         'mask3d-metric+fixed-zoom': 'metric, fixed zoom',
         'mask3d-spec': 'baseline', 'mask3d-spec+complementary': 'complementary masks',
         'mask3d-spec+standardize': 'standardised target'}
STUDY_TITLES = {'defaults': 'segmentation', 'materials': 'segmentation, class-independent '
                'materials', 'depth': 'depth estimation',
                'crops': 'segmentation, depth target x crop zoom',
                'protocol': "segmentation, the paper's protocol",
                'pretrain-seeds': 'segmentation, 3 pre-training seeds'}
METRIC_NAMES = {'mIoU': 'mIoU', 'abs_rel': 'AbsRel', 'rmse': 'RMSE (m)', 'd1': 'delta1'}
SUMMARY_ARMS = ('scratch', 'mae', 'mask3d-spec', 'mask3d')  # the README's rows
BLOCK = re.compile(r'<!-- tables-from:(\S+) -->\n(.*?)\n?<!-- /tables-from -->', re.S)


def _label(arm: str) -> str:
    return LABELS.get(arm, arm)


def _short(arm: str) -> str:
    return SHORT.get(arm, arm)


def fmt_p(p: float) -> str:
    """Two significant digits, '< 0.0001' below."""
    if math.isnan(p):
        return '-'
    return '< 0.0001' if p < 1e-4 else f'{p:.2g}'


def _unit(study: dict) -> str:
    if study['metric'] == 'mIoU':
        return 'mIoU (%)' + (', class-independent materials'
                             if study.get('materials') == 'independent' else '')
    return METRIC_NAMES.get(study['metric'], study['metric'])


def family_of(name: str, study: dict) -> str:
    """The Holm family of a study: its own name where the primary comparison was named
    before the runs (a pre-registered study is corrected within itself), else 'exploratory'
    (every study whose primary was named after its results, corrected together)."""
    return name if study.get('primary_named') == 'before the runs' else 'exploratory'


def holm_family(studies: Dict[str, dict]) -> Dict[Tuple[str, str, str], float]:
    """(study, split, pair) -> Holm-adjusted p over every paired test of its family
    (:func:`family_of`) among ``studies``."""
    keys: Dict[str, list] = {}
    raw: Dict[str, list] = {}
    for name, study in studies.items():
        family = family_of(name, study)
        for split in SPLITS:
            for pair, x in study['summary'][split]['pairs'].items():
                if not math.isnan(x['p']):
                    keys.setdefault(family, []).append((name, split, pair))
                    raw.setdefault(family, []).append(x['p'])
    return {k: p for family in keys for k, p in zip(keys[family], holm(raw[family]))}


def family_size(studies: Dict[str, dict], name: str) -> int:
    """How many paired tests the Holm family of study ``name`` holds."""
    family = family_of(name, studies[name])
    return sum(1 for n, s in studies.items() if family_of(n, s) == family
               for split in SPLITS for x in s['summary'][split]['pairs'].values()
               if not math.isnan(x['p']))


def _ordered(studies: Dict[str, dict]) -> List[str]:
    return ([s for s in STUDY_ORDER if s in studies]
            + sorted(s for s in studies if s not in STUDY_ORDER))


def arms_table(study: dict) -> str:
    d = study['digits']
    extra = study.get('extra_metrics') or []
    over = (' over pre-training seeds'
            if study['summary']['selection'].get('unit') == 'pre-training seed' else '')
    head = (f"| {_unit(study)} | selection split (mean +- std{over}) | report split (mean +- "
            f"std{over}) |"
            + (f" report {' / '.join(METRIC_NAMES.get(m, m) for m in extra)} (mean) |"
               if extra else ''))
    lines = [head, '|---|---|---|' + '---|' * bool(extra)]
    for arm in study['arms']:
        cells = []
        for split in SPLITS:
            v = study['summary'][split]['arms'].get(arm)
            cells.append('-' if v is None else f"{v['mean']:.{d}f} +- {v['std']:.{d}f}")
        if extra:
            v = study['summary']['report']['arms'].get(arm, {}).get('extra', {})
            cells.append(' / '.join(f'{v[m]:.3f}' if m in v else '-' for m in extra))
        lines.append(f'| {_label(arm)} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _pair_cell(x: dict, adjusted: float, d: int) -> str:
    return (f"{x['mean']:+.{d}f} [{x['low']:+.{d}f}, {x['high']:+.{d}f}], "
            f"p = {fmt_p(x['p'])}, Holm {fmt_p(adjusted)}")


def pairs_table(name: str, study: dict, family: Dict[tuple, float]) -> str:
    d = study['digits']
    better = 'higher' if study['higher_is_better'] else 'lower'
    metric = METRIC_NAMES.get(study['metric'], study['metric'])
    lines = [f"| paired difference ({metric}, {better} is better) | "
             'selection: mean [95 % interval], p, Holm p | '
             'report: mean [95 % interval], p, Holm p |', '|---|---|---|']
    for pair in study['pairs']:
        a, b = pair.split(':')
        cells = []
        for split in SPLITS:
            x = study['summary'][split]['pairs'].get(pair)
            cells.append('-' if x is None else _pair_cell(x, family.get((name, split, pair),
                                                                         math.nan), d))
        tag = ' (primary)' if pair == study.get('primary') else ''
        lines.append(f'| {_short(a)} - {_short(b)}{tag} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def primary_table(studies: Dict[str, dict], family: Dict[tuple, float]) -> str:
    lines = ['| study | primary comparison (when it was named) | report split: mean '
             '[95 % interval], p, Holm p | selection split: mean [95 % interval], p, Holm p '
             '| Holm family |', '|---|---|---|---|---|']
    for name in _ordered(studies):
        study = studies[name]
        pair = study.get('primary')
        if not pair:
            continue
        a, b = pair.split(':')
        cells = [_pair_cell(study['summary'][s]['pairs'][pair],
                            family.get((name, s, pair), math.nan), study['digits'])
                 for s in ('report', 'selection')]
        metric = METRIC_NAMES.get(study['metric'], study['metric'])
        named = study.get('primary_named', 'after the results')
        size = family_size(studies, name)
        members = ('this study' if family_of(name, study) == name else
                   'the studies named after their results')
        lines.append(f"| {name}: {STUDY_TITLES.get(name, study['metric'])} | "
                     f"{_short(a)} - {_short(b)} ({metric}; {named}) | " + ' | '.join(cells)
                     + f' | {size} tests of {members} |')
    return '\n'.join(lines)


def summary_table(studies: Dict[str, dict]) -> str:
    """The README's table: report split, mean +- std per arm (:data:`SUMMARY_ARMS`) and
    study, of the studies that have MAE and Mask3D."""
    names = [n for n in _ordered(studies) if {'mae', 'mask3d'} <= set(studies[n]['arms'])]
    arms = [a for a in SUMMARY_ARMS if any(a in studies[n]['arms'] for n in names)]
    lines = ['| pre-training | ' + ' | '.join(
        f"{STUDY_TITLES.get(n, n)}, {_unit(studies[n]).split(',')[0]}" for n in names) + ' |',
        '|---|' + '---|' * len(names)]
    for arm in arms:
        cells = []
        for name in names:
            v = studies[name]['summary']['report']['arms'].get(arm)
            d = studies[name]['digits']
            cells.append('-' if v is None else f"{v['mean']:.{d}f} +- {v['std']:.{d}f}")
        lines.append(f'| {_label(arm)} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def demo_block(paths: Sequence[str]) -> Dict[str, str]:
    """``{'demo': markdown}`` of the first ``tools/demo.py`` summary JSON among ``paths``
    (files, or the files of folders; :mod:`mask3d_mm.analysis.demo_summary`), else {}."""
    import glob
    import json
    import os.path as osp
    from mask3d_mm.analysis.demo_summary import FORMAT, demo_tables
    for path in paths:
        for f in sorted(glob.glob(osp.join(path, '*.json'))) if osp.isdir(path) else [path]:
            with open(f) as fh:
                try:
                    record = json.load(fh)
                except json.JSONDecodeError:
                    continue
            if isinstance(record, dict) and record.get('format') == FORMAT:
                return {'demo': demo_tables(record)}
    return {}


def rebuild(paths: Sequence[str]) -> Dict[str, str]:
    """Block name -> markdown of every table the study JSONs in ``paths`` give:
    ``<study>-arms``, ``<study>-pairs``, ``primary`` and ``summary``; and ``demo`` where a
    summary of ``tools/demo.py`` is among them."""
    studies = load_studies(paths)
    family = holm_family(studies)
    blocks = {}
    for name in _ordered(studies):
        blocks[f'{name}-arms'] = arms_table(studies[name])
        blocks[f'{name}-pairs'] = pairs_table(name, studies[name], family)
    blocks['primary'] = primary_table(studies, family)
    blocks['summary'] = summary_table(studies)
    blocks.update(demo_block(paths))
    return blocks


def marker_blocks(text: str) -> List[Tuple[str, str]]:
    """(name, content) of every ``<!-- tables-from:NAME -->`` block of a document."""
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(text)]


def replace_blocks(text: str, blocks: Dict[str, str]) -> str:
    """``text`` with the content of each marker block whose name ``blocks`` has replaced."""
    def sub(m: re.Match) -> str:
        name = m.group(1)
        body = blocks.get(name, m.group(2))
        return f'<!-- tables-from:{name} -->\n{body}\n<!-- /tables-from -->'
    return BLOCK.sub(sub, text)
