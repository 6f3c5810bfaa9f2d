"""Hooks that the tool tests put into training subprocesses (``custom_imports``)."""
import json
import os
import os.path as osp
import signal
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RankStateHook(Hook):
    """Every rank saves its model state (parameters and buffers) before training, at the start
    of each validation and after training (``rank{r}_{before|val|after}.pth``) and logs its
    rank."""

    priority = 'LOWEST'

    def _save(self, runner, when: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        torch.save(state, osp.join(runner.work_dir, f'rank{runner.rank}_{when}.pth'))

    def before_train(self, runner) -> None:
        self._save(runner, 'before')

    def before_val_epoch(self, runner) -> None:
        self._save(runner, 'val')

    def after_train(self, runner) -> None:
        self._save(runner, 'after')
        runner.logger.info(f'RankStateHook: rank {runner.rank} of {runner.world_size} '
                           f'trained {runner.iter} iterations')


@HOOKS.register_module()
class BatchLogHook(Hook):
    """Appends each iteration's image paths to ``batches_rank{r}.jsonl``; with ``kill_after``,
    SIGKILLs its own process after that iteration (after the checkpoint and logger hooks)."""

    priority = 'LOWEST'

    def __init__(self, kill_after: Optional[int] = None) -> None:
        self.kill_after = kill_after

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        paths = [osp.basename(osp.dirname(osp.dirname(ds.img_path))) + '/' +
                 osp.basename(ds.img_path) for ds in data_batch['data_samples']]
        with open(osp.join(runner.work_dir, f'batches_rank{runner.rank}.jsonl'), 'a') as f:
            f.write(json.dumps(dict(iter=runner.iter + 1, img_path=paths)) + '\n')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.kill_after is not None and runner.iter + 1 == self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class NaNParameterHook(Hook):
    """Before iteration ``at``, one parameter of rank ``rank``'s model becomes NaN (a fault of
    one process): that rank's loss is NaN, the other ranks' losses are finite."""

    priority = 'LOWEST'

    def __init__(self, rank: int, at: int) -> None:
        self.rank, self.at = rank, at

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if runner.rank == self.rank and runner.iter + 1 == self.at:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            with torch.no_grad():
                next(model.parameters()).view(-1)[0] = float('nan')
