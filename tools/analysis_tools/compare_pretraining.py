"""Does the 3D prior transfer? Fine-tune the same tiny ViT from no pre-training, from
MMPretrain's MAE and from Mask3D, pre-trained with equal compute on the same frames.

    python tools/analysis_tools/compare_pretraining.py --preset defaults   # ~2.5 h, 2 cores
    python tools/analysis_tools/compare_pretraining.py --preset materials  # ~1.2 h
    python tools/analysis_tools/compare_pretraining.py --preset depth      # ~40 min
    python tools/analysis_tools/compare_pretraining.py [--work-dir DIR] [--seeds 0 1 2 3 4]
        [--arms scratch mae mask3d [mae2x mae+mask3d]] [--task seg|depth]
        [--materials class|independent] [--variant NAME KEY=VALUE ...]
        [--pairs ARM:BASE ...] [--pretrain-epochs 50] [--finetune-iters 400]

1. generates the synthetic ScanNet-format sets if they are absent (as tools/demo.py): the
   training set (6 training scenes; its 2 val scenes, all 80 frames, are the *selection*
   split) and a *report* split of 8 other scenes x 10 frames (generator seed 1);
2. pre-trains each pre-training arm once (seed 0) with ``tools/train.py``: MAE
   (configs/benchmarks/pretrain_comparison/mae_*.py, RGB only) and Mask3D (mask3d_*.py, RGB-D),
   same ViT (4 x 128), 112x112 input, batch, optimizer, schedule and number of iterations;
   optionally, at twice that compute, MAE for twice the epochs ('mae2x') against Mask3D started
   from the MAE export ('mae+mask3d', the paper's protocol after ImageNet pre-training);
3. exports each colour encoder (tools/model_converters/export_rgb_encoder.py);
4. fine-tunes every arm and seed with ``tools/train.py`` (``--task seg``: UperNet on
   synthetic ScanNet-20; ``--task depth``: the UperNet depth head, mmseg's DepthEstimator),
   validating on the selection split, then tests the final checkpoint on the report split
   with ``tools/test.py``;
5. writes ``results.md`` (the metric per seed, mean +- std, paired differences with their
   95 % t interval and paired t-test p-value on both splits, the decision of a preset with a
   decision rule, the compute time, the exact commands), ``results.json`` and
   ``learning_curves.png`` in the work dir (``--task depth``: ``results_depth.*`` and
   ``learning_curves_depth.png``, beside those of segmentation), and prints the tables.

``--preset`` fills in what a table of docs/results.md was made with (arms, variants, task,
data, seeds, pairs); options given explicitly win. Runs whose outputs exist are not run again
(their commands are still listed, and their recorded wall time still counted): an interrupted
comparison resumes where it stopped, and seeds or variants can be added later with the same
work dir. Everything is on CPU unless CUDA is available.
"""
import argparse
import glob
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

from mask3d_mm.tooling import ensure_data, read_scalars, run_script
from mask3d_mm.tooling.tool_runs import command_line
from mask3d_mm.utils.paired_stats import paired_difference

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(TOOLS)

PRETRAIN_CONFIGS = {
    'mae': 'configs/benchmarks/pretrain_comparison/mae_vit-tiny_synthetic-112x112.py',
    'mask3d': 'configs/benchmarks/pretrain_comparison/mask3d_vit-tiny_synthetic-112x112.py',
}
TASKS = {  # fine-tuning config, the metric compared (last validation / the report test)
    'seg': dict(config='configs/benchmarks/mmseg/upernet_vit-tiny_synthetic-scannet20.py',
                metric='mIoU', higher=True, digits=2, title='UperNet, synthetic ScanNet-20',
                dirname='finetune', outputs=''),
    'depth': dict(config='configs/benchmarks/depth/upernet-depth_vit-tiny_synthetic-scannet.py',
                  metric='abs_rel', higher=False, digits=4,
                  title='UperNet depth, synthetic ScanNet',
                  dirname='finetune_depth', outputs='_depth'),  # beside 'seg' outputs
}
ARMS = ('scratch', 'mae', 'mask3d', 'mae2x', 'mae+mask3d')
LABELS = {'scratch': 'no pre-training', 'mae': 'MMPretrain MAE (RGB)',
          'mask3d': 'Mask3D (RGB-D)', 'mae2x': 'MMPretrain MAE, 2x epochs',
          'mae+mask3d': 'MAE, then Mask3D (2 runs)'}
