"""Resume an epoch-based run from a checkpoint saved inside an epoch at the batch where it
stopped (mmengine starts the epoch again from its first batch)."""
from typing import Any, Iterator

from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mask3d_mm.registry import HOOKS


class _SkipBatches:
    """The data loader of one epoch without its first ``skip`` batches, which are still loaded
    (so that the data-loader workers draw their random numbers as in the interrupted run);
    any other attribute is the loader's."""

    def __init__(self, loader: Any, skip: int) -> None:
        self.loader, self.skip = loader, skip

    def __iter__(self) -> Iterator:
        it = iter(self.loader)
        for _ in range(self.skip):
            next(it)
        return it

    def __len__(self) -> int:
        return len(self.loader) - self.skip

    def __getattr__(self, name: str) -> Any:
        if name in ('loader', 'skip'):  # not set yet (copy, pickle)
            raise AttributeError(name)
        return getattr(self.loader, name)


@HOOKS.register_module()
class ResumeInEpochHook(Hook):
    """After ``--resume`` from a checkpoint saved after iteration N inside an epoch of an
    ``EpochBasedTrainLoop`` (``GracefulStopHook`` on SIGTERM, or ``CheckpointHook`` by
    iteration), skip the batches of that epoch that were trained before N.

    mmengine restores the iteration count but runs the epoch from its first batch: those batches
    were trained twice and the run made more iterations than its schedule. Here the first
    epoch after the resume loads and drops them (as ``IterBasedTrainLoop`` does on resume:
    "Advance dataloader N steps"), so the run continues with the batch that came next, with
    the same augmentations when the workers restart each epoch (``persistent_workers=False``).
    Within that epoch the log counts its batches from the first one not skipped. Costs the
    loading of the skipped batches, once.
    """

    priority = 'LOWEST'  # before_train_epoch: after DistSamplerSeedHook has set the epoch

    def __init__(self) -> None:
        self._resumed = False

    def before_train(self, runner) -> None:
        self._resumed = runner.iter > 0

    def before_train_epoch(self, runner) -> None:
        loop = runner.train_loop
        if not self._resumed or not isinstance(loop, EpochBasedTrainLoop):
            return
        self._resumed = False  # only the first epoch after the resume
        done = runner.iter - runner.epoch * len(loop.dataloader)
        if 0 < done < len(loop.dataloader):
            runner.logger.info(f'resumed inside epoch {runner.epoch + 1} after iteration '
                               f'{runner.iter}: skipping the {done} batch(es) of the epoch '
                               'trained before (loaded again, not trained)')
            loop.dataloader = _SkipBatches(loop.dataloader, done)

    def after_train_epoch(self, runner) -> None:
        loop = runner.train_loop
        if isinstance(loop.dataloader, _SkipBatches):
            loop.dataloader = loop.dataloader.loader
