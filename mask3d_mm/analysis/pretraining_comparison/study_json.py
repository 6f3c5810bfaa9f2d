"""The per-run JSON of a study (``WORK_DIR/<study>.json``, shipped as ``docs/results/*.json``):
one record per arm, pre-training seed, fine-tuning seed and split with every metric of the
run, its exact command, the code commit it ran at and its wall time; or, where the runs were
not kept, the published summary (``"granularity": "summary (per-seed runs not kept)"``).
Either way :func:`load_study` gives the same per-split summary (:func:`.results.summarize`'s
shape) for the tables."""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from .results import nest, summarize

__all__ = ['FORMAT', 'PER_RUN', 'SUMMARY', 'study_record', 'load_study', 'load_studies']

FORMAT = 'mask3d_mm.pretraining_comparison/v1'
PER_RUN = 'per-seed runs'
SUMMARY = 'summary (per-seed runs not kept)'
SPLITS = ('selection', 'report')


def study_record(study: str, command: str, task: str, materials: str, arms: Sequence[str],
                 pairs: Sequence[str], primary: Optional[str], runs: List[dict],
                 wall_minutes: Dict[str, float], code_commit: Optional[str]) -> dict:
    """The per-run JSON of one study.

    Args:
        study (str): the preset's name ('custom' without one).
        command (str): the command line of the comparison.
        task (str): its :data:`.settings.TASKS` key ('seg' / 'depth').
        materials (str): the generator's materials option of the data.
        arms, pairs (Sequence[str]): in the order of the tables; pairs as 'A:B' (A - B).
        primary (str, optional): the study's primary pair.
        runs (list[dict]): per arm, seed and split: ``arm``, ``pretrain_seed`` (None
            without pre-training; absent: 0), ``seed``, ``split`` ('selection' / 'report'),
            ``metrics`` (name -> value), ``command``, ``code_commit``, ``wall_s``.
        wall_minutes (dict): recorded compute per kind of run.
        code_commit (str, optional): the commit of the checkout writing the file.
    """
    from .settings import TASKS
    spec = TASKS[task]
    return dict(format=FORMAT, study=study, granularity=PER_RUN, command=command,
                code_commit=code_commit, task=task, metric=spec['metric'],
                higher_is_better=spec['higher'], digits=spec['digits'],
                extra_metrics=list(spec.get('extra', ())), materials=materials,
                arms=list(arms), pairs=list(pairs), primary=primary,
                wall_minutes=wall_minutes, runs=runs)


def _summary_from_runs(record: dict) -> Dict[str, dict]:
    """Per split :func:`summarize` of the runs (over pre-training seeds, of the means over
    fine-tuning seeds, where there are several: :func:`.results.nest`), plus the mean of each
    extra metric per arm."""
    out = {}
    for split in SPLITS:
        runs = [r for r in record['runs'] if r['split'] == split]
        per_run: Dict[str, dict] = {a: {} for a in record['arms']}
        for r in runs:
            pseed = r.get('pretrain_seed', None if r['arm'] == 'scratch' else 0)
            per_run[r['arm']][pseed, int(r['seed'])] = float(r['metrics'][record['metric']])
        finals, unit = nest({a: v for a, v in per_run.items() if v})
        summary = dict(summarize(finals, record['pairs']), unit=unit)
        for arm, v in summary['arms'].items():
            v['n'] = len(v['final'])
            extra = {m: float(np.mean([r['metrics'][m] for r in runs if r['arm'] == arm]))
                     for m in record.get('extra_metrics', ())
                     if all(m in r['metrics'] for r in runs if r['arm'] == arm)}
            if extra and split == 'report':
                v['extra'] = extra
        out[split] = summary
    return out


def load_study(path: str) -> dict:
    """A study's JSON with its ``summary`` (per split: ``arms`` -> mean / std / n [/ extra],
    ``pairs`` -> n / mean / low / high / p), computed from the runs when the file has them.

    Raises:
        ValueError: the file is not a study JSON of this format, or misses what its
            granularity needs.
    """
    with open(path) as f:
        record = json.load(f)
    if record.get('format') != FORMAT:
        raise ValueError(f'{path}: not a study JSON (format {record.get("format")!r}, '
                         f'expected {FORMAT!r})')
    if record.get('granularity') == PER_RUN:
        if not record.get('runs'):
            raise ValueError(f'{path}: granularity {PER_RUN!r} but no runs')
        record['summary'] = _summary_from_runs(record)
    elif record.get('granularity') == SUMMARY:
        if set(record.get('summary', {})) != set(SPLITS):
            raise ValueError(f'{path}: a summary needs the splits {SPLITS}')
    else:
        raise ValueError(f'{path}: unknown granularity {record.get("granularity")!r}')
    record['path'] = path
    return record


def load_studies(paths: Sequence[str]) -> Dict[str, dict]:
    """Study name -> :func:`load_study` of every study JSON in ``paths`` (files or folders);
    of two files of one study the per-run one wins (then the later path).

    Raises:
        FileNotFoundError: a path does not exist or holds no study JSON.
    """
    studies: Dict[str, dict] = {}
    for path in paths:
        if osp.isdir(path):
            files = []
            for f in sorted(glob.glob(osp.join(path, '*.json'))):
                with open(f) as fh:
                    try:
                        if json.load(fh).get('format') == FORMAT:
                            files.append(f)
                    except (json.JSONDecodeError, AttributeError):
                        continue
        elif osp.isfile(path):
            files = [path]
        else:
            raise FileNotFoundError(f'{path}: no such file or folder')
        if not files:
            raise FileNotFoundError(f'{path}: no study JSON (format {FORMAT}) in it')
        for f in files:
            record = load_study(f)
            old = studies.get(record['study'])
            if old is None or record['granularity'] == PER_RUN or old['granularity'] != PER_RUN:
                studies[record['study']] = record
    return studies
