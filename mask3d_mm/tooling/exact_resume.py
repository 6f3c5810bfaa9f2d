"""What ``tools/train.py`` adds so that ``--resume`` continues a run exactly (docs/robustness.md).

mmengine 0.10.7 checkpoints store the run's seed (``meta.seed``) but no random-number-generator
state, and the Runner builds the data loaders (sampler order, worker seeds) *before* it reads
the checkpoint. So on a resume, without these two pieces:

- a config without ``randomness.seed`` (the mmseg and mmdet configs) draws a new seed: another
  data order and other augmentations than the run it continues. :func:`pin_resume_seed` sets
  ``randomness.seed`` from the checkpoint before the Runner exists;
- the model's own random draws (dropout, drop path) continue from the re-seeded generator, not
  from where the killed run was. :class:`StepSeedHook` seeds torch before every training
  iteration from ``(seed, iteration)``, so iteration ``i`` draws the same numbers either way.

The augmentations run in data-loader workers that mmengine seeds from ``(seed, rank, worker)``.
They continue exactly when the workers restart with every epoch (``persistent_workers=False``,
the setting of the epoch-based configs) and, in ``IterBasedTrainLoop``, through mmengine's
replay of the consumed batches.
"""
from typing import List

import torch
from mmengine.config import Config

from mask3d_mm.engine.hooks.step_seed_hook import StepSeedHook, step_seed

__all__ = ['pin_resume_seed', 'step_seed', 'StepSeedHook']


def _checkpoint_meta(path: str) -> dict:
    """``meta`` of a local Runner checkpoint; memory-mapped, so its tensors are not read. Of
    a sharded checkpoint folder, the ``meta`` of its ``extra.pth``."""
    from mask3d_mm.compat import load_local_checkpoint, runner_checkpoint_globals
    from mask3d_mm.engine.sharded_checkpoint import is_sharded_checkpoint, load_sharded_checkpoint
    if is_sharded_checkpoint(path):
        return load_sharded_checkpoint(path, keys=()).get('meta') or {}
    try:
        with torch.serialization.safe_globals(runner_checkpoint_globals()):
            ckpt = torch.load(path, map_location='cpu', weights_only=True, mmap=True)
    except Exception:  # not mappable (legacy format) or unreadable: the full, checked load
        ckpt = load_local_checkpoint(path, map_location='cpu')
    return (ckpt.get('meta') or {}) if isinstance(ckpt, dict) else {}


def pin_resume_seed(cfg: Config) -> List[str]:
    """On a resume (``cfg.resume`` with ``cfg.load_from`` set), set ``cfg.randomness.seed`` to
    the seed stored in the checkpoint; the log lines saying so (none when nothing changed).

    mmengine adopts that seed too, but only after the data loaders were built with another one.
    A remote checkpoint (``scheme://``) is not read ahead; a line says to pass the seed.
    """
    path = cfg.get('load_from')
    if not cfg.get('resume') or not path:
        return []
    randomness = cfg.get('randomness') or dict()
    current = randomness.get('seed')
    if '://' in str(path):
        return [] if current is not None else [
            f'--resume from {path}: its seed is not read ahead of the Runner; pass '
            '--cfg-options randomness.seed=SEED (the seed in its log) for an exact resume']
    seed = _checkpoint_meta(path).get('seed')
    if seed is None or seed == current:
        return []
    cfg.randomness = dict(randomness, seed=seed)
    was = 'none' if current is None else current
    return [f'--resume: randomness.seed={seed}, the seed of the run in {path} (the config: '
            f'{was}), so that data order and augmentations continue that run']
