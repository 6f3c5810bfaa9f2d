"""The comparison's outputs: ``results[_depth].md`` / ``.json`` (tables, decision, compute time,
commands) and the learning curves."""
import argparse
import glob
import json
import os.path as osp
from typing import Dict, Optional

import numpy as np

from .runs import Commands
from .settings import COLORS, DECISION_RULE, LABELS, REPO, TASKS

__all__ = ['split_frames', 'plot', 'tables', 'write_report']


def split_frames(data_root: str, frame_skip: int) -> str:
    """'N frames of K scenes' of the val split file of ``data_root``."""
    with open(osp.join(data_root, 'scannetv2_val.txt')) as f:
        scenes = [s.strip() for s in f if s.strip()]
    frames = sum(len(sorted(glob.glob(osp.join(data_root, s, 'color', '*.jpg')))[::frame_skip])
                 for s in scenes)
    return f'{frames} frames of {len(scenes)} scenes'


def plot(runs: Dict[str, Dict[int, Dict[str, list]]], out: str, task: dict) -> None:
    """Validation metric (mean; +- std band for the main arms, dashed lines for Mask3D
    variants) and the mean smoothed training loss, per arm."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    spare = [c for c in ('tab:orange', 'tab:green', 'tab:brown', 'tab:pink', 'tab:olive',
                         'black', 'gold', 'navy') if c not in COLORS.values()]
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.5))
    for arm, seeds in runs.items():
        main = arm in COLORS
        color = COLORS[arm] if main else spare.pop(0) if spare else None
        style = dict(color=color, linestyle='-' if main else '--')
        steps = [s for s, _ in next(iter(seeds.values()))['val']]
        vals = np.array([[v for _, v in c['val']] for c in seeds.values()])
        mean = vals.mean(0)
        a.plot(steps, mean, marker='o', label=f'{LABELS[arm]} (n={len(vals)})', **style)
        if main and len(vals) > 1:
            std = vals.std(0, ddof=1)
            a.fill_between(steps, mean - std, mean + std, color=color, alpha=0.15)
        loss = np.array([[v for _, v in c['loss']] for c in seeds.values()]).mean(0)
        k = max(1, len(loss) // 20)
        smooth = np.convolve(loss, np.ones(k) / k, mode='valid')
        its = [i for i, _ in next(iter(seeds.values()))['loss']][k - 1:]
        b.plot(its, smooth, **style)
    a.set(xlabel='fine-tuning iteration', ylabel=f"selection-split {task['metric']}",
          title=f"{task['title']} (mean, +- std band)")
    b.set(xlabel='fine-tuning iteration', ylabel='training loss', yscale='log',
          title='training loss (mean over seeds, smoothed)')
    fig.legend(loc='center right', fontsize='small')
    fig.tight_layout(rect=(0, 0, 0.76, 1))
    fig.savefig(out, dpi=100)
    plt.close(fig)


def tables(summary: dict, metric: str, higher: bool, digits: int = 2) -> str:
    """The per-seed table and the paired-difference table of one split (markdown), values
    with ``digits`` decimals."""
    arms = summary['arms']
    d = digits
    seeds = sorted({s for v in arms.values() for s in v['final']})
    unit = summary.get('unit', 'seed')  # 'pre-training seed': means over fine-tuning seeds
    lines = ['| pre-training | ' + ' | '.join(f'{unit} {s}' for s in seeds) + ' | mean +- std |',
             '|---|' + '---|' * (len(seeds) + 1)]
    for arm, v in arms.items():
        cells = [f"{v['final'][s]:.{d}f}" if s in v['final'] else '-' for s in seeds]
        lines.append(f'| {LABELS[arm]} | ' + ' | '.join(cells) +
                     f" | {v['mean']:.{d}f} +- {v['std']:.{d}f} |")
    if summary['pairs']:
        better = 'higher' if higher else 'lower'
        lines += ['', f'| paired difference ({metric}, {better} is better) | n | mean | '
                  '95 % interval | p (paired t) |', '|---|---|---|---|---|']
        for pair, x in summary['pairs'].items():
            a, b = pair.split(':')
            lines.append(f"| {LABELS[a]} - {LABELS[b]} | {x['n']} | {x['mean']:+.{d}f} | "
                         f"[{x['low']:+.{d}f}, {x['high']:+.{d}f}] | {x['p']:.2g} |")
    return '\n'.join(lines)


def write_report(selection: dict, report: dict, decision: Optional[dict], cmds: Commands,
                 args: argparse.Namespace, minutes: float) -> str:
    task = TASKS[args.task]
    metric, higher, digits = task['metric'], task['higher'], task['digits']
    text = (f"## Selection split ({split_frames(args.data_root, args.val_frame_skip)} of "
            f"{osp.relpath(args.data_root, REPO)}, last validation)\n\n"
            f'{tables(selection, metric, higher, digits)}\n\n'
            f"## Report split ({split_frames(args.report_data_root, 1)} of "
            f"{osp.relpath(args.report_data_root, REPO)}, tools/test.py)\n\n"
            f'{tables(report, metric, higher, digits)}\n')
    if decision is not None:
        kept = ', '.join(f"{c}: {'kept' if k else 'dropped'}"
                         for c, k in decision['kept'].items())
        text = (f'{DECISION_RULE}\n\n{text}\n**Decision (selection split)**: {kept}; the '
                f"defaults are the arm '{LABELS[decision['defaults']]}'.\n")
    pre, fine, test = (cmds.minutes(k) for k in ('/train.py configs/benchmarks/pretrain',
                                                 '/train.py configs/benchmarks/',
                                                 '/test.py'))
    fine -= pre
    timing = (f'Compute of these runs (recorded wall time): pre-training {pre:.0f} min, '
              f'fine-tuning {fine:.0f} min, report tests {test:.0f} min, '
              f'{pre + fine + test:.0f} min in all; this invocation took {minutes:.0f} min.')
    title = f"--preset {args.preset}" if args.preset else 'custom'
    pseeds = ' '.join(map(str, args.pretrain_seeds))
    if len(args.pretrain_seeds) == 1:
        pretraining = f'pre-training once, seed {pseeds}'
        nested = ''
    else:
        pretraining = f'pre-training seeds {pseeds}'
        nested = ('Fine-tuning seeds are nested in pre-training runs: each cell is the mean '
                  'over the fine-tuning seeds of one pre-training seed, and the paired tests '
                  'are over pre-training seeds.\n\n')
    head = (f'# Pre-training comparison ({title}; '
            'tools/analysis_tools/compare_pretraining.py)\n\n'
            f"{task['title']}, {metric} after {args.finetune_iters} fine-tuning iterations, "
            f"seeds {' '.join(map(str, args.seeds))} (fine-tuning: head init and data order; "
            f'{pretraining}, {args.pretrain_epochs} epochs per arm), generator '
            f"materials '{args.materials}'.\n\n{nested}{timing}\n\n")
    body = (head + text + '\n' +
            ''.join(f"- Mask3D ({name}): `{' '.join(opts)}`\n" for name, *opts in args.variant)
            + f'\n![learning curves](learning_curves{args.outputs}.png)\n\n'
            '```bash\n' + '\n'.join(cmds.lines) + '\n```\n')
    with open(osp.join(args.work_dir, f'results{args.outputs}.md'), 'w') as f:
        f.write(body)
    with open(osp.join(args.work_dir, f'results{args.outputs}.json'), 'w') as f:
        json.dump(dict(selection=selection, report=report, decision=decision,
                       minutes=dict(pretrain=pre, finetune=fine, test=test, invocation=minutes),
                       commands=cmds.lines, args=vars(args)), f, indent=1)
    return text + '\n' + timing