COLORS = {'scratch': 'tab:gray', 'mae': 'tab:blue', 'mask3d': 'tab:red', 'mae2x': 'tab:cyan',
          'mae+mask3d': 'tab:purple'}
MASKS = 'train_dataloader.dataset.pipeline.5'  # the RGBDMaskGenerator of the Mask3D config
MAIN_PAIRS = ['mae:scratch', 'mask3d:scratch', 'mask3d:mae']
PRESETS = {
    # the defaults study: each of the two changed defaults alone on the spec's setting, both
    # (the defaults), MAE and no pre-training; the decision rule picks the defaults
    'defaults': dict(
        arms=['scratch', 'mae', 'mask3d'],
        variant=[['spec', 'model.head.norm_target=metric', f'{MASKS}.complementary=False'],
                 ['spec+complementary', 'model.head.norm_target=metric'],
                 ['spec+standardize', f'{MASKS}.complementary=False']],
        pairs=['mask3d-spec+complementary:mask3d-spec', 'mask3d-spec+standardize:mask3d-spec',
               'mask3d:mask3d-spec', *MAIN_PAIRS], decide=True),
    # the same comparison where an object's material does not depend on its class
    'materials': dict(arms=['scratch', 'mae', 'mask3d'], materials='independent',
                      pairs=MAIN_PAIRS),
    # monocular depth estimation from the pre-training runs of 'defaults'
    'depth': dict(arms=['scratch', 'mae', 'mask3d'], task='depth', pairs=MAIN_PAIRS,
                  finetune_iters=200),  # the tiny depth config's own schedule
}
DEFAULTS = dict(arms=list(ARMS[:3]), variant=[], task='seg', materials='class',
                seeds=[0, 1, 2, 3, 4], pairs=None, decide=False, finetune_iters=400)
DECISION_RULE = (
    'Decision rule, fixed before the runs: a change to the spec setting (complementary masks; '
    'the standardised target) is kept only if, on the selection split, its paired mean '
    'difference to the spec arm has a 95 % t interval above 0 (mIoU); the defaults are then '
    'the spec setting with the kept changes, i.e. one of the four Mask3D arms. The report '
    'split is not looked at for the decision.')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--preset', choices=sorted(PRESETS),
                        help='what a table of docs/results.md was made with (module docstring)')
    parser.add_argument('--work-dir', help='default: work_dirs/compare, or '
                        'work_dirs/compare_independent-materials for --materials independent')
    parser.add_argument('--task', choices=sorted(TASKS),
                        help="fine-tuning task: 'seg' (default) or 'depth'")
    parser.add_argument('--materials', choices=('class', 'independent'),
                        help="generator option of the data ('class', default: each class has "
                        "its own palette; 'independent': materials drawn whatever the class)")
    parser.add_argument('--data-root', help='training set, its val scenes the selection '
                        'split (default: data/synthetic_scannet[_independent-materials])')
    parser.add_argument('--report-data-root',
                        help='report split, all scenes in scannetv2_val.txt (default: '
                        'DATA_ROOT + "_report")')
    parser.add_argument('--num-scenes', type=int, default=8,
                        help='scenes to generate when the data root is absent')
    parser.add_argument('--frames-per-scene', type=int, default=40)
    parser.add_argument('--report-scenes', type=int, default=8,
                        help='scenes of the report split when it is generated (seed 1)')
    parser.add_argument('--report-frames', type=int, default=10,
                        help='frames per report scene when it is generated')
    parser.add_argument('--arms', nargs='+', choices=ARMS,
                        help='scratch, mae, mask3d (default), and with twice the pre-training '
                        'compute: mae2x, mae+mask3d (Mask3D from the MAE export)')
    parser.add_argument('--seeds', nargs='+', type=int,
                        help='fine-tuning seeds (default 0-4; pre-training runs once, seed 0)')
    parser.add_argument('--pairs', nargs='+', metavar='ARM:BASE',
                        help='paired comparisons to report (default: every arm vs scratch, '
                        'mask3d vs mae)')
    parser.add_argument('--pretrain-epochs', type=int, default=50,
                        help='pre-training epochs of every pre-training arm (50 = 750 '
                        'iterations of batch 16 on the default 8 x 40 frames)')
    parser.add_argument('--finetune-iters', type=int,
                        help='fine-tuning iterations (default 400; --preset depth: 200)')
    parser.add_argument('--val-points', type=int, default=4,
                        help='validations per fine-tuning run (the learning curve)')
    parser.add_argument('--val-frame-skip', type=int, default=1,
                        help='every k-th frame of the selection scenes (1: all)')
    parser.add_argument('--scratch-layer-decay', type=float, default=1.0,
                        help='layer-wise lr decay of the scratch arm (pre-trained arms keep '
                        "the config's 0.65: early layers of a random ViT need the full lr)")
    parser.add_argument('--variant', nargs='+', action='append', default=None,
                        metavar=('NAME', 'KEY=VALUE'),
                        help='an extra arm "mask3d-NAME": the Mask3D arm pre-trained with '
                        'these --cfg-options (e.g. --variant log model.head.norm_target=log); '
                        'repeat for more')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the commands without running them')
    args = parser.parse_args(argv)
    preset = PRESETS.get(args.preset, {})
    for key, default in DEFAULTS.items():
        if getattr(args, key, None) is None:
            setattr(args, key, preset.get(key, default))
    suffix = '' if args.materials == 'class' else '_independent-materials'
    args.work_dir = osp.abspath(args.work_dir or osp.join(REPO, 'work_dirs', 'compare' + suffix))
    args.data_root = osp.abspath(args.data_root or osp.join(REPO, 'data',
                                                             'synthetic_scannet' + suffix))
    args.report_data_root = osp.abspath(args.report_data_root or
                                        osp.normpath(args.data_root) + '_report')
    return args


