"""The runs of the comparison: pre-training and export per arm, fine-tuning and the report-split
test per arm and seed, each a tool run as a child process, and what they leave behind."""
import argparse
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

from mask3d_mm.analysis.provenance import code_commit
from mask3d_mm.tooling import read_scalars, run_script
from mask3d_mm.tooling.tool_runs import command_line
from .settings import PRETRAIN_CONFIGS, REPO, TASKS, TOOLS

__all__ = ['Commands', 'data_options', 'schedule_options', 'pretrain', 'finetune', 'run_name',
           'curves', 'report_metric']


class Commands:
    """Runs tools with the current interpreter; echoes and records every command, and the
    wall time of each in ``WORK_DIR/timings.json`` and the code commit it ran at in
    ``WORK_DIR/commits.json`` (so a resumed comparison still knows both for runs it does not
    run again)."""

    def __init__(self, dry_run: bool, work_dir: str) -> None:
        self.dry_run = dry_run
        self.lines: List[str] = []
        self.timings_file = osp.join(work_dir, 'timings.json')
        self.commits_file = osp.join(work_dir, 'commits.json')
        self.timings: Dict[str, float] = self._read(self.timings_file)
        self.commits: Dict[str, Optional[str]] = self._read(self.commits_file)

    def run(self, *args: str, done: bool = False) -> None:
        """Record the command; run it unless ``done`` (its result exists) or a dry run."""
        self.lines.append(command_line(REPO, args))
        print(('(done, not run again) $ ' if done else '$ ') + self.lines[-1], flush=True)
        if self.dry_run or done:
            return
        start = time.time()
        run_script(REPO, *args, echo=False)
        elapsed = time.time() - start
        self._record(self.timings_file, self.timings, elapsed)
        self._record(self.commits_file, self.commits, code_commit(REPO))

    def _record(self, path: str, table: dict, value) -> None:
        """``table[last command] = value``, merged with ``path`` (another comparison may share
        the work dir) and written back atomically."""
        os.makedirs(osp.dirname(path), exist_ok=True)
        table.update(self._read(path))
        table[self.lines[-1]] = value
        tmp = f'{path}.{os.getpid()}.tmp'
        with open(tmp, 'w') as f:
            json.dump(table, f, indent=1)
        os.replace(tmp, path)

    @staticmethod
    def _read(path: str) -> dict:
        if not osp.isfile(path):
            return {}
        with open(path) as f:  # command lines relative to the repository
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


def run_name(arm: str, pretrain_seed: int = 0, seed: Optional[int] = None) -> str:
    """Folder name of a pre-training (``seed`` None) or fine-tuning run: ``mae``,
    ``mae_pseed1``, ``mae_seed3``, ``mae_pseed1_seed3`` (pre-training seed 0 is unnamed)."""
    name = arm + (f'_pseed{pretrain_seed}' if pretrain_seed else '')
    return name if seed is None else f'{name}_seed{seed}'


def pretrain(cmds: Commands, arm: str, args: argparse.Namespace,
             options: Sequence[str] = (), pretrain_seed: int = 0) -> str:
    """Pre-train ``arm`` with ``randomness.seed=pretrain_seed`` (its config, plus
    ``options`` for a variant) and export its colour encoder; the export's path.

    'mae2x' is MAE with twice the epochs; 'mae+mask3d' is Mask3D whose colour ViT starts from
    the MAE export of the same pre-training seed (the paper's protocol: Mask3D after ImageNet
    pre-training): both cost two pre-training runs and compare with each other.
    """
    name = run_name(arm, pretrain_seed)
    work_dir = osp.join(args.work_dir, 'pretrain', name)
    encoder = osp.join(args.work_dir, 'pretrain', f'{name}_vit-tiny_rgb-encoder.pth')
    epochs = 2 * args.pretrain_epochs if arm == 'mae2x' else args.pretrain_epochs
    last = osp.join(work_dir, f'epoch_{epochs}.pth')
    base = 'mae' if arm.startswith('mae') and arm != 'mae+mask3d' else 'mask3d'
    config = osp.join(REPO, PRETRAIN_CONFIGS[base])
    if arm == 'mae+mask3d':  # the colour ViT starts from the MAE export (documented route)
        mae = f"{run_name('mae', pretrain_seed)}_vit-tiny_rgb-encoder.pth"
        options = [*options, 'model.backbone.init_cfg.checkpoint='
                   + osp.join(args.work_dir, 'pretrain', mae)]
    splits = ('train', 'val') if base == 'mask3d' else ('train', )
    cmds.run(osp.join(TOOLS, 'train.py'), config, '--work-dir', work_dir, '--resume',
             '--cfg-options',
             *schedule_options(epochs), f'randomness.seed={pretrain_seed}',
             *data_options(args.data_root, splits), *options, done=osp.isfile(last))
    cmds.run(osp.join(TOOLS, 'model_converters/export_rgb_encoder.py'), last, encoder,
             '--force', done=osp.isfile(encoder) and osp.isfile(last)
             and osp.getmtime(encoder) >= osp.getmtime(last))
    return encoder


def finetune(cmds: Commands, arm: str, seed: int, encoder: Optional[str],
             args: argparse.Namespace, pretrain_seed: int = 0) -> str:
    """Fine-tune from ``encoder`` (None: random init; the export of pre-training seed
    ``pretrain_seed``), validating on the selection split, then test the final checkpoint on
    the report split; the run's work dir."""
    iters = args.finetune_iters
    task = TASKS[args.task]
    config = osp.join(REPO, task['config'])
    work_dir = osp.join(args.work_dir, task['dirname'], run_name(arm, pretrain_seed, seed))
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
