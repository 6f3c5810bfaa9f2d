"""Train with any mask3d_mm config: Mask3D pre-training (MMPretrain) or MMSeg / MMDet fine-tuning.

The config's ``default_scope`` decides which library's conventions apply.

    python tools/train.py configs/mask3d/vit-b_scannet.py [--work-dir DIR] [--resume [CKPT]]
        [--amp] [--cfg-options key=value ...] [--launcher pytorch] [--overwrite-work-dir]
        [--vis-backend tensorboard|mlflow|wandb]   # also log to that tracker (repeatable)
    bash tools/dist_train.sh CONFIG NGPUS [args]    # torchrun; gloo on machines without CUDA

Besides ``--cfg-options``, the environment variable ``MASK3D_MM_CFG_OPTIONS`` holds more
``key=value`` pairs (shell-quoted as on a command line), applied after the command line's, so
they win; e.g. a dry run of any config on a laptop (docs/tools.md):

    MASK3D_MM_CFG_OPTIONS="train_cfg.max_epochs=1 train_dataloader.batch_size=2" \\
        python tools/train.py CONFIG

What the tool does beyond mmengine's Runner (each logged; docs/tools.md):

- without a GPU, a config's ``AmpOptimWrapper`` becomes ``OptimWrapper`` (fp32), with the same
  optimizer, paramwise and constructor settings; AMP-only keys (``loss_scale``, ``dtype``,
  ``use_fsdp``) are dropped whenever the wrapper is not an AMP one;
- a fresh run refuses a work dir that holds checkpoints of an earlier run (``--resume`` continues
  it, ``--overwrite-work-dir`` starts over there); ``--resume`` without a file resumes from the
  work dir's ``last_checkpoint`` or, when there is none, starts from scratch, and says which;
- unknown ``--cfg-options`` keys and misspelt arguments of hooks, the optimizer wrapper,
  parameter schedulers and loops fail before training starts;
- one run per work dir: a second run there is refused, naming the first (pid, host, start,
  command); a lock left by a dead run is taken over;
- SIGTERM / SIGINT: a checkpoint after the current iteration (``--resume`` continues from it,
  inside an epoch too), the data-loader workers stopped, exit status 128 + signal.
- ``runner_type = 'FlexibleRunner'`` (FSDP / DeepSpeed configs) builds that runner; without
  CUDA, FSDP runs on CPU with gloo in fp32 (docs/distributed.md).
"""
import argparse
import os
import os.path as osp
from typing import List


def parse_args(argv=None) -> argparse.Namespace:
    """Only argparse here: ``--help`` answers without importing the stack."""
    parser = argparse.ArgumentParser(
        description='Train a model (mask3d_mm). More --cfg-options can come from the '
        'environment variable MASK3D_MM_CFG_OPTIONS (applied last).')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or, with no value, from the latest checkpoint in '
        'the work dir (starting from scratch when it has none)')
    parser.add_argument(
        '--overwrite-work-dir', action='store_true',
        help='start a fresh run in a work dir that holds checkpoints of an earlier run (its '
        'last_checkpoint is removed; its checkpoint files are overwritten as the new run saves)')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (needs a GPU)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual total batch size')
    parser.add_argument(
        '--vis-backend', action='append', choices=['tensorboard', 'mlflow', 'wandb'],
        help='also log losses, metrics and the hooks\' images to this tracker (repeatable; '
        'mmengine vis backend appended to visualizer.vis_backends)')
    parser.add_argument(
        '--cfg-options', nargs='+', action='extend', metavar='KEY=VALUE',
        help='override settings of the config, as key=value pairs (e.g. '
        'train_dataloader.batch_size=8 model.backbone.arch=b)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def import_stack() -> None:
    """Import mask3d_mm (first: compat patches, registries)."""
    import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)


# top-level keys that configs no longer read: the message says what to set instead
REMOVED_KEYS = {
    'imagenet_checkpoint':
    'imagenet_checkpoint is not read (it was expanded when the config was parsed, so setting '
    'it later silently trained from scratch): set model.backbone.init_cfg.checkpoint=PATH '
    '(configs/mask3d/README.md)',
}