class Commands:
    """Runs tools with the current interpreter; echoes and records every command, and the
    wall time of each in ``WORK_DIR/timings.json`` (so a resumed comparison still counts the
    time of runs it does not run again)."""

    def __init__(self, dry_run: bool, work_dir: str) -> None:
        self.dry_run = dry_run
        self.lines: List[str] = []
        self.timings_file = osp.join(work_dir, 'timings.json')
        self.timings: Dict[str, float] = {}
        if osp.isfile(self.timings_file):
            self.timings = self._read_timings()

    def run(self, *args: str, done: bool = False) -> None:
        """Record the command; run it unless ``done`` (its result exists) or a dry run."""
        self.lines.append(command_line(REPO, args))
        print(('(done, not run again) $ ' if done else '$ ') + self.lines[-1], flush=True)
        if self.dry_run or done:
            return
        start = time.time()
        run_script(REPO, *args, echo=False)
        elapsed = time.time() - start
        os.makedirs(osp.dirname(self.timings_file), exist_ok=True)
        if osp.isfile(self.timings_file):  # another comparison may share the work dir
            self.timings.update(self._read_timings())
        self.timings[self.lines[-1]] = elapsed
        tmp = f'{self.timings_file}.{os.getpid()}.tmp'
        with open(tmp, 'w') as f:
            json.dump(self.timings, f, indent=1)
        os.replace(tmp, self.timings_file)

    def _read_timings(self) -> Dict[str, float]:
        with open(self.timings_file) as f:  # command lines relative to the repository
            return {k.replace(REPO + os.sep, ''): v for k, v in json.load(f).items()}

    def minutes(self, kind: str) -> float:
        """Recorded wall time (min) of this invocation's commands whose line holds ``kind``."""
        return sum(self.timings.get(line, 0.0) for line in self.lines if kind in line) / 60


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
    """Fine-tune from ``encoder`` (None: random init), validating on the selection split,
    then test the final checkpoint on the report split; the run's work dir."""
    iters = args.finetune_iters
    task = TASKS[args.task]
    config = osp.join(REPO, task['config'])
    work_dir = osp.join(args.work_dir, task['dirname'], f'{arm}_seed{seed}')
    val_interval = max(1, iters // max(1, args.val_points))
    warmup = min(20, max(1, iters // 10))  # the config's linear warm-up, then poly decay
    options = [
        f'randomness.seed={seed}', f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={val_interval}', f'param_scheduler.0.end={warmup}',
        f'param_scheduler.1.begin={warmup}', f'param_scheduler.1.end={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        *data_options(args.data_root, ('train', 'val')),
        f'val_dataloader.dataset.frame_skip={args.val_frame_skip}',
    ]
    if encoder is None:
        options += ['model.backbone.init_cfg=None',
                    f'optim_wrapper.paramwise_cfg.layer_decay_rate={args.scratch_layer_decay}']
    else:
        options.append(f'model.backbone.init_cfg.checkpoint={encoder}')
    last = osp.join(work_dir, f'iter_{iters}.pth')
    cmds.run(osp.join(TOOLS, 'train.py'), config, '--work-dir', work_dir, '--resume',
             '--cfg-options', *options, done=osp.isfile(last))
    report = osp.join(work_dir, 'report_metrics.json')
    cmds.run(osp.join(TOOLS, 'test.py'), config, last, '--work-dir',
             osp.join(work_dir, 'report'), '--out', report, '--force', '--cfg-options',
             'model.backbone.init_cfg=None', *data_options(args.report_data_root, ('test', )),
             'test_dataloader.dataset.frame_skip=1',
             done=osp.isfile(report) and osp.isfile(last)
             and osp.getmtime(report) >= osp.getmtime(last))
    return work_dir


def curves(work_dir: str, metric: str = 'mIoU') -> Dict[str, list]:
    """Validation ``metric`` per iteration and the training loss of one fine-tuning run."""
    records = read_scalars(work_dir)
    val = [(r['step'], r[metric]) for r in records if metric in r]
    loss = [(r['iter'], r['loss']) for r in records if 'loss' in r and 'iter' in r]
    if not val:
        raise RuntimeError(f'{work_dir}: no validation {metric} in its scalars.json')
    return dict(val=val, loss=loss)


def report_metric(work_dir: str, metric: str = 'mIoU') -> float:
    """``metric`` of the report-split test of one fine-tuning run."""
    path = osp.join(work_dir, 'report_metrics.json')
    with open(path) as f:
        metrics = json.load(f)
    if metric not in metrics:
        raise RuntimeError(f'{path}: no {metric} (has {sorted(metrics)})')
    return float(metrics[metric])


def _mean_std(values: Sequence[float]) -> tuple:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else float('nan')


def summarize(finals: Dict[str, Dict[int, float]], pairs: Sequence[str]) -> dict:
    """Per arm the metric per seed, its mean and sample std; per pair 'A:B' present, the
    paired difference A - B (:func:`paired_difference`)."""
    arms = {}
    for arm, per_seed in finals.items():
        mean, std = _mean_std(list(per_seed.values()))
        arms[arm] = dict(final=dict(sorted(per_seed.items())), mean=mean, std=std)
    paired = {}
    for pair in pairs:
        a, b = pair.split(':')
        if a in finals and b in finals:
            paired[pair] = paired_difference(finals[a], finals[b])
    return dict(arms=arms, pairs=paired)


def decide(selection: dict) -> dict:
    """The preset 'defaults' decision (:data:`DECISION_RULE`) from the selection split."""
    kept = {}
    for change in ('complementary', 'standardize'):
        pair = selection['pairs'].get(f'mask3d-spec+{change}:mask3d-spec')
        if pair is None:
            raise RuntimeError(f'the decision needs the arms mask3d-spec+{change} and '
                               'mask3d-spec (--preset defaults)')
        kept[change] = bool(pair['low'] > 0)
    chosen = {(False, False): 'mask3d-spec', (True, False): 'mask3d-spec+complementary',
              (False, True): 'mask3d-spec+standardize', (True, True): 'mask3d'}
    return dict(kept=kept, defaults=chosen[kept['complementary'], kept['standardize']])


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
    lines = ['| pre-training | ' + ' | '.join(f'seed {s}' for s in seeds) + ' | mean +- std |',
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
    head = (f'# Pre-training comparison ({title}; '
            'tools/analysis_tools/compare_pretraining.py)\n\n'
            f"{task['title']}, {metric} after {args.finetune_iters} fine-tuning iterations, "
            f"seeds {' '.join(map(str, args.seeds))} (fine-tuning: head init and data order; "
            f'pre-training once, seed 0, {args.pretrain_epochs} epochs per arm), generator '
            f"materials '{args.materials}'.\n\n{timing}\n\n")
    body = (head + text + '\n' +
            ''.join(f"- Mask3D ({name}): `{' '.join(opts)}`\n" for name, *opts in args.variant)
            + f"\n![learning curves](learning_curves{task['outputs']}.png)\n\n"
            '```bash\n' + '\n'.join(cmds.lines) + '\n```\n')
    with open(osp.join(args.work_dir, f"results{task['outputs']}.md"), 'w') as f:
        f.write(body)
    with open(osp.join(args.work_dir, f"results{task['outputs']}.json"), 'w') as f:
        json.dump(dict(selection=selection, report=report, decision=decision,
                       minutes=dict(pretrain=pre, finetune=fine, test=test, invocation=minutes),
                       commands=cmds.lines, args=vars(args)), f, indent=1)
    return text + '\n' + timing


def main(argv: Optional[Sequence[str]] = None) -> None:
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


if __name__ == '__main__':
    main()
