"""Seed torch before every training iteration from (seed, iteration): model draws that do
not depend on whether the run was resumed (see :mod:`mask3d_mm.tooling.exact_resume`)."""
import numpy as np
import torch
from mmengine.hooks import Hook

from mask3d_mm.registry import HOOKS


def step_seed(seed: int, iteration: int) -> int:
    """The torch seed of ``iteration`` in a run seeded with ``seed`` (< 2**63; independent
    streams for different iterations and seeds, via ``numpy.random.SeedSequence``)."""
    words = np.random.SeedSequence([int(seed) & (2**64 - 1), int(iteration)]).generate_state(
        2, np.uint32)
    return (int(words[0]) << 31) | (int(words[1]) >> 1)


@HOOKS.register_module()
class StepSeedHook(Hook):
    """Seed torch's generators (CPU and every CUDA device) before each training iteration with
    :func:`step_seed` of the runner's seed and the iteration.

    The model's random draws of an iteration (dropout, drop path) then depend on the iteration,
    not on how many draws the process made before, which differs after ``--resume``. With
    ``randomness.diff_rank_seed`` each rank has its own seed, hence its own draws. Data-loader
    workers and numpy are not touched. Cost: one seeding per iteration (microseconds).
    """

    priority = 'VERY_HIGH'

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        torch.manual_seed(step_seed(runner.seed, runner.iter))
