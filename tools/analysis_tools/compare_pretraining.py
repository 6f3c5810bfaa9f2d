"""Does the 3D prior transfer? Fine-tune the same tiny ViT from no pre-training, from
MMPretrain's MAE and from Mask3D, pre-trained with equal compute on the same frames.

    python tools/analysis_tools/compare_pretraining.py [--work-dir work_dirs/compare]
        [--seeds 0 1 2] [--arms scratch mae mask3d [mae2x mae+mask3d]] [--pretrain-epochs 50]
        [--finetune-iters 400] [--data-root data/synthetic_scannet]
        [--variant NAME KEY=VALUE ...]   # an extra Mask3D arm with these config options

1. generates the synthetic ScanNet-format set if it is absent (as tools/demo.py);
2. pre-trains each pre-training arm once (seed 0) with ``tools/train.py``: MAE
   (configs/benchmarks/pretrain_comparison/mae_*.py, RGB only) and Mask3D (mask3d_*.py, RGB-D),
   same ViT (4 x 128), 112x112 input, batch, optimizer, schedule and number of iterations;
   optionally, at twice that compute, MAE for twice the epochs ('mae2x') against Mask3D started
   from the MAE export ('mae+mask3d', the paper's protocol after ImageNet pre-training);
3. exports each colour encoder (tools/model_converters/export_rgb_encoder.py);
4. fine-tunes UperNet on synthetic ScanNet-20 (the tiny mmseg config) for every arm and seed;
5. writes ``results.md`` (mIoU per seed, mean +- std, the exact commands), ``results.json`` and
   ``learning_curves.png`` (validation mIoU and training loss over fine-tuning iterations) in the
   work dir, and prints the table.

Runs whose final checkpoint exists are not run again (their commands are still listed in the
report): an interrupted comparison resumes where it stopped, and seeds or variants can be added
later with the same work dir. Everything is on CPU unless CUDA is available.
"""
import argparse
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

from mask3d_mm.utils import ensure_data, read_scalars

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(TOOLS)

PRETRAIN_CONFIGS = {
    'mae': 'configs/benchmarks/pretrain_comparison/mae_vit-tiny_synthetic-112x112.py',
    'mask3d': 'configs/benchmarks/pretrain_comparison/mask3d_vit-tiny_synthetic-112x112.py',
}
SEG_CONFIG = 'configs/benchmarks/mmseg/upernet_vit-tiny_synthetic-scannet20.py'
ARMS = ('scratch', 'mae', 'mask3d', 'mae2x', 'mae+mask3d')
LABELS = {'scratch': 'no pre-training', 'mae': 'MMPretrain MAE (RGB)',
          'mask3d': 'Mask3D (RGB-D)', 'mae2x': 'MMPretrain MAE, 2x epochs',
          'mae+mask3d': 'MAE, then Mask3D (2 runs)'}
COLORS = {'scratch': 'tab:gray', 'mae': 'tab:blue', 'mask3d': 'tab:red', 'mae2x': 'tab:cyan',
          'mae+mask3d': 'tab:purple'}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs/compare'))
    parser.add_argument('--data-root', default=osp.join(REPO, 'data/synthetic_scannet'))
    parser.add_argument('--num-scenes', type=int, default=8,
                        help='scenes to generate when the data root is absent')
    parser.add_argument('--frames-per-scene', type=int, default=40)
    parser.add_argument('--arms', nargs='+', choices=ARMS, default=list(ARMS[:3]),
                        help='scratch, mae, mask3d (default), and with twice the pre-training '
                        'compute: mae2x, mae+mask3d (Mask3D from the MAE export)')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2],
                        help='fine-tuning seeds (pre-training runs once, seed 0)')
    parser.add_argument('--pretrain-epochs', type=int, default=50,
                        help='pre-training epochs of every pre-training arm (50 = 750 '
                        'iterations of batch 16 on the default 8 x 40 frames)')
    parser.add_argument('--finetune-iters', type=int, default=400)
    parser.add_argument('--val-points', type=int, default=4,
                        help='validations per fine-tuning run (the learning curve)')
    parser.add_argument('--scratch-layer-decay', type=float, default=1.0,
                        help='layer-wise lr decay of the scratch arm (pre-trained arms keep '
                        "the config's 0.65: early layers of a random ViT need the full lr)")
    parser.add_argument('--variant', nargs='+', action='append', default=[],
                        metavar=('NAME', 'KEY=VALUE'),
                        help='an extra arm "mask3d-NAME": the Mask3D arm pre-trained with '
                        'these --cfg-options (e.g. --variant log model.head.norm_target=log); '
                        'repeat for more')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the commands without running them')
    return parser.parse_args()


