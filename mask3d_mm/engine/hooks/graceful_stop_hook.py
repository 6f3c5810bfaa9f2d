"""Stop training on SIGTERM / SIGINT (what cluster schedulers and Ctrl-C send) with a resumable
checkpoint, the data-loader workers shut down and a non-zero exit status."""
import gc
import multiprocessing.util
import os
import os.path as osp
import signal
import threading
from typing import Any, Dict, List, Sequence, Tuple, Union

import torch
import torch.distributed as torch_dist
from mmengine.dist import all_reduce, barrier, is_distributed, is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import EpochBasedTrainLoop

from mask3d_mm.atomic_write import atomic_output
from mask3d_mm.registry import HOOKS

__all__ = ['GracefulStopHook', 'TrainingStopped', 'shutdown_dataloader_workers']

# how often a protected worker checks that its trainer still lives (seconds)
_PARENT_CHECK_INTERVAL = 2.0


class TrainingStopped(SystemExit):
    """Raised once the checkpoint is saved: the process exits with ``128 + signal number``
    (143 for SIGTERM, 130 for SIGINT), as if the signal had ended it."""


def shutdown_dataloader_workers() -> List[int]:
    """Shut down the worker processes of every multi-process DataLoader iterator of this process
    (the train loop's, a persistent validation loader's, ...), as the iterator's ``__del__``
    does; a worker that does not end within 5 s is killed. Returns the pids of the workers."""
    from torch.utils.data.dataloader import _MultiProcessingDataLoaderIter
    pids = []
    # type(): isinstance would read __class__ of every object (some warn, e.g. torch's reduce_op)
    for it in [o for o in gc.get_objects()
               if issubclass(type(o), _MultiProcessingDataLoaderIter)]:
        workers = list(getattr(it, '_workers', []))
        it._shutdown_workers()
        for w in workers:
            w.join(timeout=5)
            if w.is_alive():
                w.kill()
                w.join(timeout=5)
            pids.append(w.pid)
    return pids


def _protect_forked_worker(_hook: Any) -> None:
    """In a process forked by the trainer (a data-loader worker; ``multiprocessing`` calls it
    after the fork): SIGTERM / SIGINT sent by anyone but the trainer are ignored while the
    trainer lives, since the trainer handles them and stops its workers itself once its
    checkpoint is saved. Schedulers (slurm), ``kill -- -PGID`` and a terminal's Ctrl-C signal
    every process of the job; torch's worker would die at once, and the trainer would fail at
    its next batch ("DataLoader worker ... is killed by signal") without a checkpoint.

    The signals are blocked and taken by a thread (``sigwaitinfo`` names the sender): from the
    trainer (the DataLoader's own ``terminate()``) the worker ends as torch's handler ends it;
    once the trainer is gone (killed with ``kill -9``), the worker ends within
    ``_PARENT_CHECK_INTERVAL`` seconds instead of staying behind under PID 1.
    """
    if not hasattr(signal, 'sigtimedwait'):  # not on macOS: torch's behaviour
        return
    parent = os.getppid()
    sigs = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)  # inherited by the threads started later

    def wait() -> None:
        while True:
            info = signal.sigtimedwait(sigs, _PARENT_CHECK_INTERVAL)
            if os.getppid() != parent:  # orphaned: nobody will read what it produces
                os._exit(128 + (info.si_signo if info else signal.SIGTERM))
            if info is not None and info.si_pid == parent:
                os._exit(0)  # stopped by the trainer, as torch's SIGTERM handler does

    threading.Thread(target=wait, name='mask3d_mm-worker-signals', daemon=True).start()


