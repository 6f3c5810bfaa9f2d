"""The comparison end to end (``tools/analysis_tools/compare_pretraining.py``)."""
import os
import os.path as osp
import time
from typing import Dict, Optional, Sequence

from mask3d_mm.tooling import ensure_data
from .report import plot, write_report
from .results import decide, summarize
from .runs import Commands, curves, finetune, pretrain, report_metric
from .settings import ARMS, LABELS, REPO, TASKS, parse_args

__all__ = ['main']


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run (or with ``--dry-run`` list) the comparison that ``argv`` asks for, then write and
    print its report."""
    args = parse_args(argv)
    start = time.time()
    cmds = Commands(args.dry_run, args.work_dir)
    arms = [a for a in ARMS if a in args.arms]
    if 'mae+mask3d' in arms and 'mae' not in arms:
        raise SystemExit('--arms mae+mask3d starts from the export of the mae arm: add mae')
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
    encoders = {'scratch': None}
    for arm in arms:
        if arm != 'scratch':
            print(f'\n==== pre-training: {LABELS[arm]}', flush=True)
            encoders[arm] = pretrain(cmds, arm, args, variants.get(arm, ()))
    task = TASKS[args.task]
    runs: Dict[str, Dict[int, Dict[str, list]]] = {arm: {} for arm in arms}
    report: Dict[str, Dict[int, float]] = {arm: {} for arm in arms}
    total, done = len(arms) * len(args.seeds), 0
    for seed in args.seeds:  # seeds outermost: an early stop still compares all arms
        for arm in arms:
            done += 1
            print(f'\n==== fine-tuning {done}/{total} ({args.task}): {LABELS[arm]}, seed {seed} '
                  f'({(time.time() - start) / 60:.1f} min so far)', flush=True)
            work_dir = finetune(cmds, arm, seed, encoders[arm], args)
            if not args.dry_run:
                runs[arm][seed] = curves(work_dir, task['metric'])
                report[arm][seed] = report_metric(work_dir, task['metric'])
    if args.dry_run:
        return
    selection = summarize({a: {s: c['val'][-1][1] for s, c in r.items()}
                           for a, r in runs.items()}, pairs)
    reported = summarize(report, pairs)
    decision = decide(selection) if args.decide else None
    os.makedirs(args.work_dir, exist_ok=True)
    curves_png = osp.join(args.work_dir, f"learning_curves{task['outputs']}.png")
    plot(runs, curves_png, task)
    text = write_report(selection, reported, decision, cmds, args, (time.time() - start) / 60)
    print(f'\n==== result ({(time.time() - start) / 60:.1f} min)\n{text}\n'
          f"report: {osp.join(args.work_dir, 'results' + task['outputs'] + '.md')}\n"
          f'curves: {curves_png}')