class Commands:
    """Runs tools with the current interpreter, echoes and records every command."""

    def __init__(self, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.lines: List[str] = []

    def run(self, *args: str, done: bool = False) -> None:
        """Record the command; run it unless ``done`` (its result exists) or a dry run."""
        shown = ' '.join(shlex.quote(osp.relpath(a, REPO) if a.startswith(REPO + os.sep) else a)
                         for a in args)
        self.lines.append('python ' + shown)
        if done:
            print(f'(done, not run again) $ python {shown}', flush=True)
        else:
            print('$ python ' + shown, flush=True)
        if not (self.dry_run or done):
            subprocess.run([sys.executable, *args], cwd=REPO, check=True)


def data_options(data_root: str, splits: Sequence[str]) -> List[str]:
    return [f'{split}_dataloader.dataset.data_root={data_root}' for split in splits]


def schedule_options(epochs: int) -> List[str]:
    """The pre-training configs' schedule (2 warm-up epochs, cosine to the end) for ``epochs``:
    their ``param_scheduler`` was computed from ``max_epochs = 50`` when the file was read."""
    warmup = max(1, min(2, epochs // 10))
    end = max(epochs, warmup + 1)
    return [f'train_cfg.max_epochs={epochs}', f'param_scheduler.0.end={warmup}',
            f'param_scheduler.1.begin={warmup}', f'param_scheduler.1.end={end}',
            f'param_scheduler.1.T_max={end - warmup}']


def pretrain(cmds: Commands, arm: str, args: argparse.Namespace,
             options: Sequence[str] = ()) -> str:
    """Pre-train ``arm`` once (its config, plus ``options`` for a variant) and export its
    colour encoder; the export's path.

    'mae2x' is MAE with twice the epochs; 'mae+mask3d' is Mask3D whose colour ViT starts from
    the MAE export (the paper's protocol: Mask3D after ImageNet pre-training): both cost two
    pre-training runs and compare with each other.
    """
    work_dir = osp.join(args.work_dir, 'pretrain', arm)
    encoder = osp.join(args.work_dir, 'pretrain', f'{arm}_vit-tiny_rgb-encoder.pth')
    epochs = 2 * args.pretrain_epochs if arm == 'mae2x' else args.pretrain_epochs
    last = osp.join(work_dir, f'epoch_{epochs}.pth')
    base = 'mae' if arm.startswith('mae') and arm != 'mae+mask3d' else 'mask3d'
    config = osp.join(REPO, PRETRAIN_CONFIGS[base])
    if arm == 'mae+mask3d':  # the colour ViT starts from the MAE export (documented route)
        options = [*options, 'model.backbone.init_cfg.checkpoint='
                   + osp.join(args.work_dir, 'pretrain', 'mae_vit-tiny_rgb-encoder.pth')]
    splits = ('train', 'val') if base == 'mask3d' else ('train', )
    cmds.run(osp.join(TOOLS, 'train.py'), config, '--work-dir', work_dir, '--resume',
             '--cfg-options',
             *schedule_options(epochs), 'randomness.seed=0',
             *data_options(args.data_root, splits), *options, done=osp.isfile(last))
    cmds.run(osp.join(TOOLS, 'model_converters/export_rgb_encoder.py'), last, encoder,
             '--force', done=osp.isfile(encoder) and osp.isfile(last)
             and osp.getmtime(encoder) >= osp.getmtime(last))
    return encoder


def finetune(cmds: Commands, arm: str, seed: int, encoder: Optional[str],
             args: argparse.Namespace) -> str:
    """Fine-tune UperNet from ``encoder`` (None: random init); the run's work dir."""
    iters = args.finetune_iters
    work_dir = osp.join(args.work_dir, 'finetune', f'{arm}_seed{seed}')
    val_interval = max(1, iters // max(1, args.val_points))
    warmup = min(20, max(1, iters // 10))  # the config's linear warm-up, then poly decay
    options = [
        f'randomness.seed={seed}', f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={val_interval}', f'param_scheduler.0.end={warmup}',
        f'param_scheduler.1.begin={warmup}', f'param_scheduler.1.end={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        *data_options(args.data_root, ('train', 'val', 'test'))
    ]
    if encoder is None:
        options += ['model.backbone.init_cfg=None',
                    f'optim_wrapper.paramwise_cfg.layer_decay_rate={args.scratch_layer_decay}']
    else:
        options.append(f'model.backbone.init_cfg.checkpoint={encoder}')
    cmds.run(osp.join(TOOLS, 'train.py'), osp.join(REPO, SEG_CONFIG), '--work-dir', work_dir,
             '--resume',
             '--cfg-options', *options,
             done=osp.isfile(osp.join(work_dir, f'iter_{iters}.pth')))
    return work_dir


def curves(work_dir: str) -> Dict[str, list]:
    """Validation mIoU per iteration and the training loss of one fine-tuning run."""
    records = read_scalars(work_dir)
    val = [(r['step'], r['mIoU']) for r in records if 'mIoU' in r]
    loss = [(r['iter'], r['loss']) for r in records if 'loss' in r and 'iter' in r]
    if not val:
        raise RuntimeError(f'{work_dir}: no validation mIoU in its scalars.json')
    return dict(val=val, loss=loss)


def _mean_std(values: Sequence[float]) -> tuple:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else float('nan')


def summarize(runs: Dict[str, Dict[int, Dict[str, list]]]) -> Dict[str, dict]:
    """Final mIoU per seed, mean and sample std per arm; with a scratch arm, the mean and std
    of the paired difference to it (same seed: same head init and data order)."""
    out = {}
    for arm, seeds in runs.items():
        final = {seed: c['val'][-1][1] for seed, c in sorted(seeds.items())}
        mean, std = _mean_std(list(final.values()))
        out[arm] = dict(final=final, mean=mean, std=std)
    if 'scratch' in out:
        base = out['scratch']['final']
        for arm, v in out.items():
            common = [s for s in v['final'] if s in base]
            if arm != 'scratch' and common:
                v['gain_mean'], v['gain_std'] = _mean_std(
                    [v['final'][s] - base[s] for s in common])
    return out


def plot(runs: Dict[str, Dict[int, Dict[str, list]]], out: str) -> None:
    """Validation mIoU (mean; +- std band for the main arms, dashed lines for Mask3D
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
    a.set(xlabel='fine-tuning iteration', ylabel='validation mIoU (%)',
          title='UperNet, synthetic ScanNet-20 (mean, +- std band)')
    b.set(xlabel='fine-tuning iteration', ylabel='training loss', yscale='log',
          title='training loss (mean over seeds, smoothed)')
    fig.legend(loc='center right', fontsize='small')
    fig.tight_layout(rect=(0, 0, 0.76, 1))
    fig.savefig(out, dpi=100)
    plt.close(fig)


def write_report(summary: Dict[str, dict], cmds: Commands, args: argparse.Namespace,
                 minutes: float) -> str:
    seeds = sorted({s for v in summary.values() for s in v['final']})
    lines = [
        '| pre-training | ' + ' | '.join(f'seed {s}' for s in seeds) +
        ' | mean +- std | vs no pre-training (paired) |',
        '|---|' + '---|' * (len(seeds) + 2),
    ]
    for arm, v in summary.items():
        cells = [f"{v['final'][s]:.2f}" if s in v['final'] else '-' for s in seeds]
        gain = f"{v['gain_mean']:+.2f} +- {v['gain_std']:.2f}" if 'gain_mean' in v else '-'
        lines.append(f'| {LABELS[arm]} | ' + ' | '.join(cells) +
                     f" | {v['mean']:.2f} +- {v['std']:.2f} | {gain} |")
    table = '\n'.join(lines)
    report = (f'# Pre-training comparison (tools/analysis_tools/compare_pretraining.py)\n\n'
              f'mIoU (%) on the synthetic ScanNet-20 validation scenes after '
              f'{args.finetune_iters} fine-tuning iterations (last validation); pre-training '
              f'{args.pretrain_epochs} epochs per arm; this invocation took {minutes:.0f} min '
              f'(complete runs are not run again).\n\n'
              f'{table}\n\n' +
              ''.join(f"- Mask3D ({name}): `{' '.join(opts)}`\n" for name, *opts in args.variant) +
              '\n![learning curves](learning_curves.png)\n\n'
              '```bash\n' + '\n'.join(cmds.lines) + '\n```\n')
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(report)
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(dict(summary=summary, commands=cmds.lines, args=vars(args)), f, indent=1)
    return table


def main() -> None:
    args = parse_args()
    args.work_dir = osp.abspath(args.work_dir)
    args.data_root = osp.abspath(args.data_root)
    start = time.time()
    cmds = Commands(args.dry_run)
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
    print(f'==== data: {args.data_root}', flush=True)
    if not args.dry_run:
        ensure_data(REPO, args.data_root, args.num_scenes, args.frames_per_scene)
    encoders = {'scratch': None}
    for arm in arms:
        if arm != 'scratch':
            print(f'\n==== pre-training: {LABELS[arm]}', flush=True)
            encoders[arm] = pretrain(cmds, arm, args, variants.get(arm, ()))
    runs: Dict[str, Dict[int, Dict[str, list]]] = {arm: {} for arm in arms}
    total, done = len(arms) * len(args.seeds), 0
    for seed in args.seeds:  # seeds outermost: an early stop still compares all arms
        for arm in arms:
            done += 1
            print(f'\n==== fine-tuning {done}/{total}: {LABELS[arm]}, seed {seed} '
                  f'({(time.time() - start) / 60:.1f} min so far)', flush=True)
            work_dir = finetune(cmds, arm, seed, encoders[arm], args)
            if not args.dry_run:
                runs[arm][seed] = curves(work_dir)
    if args.dry_run:
        return
    os.makedirs(args.work_dir, exist_ok=True)
    plot(runs, osp.join(args.work_dir, 'learning_curves.png'))
    table = write_report(summarize(runs), cmds, args, (time.time() - start) / 60)
    print(f'\n==== result ({(time.time() - start) / 60:.1f} min)\n{table}\n'
          f"report: {osp.join(args.work_dir, 'results.md')}\n"
          f"curves: {osp.join(args.work_dir, 'learning_curves.png')}")


if __name__ == '__main__':
    main()
