"""Non-finite (NaN, inf) training state: finding it, and the check that ``tools/train.py`` adds
to every run (:class:`~mask3d_mm.engine.hooks.NonFiniteCheckHook`, docs/robustness.md).

A diverged run used to go on: it saved NaN checkpoints (with ``max_keep_ckpts`` they pushed out
the good ones), exited 0, and its export was NaN. :func:`add_nonfinite_check` puts the hook into
``default_hooks`` as ``nonfinite_check``; ``--cfg-options default_hooks.nonfinite_check=None``
switches it off.
"""
from typing import Any, Dict, List, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict

__all__ = ['find_nonfinite', 'describe_nonfinite', 'add_nonfinite_check', 'HOOK_KEY']

HOOK_KEY = 'nonfinite_check'  # its name in ``default_hooks``


def _local(t: torch.Tensor) -> List[torch.Tensor]:
    """The tensors this process holds of ``t``: its shards when ``t`` is sharded (the
    ``ShardedTensor`` of an FSDP local state dict, a ``DTensor``), else ``t``."""
    from torch.distributed._shard.sharded_tensor import ShardedTensor
    from torch.distributed.tensor import DTensor
    if isinstance(t, ShardedTensor):
        return [shard.tensor for shard in t.local_shards()]
    if isinstance(t, DTensor):
        return [t.to_local()]
    return [t]


def _tensors(tree: Any, prefix: str, out: Dict[str, torch.Tensor]) -> None:
    if isinstance(tree, torch.Tensor):
        shards = _local(tree)  # a sharded tensor: each process checks its own shards
        if len(shards) != 1 or shards[0] is not tree:
            for i, shard in enumerate(shards):
                _tensors(shard, prefix if len(shards) == 1 else f'{prefix}[{i}]', out)
            return
        if tree.is_floating_point() or tree.is_complex():
            out[prefix] = tree
    elif isinstance(tree, dict):
        for k, v in tree.items():
            _tensors(v, f'{prefix}.{k}' if prefix else str(k), out)
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            _tensors(v, f'{prefix}.{i}' if prefix else str(i), out)


def _sum(t: torch.Tensor) -> torch.Tensor:
    """A sum that is finite only if every element is (NaN and inf propagate); 16-bit floats
    are summed in float32, so that their sum does not overflow their range."""
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.sum(dtype=torch.float32)
    if t.dtype in (torch.float32, torch.float64, torch.complex64, torch.complex128):
        return t.sum()
    return torch.isfinite(t).all().to(torch.float32).log()  # other dtypes: 0 or -inf


@torch.no_grad()
def find_nonfinite(tree: Any, prefix: str = '') -> Tuple[List[str], int]:
    """Names (dotted paths) of the floating-point tensors in ``tree`` (nested dicts, lists,
    tuples) that hold a NaN or an infinity, and how many floating-point tensors it holds.

    One sum per tensor (a finite sum means finite elements) and one device sync per device; a
    tensor whose sum is not finite is checked element-wise (a sum can overflow). 0.3 s per GiB
    on one CPU core; on a GPU, one read of the tensors.
    """
    named: Dict[str, torch.Tensor] = {}
    _tensors(tree, prefix, named)
    by_device: Dict[torch.device, List[Tuple[str, torch.Tensor]]] = {}
    for name, t in named.items():
        by_device.setdefault(t.device, []).append((name, _sum(t)))
    bad = []
    for sums in by_device.values():
        finite = torch.isfinite(torch.stack([s for _, s in sums])).tolist()
        bad += [name for (name, _), ok in zip(sums, finite)
                if not ok and not torch.isfinite(named[name]).all()]
    return bad, len(named)


def describe_nonfinite(bad: Sequence[str], total: int, shown: int = 5) -> str:
    """``'53 of 54 tensors hold NaN or inf: a, b, c, d, e, ...'``."""
    names = ', '.join(bad[:shown]) + (', ...' if len(bad) > shown else '')
    return f'{len(bad)} of {total} tensors hold NaN or inf: {names}'


def add_nonfinite_check(cfg: Config) -> List[str]:
    """Add ``NonFiniteCheckHook`` to ``cfg.default_hooks`` as ``nonfinite_check`` (arguments the
    config or options gave it are kept); the log lines. ``nonfinite_check=None`` switches it off:
    the key is then removed, since mmengine only accepts None for its own default hooks."""
    hooks = cfg.get('default_hooks') or ConfigDict()
    if HOOK_KEY in hooks and hooks[HOOK_KEY] is None:
        hooks.pop(HOOK_KEY)
        cfg.default_hooks = hooks
        return [f'default_hooks.{HOOK_KEY}=None: training goes on through a non-finite loss or '
                'gradient norm, and checkpoints are written without checking their tensors']
    hooks[HOOK_KEY] = {'type': 'mask3d_mm.NonFiniteCheckHook', **(hooks.get(HOOK_KEY) or {})}
    cfg.default_hooks = hooks
    return []
