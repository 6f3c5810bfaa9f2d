"""The comparison end to end (``tools/analysis_tools/compare_pretraining.py``)."""
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

from mask3d_mm.analysis.provenance import code_commit
from mask3d_mm.tooling import ensure_data, read_scalars
from mask3d_mm.tooling.tool_runs import command_line
from .doc_tables import rebuild, replace_blocks
from .report import plot, write_report
from .results import decide, nest, summarize
from .runs import Commands, curves, finetune, pretrain, report_metric, run_name
from .settings import ARMS, LABELS, PRIMARY, PRIMARY_NAMED_BEFORE_RUNS, REPO, TASKS, parse_args
from .study_json import study_record

__all__ = ['main']


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run (or with ``--dry-run`` list) the comparison that ``argv`` asks for, then write and
    print its report."""
    args = parse_args(argv)
    if args.tables_from:
        tables_from(args.tables_from, args.update_docs)
        return
    start = time.time()
    cmds = Commands(args.dry_run, args.work_dir)
    arms = [a for a in ARMS if a in args.arms]
    if 'mae+mask3d' in arms and 'mae' not in arms:
        raise SystemExit('--arms mae+mask3d starts from the export of the mae arm: add mae')
    if 'scratch' in arms and len(args.pretrain_seeds) > 1:
        raise SystemExit('--arms scratch with several --pretrain-seeds: the paired tests are '
                         'over pre-training seeds and no pre-training has none to pair over; '
                         'compare it in a run with one pre-training seed')
    variants = {}
    for name, *options in args.variant:
        if not options or not all('=' in o for o in options):
            raise SystemExit(f'--variant {name}: give KEY=VALUE config options after the name')
        arm = f'mask3d-{name}'
        variants[arm] = options
        arms.append(arm)
        LABELS[arm] = f'Mask3D ({name})'
    pairs = args.pairs or ([f'{a}:scratch' for a in arms if a != 'scratch' and 'scratch' in arms]
                           + ['mask3d:mae'] * ('mask3d' in arms and 'mae' in arms))
    for pair in pairs:
        if pair.count(':') != 1 or not set(pair.split(':')) <= set(arms):
            raise SystemExit(f'--pairs {pair}: give ARM:BASE of two arms of {arms}')
    print(f'==== data: {args.data_root} (selection), {args.report_data_root} (report)', flush=True)
    if not args.dry_run:
        materials = ('--materials', args.materials)
        ensure_data(REPO, args.data_root, args.num_scenes, args.frames_per_scene, *materials)
        ensure_data(REPO, args.report_data_root, args.report_scenes, args.report_frames,
                    '--seed', '1', '--val-fraction', '1', *materials)
    encoders = {}
    for pseed in args.pretrain_seeds:
        for arm in arms:
            if arm != 'scratch':
                print(f'\n==== pre-training: {LABELS[arm]}, seed {pseed}', flush=True)
                encoders[arm, pseed] = pretrain(cmds, arm, args, variants.get(arm, ()), pseed)
    task = TASKS[args.task]
    units = fine_tuning_runs(arms, args.seeds, args.pretrain_seeds)
    runs: Dict[str, Dict[tuple, Dict[str, list]]] = {arm: {} for arm in arms}
    report: Dict[str, Dict[tuple, float]] = {arm: {} for arm in arms}
    for done, (seed, pseed, arm) in enumerate(units, 1):
        of = '' if pseed is None or len(args.pretrain_seeds) == 1 else f' of pre-training {pseed}'
        print(f'\n==== fine-tuning {done}/{len(units)} ({args.task}): {LABELS[arm]}{of}, seed '
              f'{seed} ({(time.time() - start) / 60:.1f} min so far)', flush=True)
        work_dir = finetune(cmds, arm, seed, encoders.get((arm, pseed)), args, pseed or 0)
        if not args.dry_run:
            runs[arm][pseed, seed] = curves(work_dir, task['metric'])
            report[arm][pseed, seed] = report_metric(work_dir, task['metric'])
    if args.dry_run:
        return
    selection_finals, unit = nest({a: {k: c['val'][-1][1] for k, c in r.items()}
                                   for a, r in runs.items()})
    selection = dict(summarize(selection_finals, pairs), unit=unit)
    reported = dict(summarize(nest(report)[0], pairs), unit=unit)
    decision = decide(selection) if args.decide else None
    os.makedirs(args.work_dir, exist_ok=True)
    curves_png = osp.join(args.work_dir, f'learning_curves{args.outputs}.png')
    plot(runs, curves_png, task)
    text = write_report(selection, reported, decision, cmds, args, (time.time() - start) / 60)
    study = write_study(cmds, args, units, pairs, argv)
    print(f'\n==== result ({(time.time() - start) / 60:.1f} min)\n{text}\n'
          f"report: {osp.join(args.work_dir, 'results' + args.outputs + '.md')}\n"
          f'curves: {curves_png}\nper-run JSON: {study}')


def fine_tuning_runs(arms: Sequence[str], seeds: Sequence[int], pretrain_seeds: Sequence[int]
                     ) -> List[Tuple[int, Optional[int], str]]:
    """``(seed, pre-training seed, arm)`` of every fine-tuning run, in the order they run:
    fine-tuning seeds outermost (an early stop still compares all arms), then pre-training
    seeds; 'scratch' has pre-training seed None (main allows it with one pre-training seed)."""
    return [(seed, None if arm == 'scratch' else pseed, arm) for seed in seeds
            for pseed in pretrain_seeds for arm in arms]


def _run_records(cmds: Commands, args, arm: str, seed: int,
                 pretrain_seed: Optional[int]) -> List[dict]:
    """The selection (last validation) and report (tools/test.py) records of one
    fine-tuning run: every metric, the command, its commit and wall time."""
    task = TASKS[args.task]
    work_dir = osp.join(args.work_dir, task['dirname'],
                        run_name(arm, pretrain_seed or 0, seed))
    train_dir, test_dir = (command_line(REPO, ['--work-dir', d])[len('python '):] + ' '
                           for d in (work_dir, osp.join(work_dir, 'report')))
    train = next(c for c in cmds.lines if '/train.py ' in c and train_dir in c)
    test = next(c for c in cmds.lines if '/test.py ' in c and test_dir in c)
    last = [r for r in read_scalars(work_dir) if task['metric'] in r][-1]
    with open(osp.join(work_dir, 'report_metrics.json')) as f:
        tested = json.load(f)
    metrics = {'selection': {k: v for k, v in last.items() if k not in ('step', 'iter')
                             and isinstance(v, (int, float))},
               'report': {k: v for k, v in tested.items() if isinstance(v, (int, float))}}
    return [dict(arm=arm, pretrain_seed=pretrain_seed, seed=seed, split=split,
                 metrics=metrics[split], command=line, code_commit=cmds.commits.get(line),
                 wall_s=cmds.timings.get(line))
            for split, line in (('selection', train), ('report', test))]


def write_study(cmds: Commands, args, units: Sequence[tuple], pairs: Sequence[str],
                argv: Optional[Sequence[str]]) -> str:
    """Write the per-run JSON (:mod:`.study_json`) of this comparison as
    ``WORK_DIR/<preset>.json`` (``custom[_depth].json`` without a preset); its path."""
    task = TASKS[args.task]
    name = args.preset or 'custom' + task['outputs']
    arms = list(dict.fromkeys(arm for _, _, arm in units))
    runs = [r for seed, pseed, arm in units for r in _run_records(cmds, args, arm, seed, pseed)]
    argv = sys.argv[1:] if argv is None else list(argv)
    record = study_record(
        name, ' '.join(['python', 'tools/analysis_tools/compare_pretraining.py', *argv]),
        args.task, args.materials, arms, pairs, PRIMARY.get(args.preset), runs,
        {k: round(cmds.minutes(v), 2) for k, v in (('pretrain', '/train.py configs/benchmarks/'
                                                     'pretrain'), ('test', '/test.py'))},
        code_commit(REPO))
    if record['primary']:  # only a primary named before the runs is a pre-registered test
        record['primary_named'] = ('before the runs' if args.preset in PRIMARY_NAMED_BEFORE_RUNS
                                   else 'after the results')
    record['wall_minutes']['finetune'] = round(sum(
        r['wall_s'] or 0 for r in runs if r['split'] == 'selection') / 60, 2)
    path = osp.join(args.work_dir, f'{name}.json')
    with open(path, 'w') as f:
        json.dump(record, f, indent=1)
    return path


def tables_from(paths: Sequence[str], docs: Optional[Sequence[str]]) -> None:
    """Print the tables (:func:`.doc_tables.rebuild`) of the study JSONs in ``paths``;
    with ``docs`` (``[]``: README.md and docs/results.md) rewrite their marker blocks."""
    blocks = rebuild(paths)
    for name, text in blocks.items():
        print(f'<!-- tables-from:{name} -->\n{text}\n<!-- /tables-from -->\n')
    if docs is None:
        return
    for doc in docs or [osp.join(REPO, 'README.md'), osp.join(REPO, 'docs', 'results.md')]:
        with open(doc) as f:
            text = f.read()
        new = replace_blocks(text, blocks)
        if new != text:
            with open(doc, 'w') as f:
                f.write(new)
        print(f"{doc}: {'updated' if new != text else 'unchanged'}")
