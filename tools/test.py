"""Test (evaluate) a checkpoint with any mask3d_mm config: pre-training, MMSeg or MMDet.

The config's ``default_scope`` decides which library's conventions apply. Pre-training configs
have no test split: their ``val_dataloader`` and ``val_evaluator`` (the depth reconstruction
metric) are used.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE [--force]] [--out-item pred]
        [--show-dir DIR] [--cfg-options key=value ...] [--launcher pytorch]
    bash tools/dist_test.sh CONFIG CHECKPOINT NGPUS [args]   # torchrun; gloo without CUDA

``--out`` writes the metrics (``--out-item metrics``, default; .json or .yaml) or the predictions
of every sample (``--out-item pred``): a tensors-only file that loads with
``torch.load(FILE, weights_only=True)``. It is refused, even with ``--force``, when it is the
checkpoint, the config or a file the config reads (annotation and split files, ``load_from``,
...), or lies inside a data root (``mask3d_mm/tooling/config_inputs.py``); an existing file needs
``--force``.

``--show-dir DIR`` draws the test set: pre-training configs write one reconstruction panel per
frame (masked RGB | depth input | predicted | ground truth | error) as ``DIR/<scene>_<frame>.png``;
mmseg / mmdet configs draw as their own ``tools/test.py --show-dir``
(``mask3d_mm/tooling/show_dir.py``).

The environment variable ``MASK3D_MM_CFG_OPTIONS`` holds more ``key=value`` pairs (shell-quoted),
applied after ``--cfg-options``, so they win (docs/tools.md); unknown keys and misspelt
arguments of hooks and loops fail before the run starts.
"""
import argparse
import os
import os.path as osp
from typing import Optional

import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import mmengine
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mask3d_mm.atomic_write import atomic_output
from mask3d_mm.evaluation import DumpPredictions
from mask3d_mm.tooling import (apply_cfg_options, check_component_args, check_output,
                               config_inputs, exit_after_distributed_run, parse_cfg_options,
                               setup_cpu_distributed, teardown_distributed)
from mask3d_mm.tooling.show_dir import enable_show_dir


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model (mask3d_mm)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--out', help='write the metrics or the predictions to this file')
    parser.add_argument('--out-item', choices=['metrics', 'pred'], default='metrics',
                        help='what --out holds (default: metrics)')
    parser.add_argument('--force', action='store_true',
                        help='overwrite an existing --out file')
    parser.add_argument('--show-dir', help='draw the predictions of the test set into this '
                        'folder (pre-training: reconstruction panels, one PNG per frame)')
    parser.add_argument(
        '--cfg-options', nargs='+', action='extend', metavar='KEY=VALUE',
        help='override settings of the config, as key=value pairs (spaces inside a quoted '
        'value are kept)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge the command-line arguments into the config."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.resume = False
    args.notes = apply_cfg_options(  # then MASK3D_MM_CFG_OPTIONS
        cfg, parse_cfg_options(args.cfg_options))
    if cfg.get('test_dataloader') is None:  # pre-training: evaluate on the validation split
        for key in ('val_dataloader', 'val_evaluator'):
            if cfg.get(key) is None:
                raise ValueError(f'{args.config} has neither test_dataloader nor {key}: '
                                 'nothing to test')
        cfg.test_dataloader = cfg.val_dataloader
        cfg.test_evaluator = cfg.val_evaluator
        cfg.test_cfg = cfg.get('val_cfg') or dict()
    if args.show_dir:
        args.notes.append(enable_show_dir(cfg, args.show_dir))
    check_component_args(cfg)
    if args.out is not None and args.out_item == 'metrics' and not args.out.endswith(
            ('.json', '.yaml', '.yml')):
        raise ValueError(f'--out {args.out}: metrics are written as .json or .yaml')
    if args.out is not None:  # before the run, not after it; inputs refused even with --force
        check_output(args.out, args.force,
                     inputs=[args.checkpoint, args.config, *config_inputs(cfg)])
    return cfg


def main() -> Optional[dict]:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    cpu_msg = setup_cpu_distributed(cfg)  # no CUDA + a launcher: gloo (docs/robustness.md)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    for line in args.notes + ([cpu_msg] if cpu_msg else []):
        runner.logger.info(line)
    if args.out is not None and args.out_item == 'pred':
        runner.test_evaluator.metrics.append(DumpPredictions(args.out))
    metrics = runner.test()
    if args.out is not None and args.out_item == 'metrics' and runner.rank == 0:
        with atomic_output(args.out) as tmp:
            mmengine.dump(metrics, tmp)
    teardown_distributed()
    return metrics


if __name__ == '__main__':
    with exit_after_distributed_run():  # a rank ends without finalization: process_end.py
        main()