@HOOKS.register_module()
class GracefulStopHook(Hook):
    """On SIGTERM or SIGINT during training, finish the current iteration, save a checkpoint as
    :class:`~mmengine.hooks.CheckpointHook` would (its ``out_dir``, file names and
    ``last_checkpoint``), shut the data-loader workers down and exit with ``128 + signal``.

    - The signal handler only records the signal (and writes one line to stderr); the work is
      done at the next safe point: after the current training iteration (after
      ``CheckpointHook``, which may have saved this very state: it is not saved again), at the
      end of an epoch's last iteration after the epoch's hooks, or, in a single process, after
      the current validation iteration (the state of the last training iteration).
    - File names: ``iter_N.pth`` after iteration N, ``epoch_E.pth`` at the end of epoch E
      (``CheckpointHook.filename_tmpl`` when it counts in the same unit). A stop inside an epoch
      of an ``EpochBasedTrainLoop`` writes ``iter_N.pth``: mmengine would start that epoch
      again from its first batch on ``--resume``;
      :class:`~mask3d_mm.engine.hooks.resume_in_epoch_hook.ResumeInEpochHook` skips the
      batches trained before.
    - Distributed runs: the ranks agree after every iteration (one all-reduce of one number),
      so all stop after the same iteration even when only some were signalled; rank 0 saves.
    - Further signals while stopping are logged to stderr and ignored, so the checkpoint being
      written is finished; SIGKILL still stops at once (``last_checkpoint`` then names the
      previous, complete checkpoint).
    - Data-loader workers forked after this hook is created ignore these signals from anyone
      but the trainer, so a signal to the whole process group (slurm) does not kill them under
      the trainer; they end when the trainer stops them or dies.

    The handlers are installed before training (``before_train``) and the previous ones are
    restored after it.

    Args:
        signals (sequence of str | int): the signals that stop the run.
    """

    priority = 'LOWEST'  # after CheckpointHook (VERY_LOW) in after_train_iter

    def __init__(self, signals: Sequence[Union[str, int]] = ('SIGTERM', 'SIGINT')) -> None:
        self.signals = [signal.Signals[s] if isinstance(s, str) else signal.Signals(s)
                        for s in signals]
        self._pid = os.getpid()
        self._requested = 0  # the first signal number received; 0: none
        self._training = False
        self._previous: Dict[int, Any] = {}
        # the workers are forked when the train loop is built, before any hook runs
        multiprocessing.util.register_after_fork(self, _protect_forked_worker)

    # ---- signal handling ---------------------------------------------------------------------
    def _handle(self, signum: int, frame: Any) -> None:
        if os.getpid() != self._pid:  # a forked child that inherited the handler
            return
        name = signal.Signals(signum).name
        if self._requested:
            msg = (f'{name} received again: still stopping (the checkpoint is finished first; '
                   'kill -9 stops at once)')
        else:
            self._requested = signum
            msg = (f'{name} received: saving a checkpoint after the current iteration, then '
                   'stopping')
        # no logging here: a handler can run inside a write of the same stream
        os.write(2, f'mask3d_mm: {msg}\n'.encode())

    def before_train(self, runner) -> None:
        self._training, self._requested = True, 0
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._handle)

    def after_train(self, runner) -> None:
        self._training = False
        self._restore()

    def _restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        self._previous.clear()

    def _agreed_signal(self) -> int:
        """The signal that stops the run (0: none); the maximum over the ranks."""
        signum = self._requested
        if is_distributed():
            flag = torch.tensor([signum], dtype=torch.int64)
            all_reduce(flag, op='max')
            signum = int(flag.item())
        return signum

    # ---- safe points ---------------------------------------------------------------------------
    # The loops count an iteration, and an epoch, after its hooks: in after_train_iter the state
    # is that of runner.iter + 1 iterations; in after_train_epoch, of runner.epoch + 1 epochs;
    # during validation, the counts are up to date.
    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop) and batch_idx + 1 == len(loop.dataloader):
            return  # the epoch's last batch: after_train_epoch (epoch schedulers step first)
        signum = self._agreed_signal()
        if signum:
            self._stop(runner, signum, epoch=runner.epoch, iters=runner.iter + 1,
                       epoch_end=False)

    def after_train_epoch(self, runner) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            return  # an iteration loop calls it once, after its last iteration
        signum = self._agreed_signal()
        if signum:
            self._stop(runner, signum, epoch=runner.epoch + 1, iters=runner.iter,
                       epoch_end=True)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        # only in one process: the ranks' validation loaders may differ in length by one batch
        # (round_up=False), so no collective here; a distributed run stops after validation
        if not self._training or is_distributed() or not self._requested:
            return
        self._stop(runner, self._requested, epoch=runner.epoch, iters=runner.iter,
                   epoch_end=isinstance(runner.train_loop, EpochBasedTrainLoop))

    # ---- the stop ------------------------------------------------------------------------------
    @staticmethod
    def _checkpoint(runner, epoch: int, iters: int, epoch_end: bool) -> Tuple[str, str, dict]:
        """``(out_dir, path, save_checkpoint kwargs)`` of this state as the runner's
        CheckpointHook names and saves its checkpoints."""
        hook = next((h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        if hook is None or not hook.out_dir:
            tmpl = 'epoch_{}.pth' if epoch_end else 'iter_{}.pth'
            name = tmpl.format(epoch if epoch_end else iters)
            return runner.work_dir, osp.join(runner.work_dir, name), {}
        if epoch_end:
            name = (hook.filename_tmpl if hook.by_epoch else 'epoch_{}.pth').format(epoch)
        else:
            name = (hook.filename_tmpl if not hook.by_epoch else 'iter_{}.pth').format(iters)
        kwargs = dict(hook.args, save_optimizer=hook.save_optimizer,
                      save_param_scheduler=hook.save_param_scheduler,
                      file_client_args=hook.file_client_args, backend_args=hook.backend_args)
        return hook.out_dir, hook.file_backend.join_path(hook.out_dir, name), kwargs

    def _stop(self, runner, signum: int, epoch: int, iters: int, epoch_end: bool) -> None:
        """Save the state after ``iters`` iterations (``epoch``: the epochs completed, or the
        current epoch when not ``epoch_end``), shut the workers down, raise
        :class:`TrainingStopped`."""
        name = signal.Signals(signum).name
        by = '' if self._requested else ' by another rank'
        runner.logger.info(f'{name} received{by}: stopping after iteration {iters}')
        out_dir, path, kwargs = self._checkpoint(runner, epoch, iters, epoch_end)
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        if runner.message_hub.get_info('last_ckpt') == path and osp.isfile(path):
            how = 'saved by CheckpointHook in this iteration'
        else:
            runner.message_hub.update_info('last_ckpt', path)
            runner.save_checkpoint(out_dir, osp.basename(path), by_epoch=epoch_end,
                                   meta=dict(epoch=epoch, iter=iters), **kwargs)
            if is_main_process():  # after the save: a kill during it leaves the previous one
                with atomic_output(pointer) as tmp, open(tmp, 'w') as f:
                    f.write(path)
            how = 'saved'
        if is_distributed():
            barrier()  # every rank leaves once rank 0 has saved
        status = 128 + signum
        runner.logger.info(
            f'{name}: checkpoint {path} {how} (epoch {epoch}, iteration {iters}), named by '
            f'{pointer}; continue with --resume. Exiting with status {status}')
        pids = shutdown_dataloader_workers()
        if pids:
            runner.logger.info(f'{name}: stopped {len(pids)} data-loader worker process(es): '
                               f'{pids}')
        if is_distributed():  # the tools then end the process (mask3d_mm/tooling/process_end.py)
            gc.disable()  # no collection may free the DDP wrapper and join the group's threads
            torch_dist.destroy_process_group()
        self._training = False
        self._restore()
        raise TrainingStopped(status)
