"""Stop a run whose loss, gradient norm or state turns non-finite, before it is saved."""
import os.path as osp
from typing import List, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapperDict
from mmengine.runner import EpochBasedTrainLoop
from torch.distributed.fsdp import FullyShardedDataParallel

from mask3d_mm.engine.nonfinite import HOOK_KEY, describe_nonfinite, find_nonfinite
from mask3d_mm.registry import HOOKS

_STATE_KEYS = ('state_dict', 'ema_state_dict', 'optimizer')  # the tensors of a checkpoint


def _checkpoint_state(checkpoint: dict) -> dict:
    """The model (and EMA) and optimizer state of a checkpoint; a bare state dict is its own.

    The message hub and schedulers are left out: their logged scalars may be NaN by design
    (e.g. an accuracy over a batch without labels)."""
    state = {k: checkpoint[k] for k in _STATE_KEYS if k in checkpoint}
    return state or {k: v for k, v in checkpoint.items() if k not in ('meta', 'message_hub')}


def _is_amp(optim_wrapper) -> bool:
    wrappers = (optim_wrapper.values() if isinstance(optim_wrapper, OptimWrapperDict)
                else [optim_wrapper])
    return any(isinstance(w, AmpOptimWrapper) for w in wrappers)


@HOOKS.register_module()
class NonFiniteCheckHook(Hook):
    """Stop training at the first non-finite loss or gradient norm; never write (nor load) a
    checkpoint whose model, EMA or optimizer tensors hold NaN or inf.

    ``tools/train.py`` adds it to every run as ``default_hooks.nonfinite_check``
    (:func:`mask3d_mm.engine.nonfinite.add_nonfinite_check`). It checks

    - after every training iteration, ``outputs['loss']`` and the gradient norm that
      ``clip_grad`` logs (``train/grad_norm``), except under ``AmpOptimWrapper``, whose dynamic
      loss scale skips steps with inf gradients by design. Under DDP the ranks agree through
      one all-reduce of two numbers, so all of them stop at the same iteration;
    - the live model and optimizer state at the iterations / epochs where a ``CheckpointHook``
      will save (it removes the oldest kept checkpoint *before* it saves: checking there keeps
      that one when the loss is finite but the state is not, e.g. an inf gradient without
      ``clip_grad``, or an Adam moment that overflowed);
    - every checkpoint about to be saved (``before_save_checkpoint``, whoever saves) and every
      one loaded (``after_load_checkpoint``: ``--resume``, ``load_from``).

    Errors are ``FloatingPointError`` naming the iteration and the last checkpoint
    (``WORK_DIR/last_checkpoint``), also written to the log. Priority 65: after ``LoggerHook``
    (60) logged the iteration, before ``ParamSchedulerHook`` (70) and ``CheckpointHook`` (90).
    Cost: two numbers per iteration; the state check reads the state once per checkpoint.
    """

    priority = 65

    def __init__(self) -> None:
        self._checked: List[str] = []  # checkpoint files this run wrote or loaded, checked

    # ------------------------------------------------------------------ messages
    def _last_checkpoint(self, runner) -> str:
        """Where to continue from: the file ``WORK_DIR/last_checkpoint`` names, else the
        checkpoint the run resumed from."""
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        last, load_from = None, runner.cfg.get('load_from')
        if osp.isfile(pointer):
            with open(pointer) as f:
                last = f.read().strip() or None
        if last is None and runner.cfg.get('resume') and load_from:
            last = str(load_from)
        if last is None:
            return 'This run saved no checkpoint yet' + (
                f' (it started from {load_from})' if load_from else '')
        checked = ' (its state checked finite by this run)' if last in self._checked else ''
        return f'The last checkpoint is {last}{checked}: resume with --resume {last}'

    def _stop(self, runner, what: str) -> None:
        msg = (f'{what}. {self._last_checkpoint(runner)}. Before going on, lower the lr or '
               f'clip the gradients (optim_wrapper.clip_grad); to train on regardless: '
               f'--cfg-options default_hooks.{HOOK_KEY}=None')
        runner.logger.error(msg)
        raise FloatingPointError(msg)

    @staticmethod
    def _where(runner) -> str:
        epoch = (f' (epoch {runner.epoch + 1})'
                 if isinstance(runner.train_loop, EpochBasedTrainLoop) else '')
        return f'iteration {runner.iter + 1}{epoch}'

    # ------------------------------------------------------------------ checks
    def _check_live_state(self, runner, where: str) -> None:
        if isinstance(runner.model, FullyShardedDataParallel):
            # FSDP: state_dict() gathers (and under FULL_STATE_DICT only from the root); each
            # rank checks the shards it holds, the ranks agree through one all-reduce
            model = runner.model
            state = dict(state_dict=dict(model.named_parameters(), **dict(model.named_buffers())),
                         optimizer=runner.optim_wrapper.state_dict())
        else:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            state = dict(state_dict=model.state_dict(),
                         optimizer=runner.optim_wrapper.state_dict())
        bad, total = find_nonfinite(state)
        anywhere = torch.tensor([float(bool(bad))])
        all_reduce(anywhere, op='max')  # a no-op without a process group
        if anywhere.any() and not bad:
            self._stop(runner, f'{where}: the model / optimizer state of another rank is not '
                       f'finite; stopped before the checkpoint of this {where.split()[0]} was '
                       'saved')
        if bad:
            self._stop(runner, f'{where}: the loss is finite but the model / optimizer state '
                       f'is not ({describe_nonfinite(bad, total)}); stopped before the '
                       f'checkpoint of this {where.split()[0]} was saved')

    def _checkpoint_due(self, runner, by_epoch: bool) -> bool:
        """Whether a ``CheckpointHook`` saves after this iteration / epoch (its own rule)."""
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook) or hook.by_epoch != by_epoch:
                continue
            if by_epoch and (hook.every_n_epochs(runner, hook.interval, hook.save_begin) or
                             (hook.save_last and hook.is_last_train_epoch(runner))):
                return True
            if not by_epoch and (
                    hook.every_n_train_iters(runner, hook.interval, hook.save_begin) or
                    (hook.save_last and hook.is_last_train_iter(runner))):
                return True
        return False

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        outputs = outputs or {}
        losses = ([outputs['loss']] if 'loss' in outputs else
                  [v for k, v in outputs.items() if 'loss' in k])
        loss = sum(float(torch.as_tensor(v).detach().sum()) for v in losses)
        grad = 0.0
        buffer = runner.message_hub.log_scalars.get('train/grad_norm')
        if buffer is not None and not _is_amp(runner.optim_wrapper):
            grad = float(buffer.current())
        here = (~torch.isfinite(torch.tensor([loss, grad], dtype=torch.float64))).float()
        anywhere = here.clone()
        all_reduce(anywhere, op='max')  # a no-op without DDP; with it all ranks stop together
        if anywhere.any():
            what = [f'the loss is {loss}' if here[0] else 'the loss is not finite on another '
                    'rank'] if anywhere[0] else []
            what += [f'the gradient norm is {grad}'] if anywhere[1] else []
            self._stop(runner, f'{self._where(runner)}: {" and ".join(what)}; stopped before '
                       'the checkpoint and parameter scheduler hooks')
        if self._checkpoint_due(runner, by_epoch=False):
            self._check_live_state(runner, self._where(runner))

    def after_train_epoch(self, runner) -> None:
        if self._checkpoint_due(runner, by_epoch=True):
            self._check_live_state(runner, f'epoch {runner.epoch + 1} (after iteration '
                                   f'{runner.iter})')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad, total = find_nonfinite(_checkpoint_state(checkpoint))
        if bad:
            it = (checkpoint.get('meta') or {}).get('iter')
            self._stop(runner, f'not saving the checkpoint of iteration {it}: '
                       f'{describe_nonfinite(bad, total)}')
        path = runner.message_hub.get_info('last_ckpt')  # set by CheckpointHook just before
        if path:
            self._checked.append(str(path))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        source = runner.cfg.get('load_from') or 'the loaded checkpoint'
        bad, total = find_nonfinite(_checkpoint_state(checkpoint))
        if bad:
            msg = (f'{source} was saved by a run that had diverged: '
                   f'{describe_nonfinite(bad, total)}. Resume or load an earlier checkpoint; '
                   f'to use it regardless: --cfg-options default_hooks.{HOOK_KEY}=None')
            runner.logger.error(msg)
            raise FloatingPointError(msg)
        self._checked.append(str(source))