def check_removed_keys(keys, where: str) -> None:
    """Raise a ``KeyError`` with the message of ``REMOVED_KEYS`` for any top-level key given."""
    for key in keys:
        top = key.split('.')[0]
        if top in REMOVED_KEYS:
            raise KeyError(f'{where}: {REMOVED_KEYS[top]}')


def merge_args(cfg, args: argparse.Namespace) -> List[str]:
    """Merge the command-line arguments (and ``MASK3D_MM_CFG_OPTIONS``) into ``cfg``, then fit
    it to the machine and check it; the lines to log once the Runner's logger exists."""
    from mask3d_mm.tooling import (apply_cfg_options, check_component_args, env_cfg_options,
                                   fit_optim_wrapper_to_device, has_amp_device,
                                   parse_cfg_options)
    notes: List[str] = []
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        if not has_amp_device():
            raise RuntimeError('--amp: mixed precision needs a GPU (mmengine\'s AmpOptimWrapper '
                               'asserts CUDA, NPU, MLU or MUSA) and none is available')
        if cfg.optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            notes.append('--amp: AMP is already enabled in the config')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise KeyError(f'--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=...)` '
                           f'in {args.config}')
        cfg.auto_scale_lr.enable = True

    options = parse_cfg_options(args.cfg_options)
    env_options = env_cfg_options()
    check_removed_keys(options, '--cfg-options')
    check_removed_keys(env_options, 'MASK3D_MM_CFG_OPTIONS')
    check_removed_keys(cfg.keys(), args.config)
    notes += apply_cfg_options(cfg, options, env_options)
    from mask3d_mm.tooling.vis_backends import add_vis_backends
    notes += add_vis_backends(cfg, args.vis_backend or [])
    if args.no_validate:  # after the options, which may well set val_dataloader.*
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None

    notes += fit_optim_wrapper_to_device(cfg)
    from mask3d_mm.tooling.strategies import fit_strategy_to_device
    notes += fit_strategy_to_device(cfg)  # FlexibleRunner: FSDP on CPU (docs/distributed.md)
    check_component_args(cfg)
    return notes


def main(argv=None) -> None:
    args = parse_args(argv)  # --help and argument errors before the heavy imports
    import_stack()
    from mask3d_mm.tooling import exit_after_distributed_run
    with exit_after_distributed_run():  # a launched rank ends without finalization
        train(args)


def train(args: argparse.Namespace) -> None:
    """Build the Runner of the parsed arguments and train."""
    from mmengine.config import Config
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from mask3d_mm.engine.hooks import GracefulStopHook, ResumeInEpochHook, StepSeedHook
    from mask3d_mm.engine.nonfinite import add_nonfinite_check
    from mask3d_mm.tooling import (WorkDirLock, install_tool_logging, launcher_rank,
                                   pin_resume_seed, prepare_resume, setup_cpu_distributed,
                                   teardown_distributed)
    cfg = Config.fromfile(args.config)
    notes = merge_args(cfg, args)
    # one run per work dir (rank 0 of a distributed run holds it), taken before anything is
    # written there; released on any exit (docs/tools.md)
    with WorkDirLock(cfg.work_dir, enabled=launcher_rank(cfg.launcher) == 0) as lock:
        notes = lock.notes + notes + prepare_resume(cfg, args.resume, args.overwrite_work_dir)
        notes += add_nonfinite_check(cfg)  # stop on NaN / inf (docs/robustness.md)
        notes += pin_resume_seed(cfg)  # a resumed run keeps its seed (docs/robustness.md)
        cpu_msg = setup_cpu_distributed(cfg)  # no CUDA + a launcher: gloo (docs/robustness.md)
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
        for line in notes + ([cpu_msg] if cpu_msg else []):
            runner.logger.info(line)
        install_tool_logging(runner, cfg)
        runner.register_hook(StepSeedHook())  # model randomness keyed by the iteration
        # SIGTERM / SIGINT: checkpoint after the current iteration, then exit 128 + signal
        runner.register_hook(GracefulStopHook())
        runner.register_hook(ResumeInEpochHook())  # resumed inside an epoch: skip its batches
        runner.train()
        teardown_distributed()


if __name__ == '__main__':
    main()
