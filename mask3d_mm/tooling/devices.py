"""mmengine's GPU assumptions on a machine without one: CPU DDP (gloo) and the AMP fallback.

These rewrite the config, per run, before the Runner is built; the upstream stack itself is
not patched (see the table in :mod:`mask3d_mm.compat`).
"""
import datetime
from typing import Any, List, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.registry import MODEL_WRAPPERS

from .component_args import _accepted_args, _registered

__all__ = ['setup_cpu_distributed', 'has_amp_device', 'fit_optim_wrapper_to_device',
           'AMP_ONLY_KEYS']


def _sync_bn_to_bn(node: Any) -> int:
    """Turn every ``dict(type='SyncBN' | 'MMSyncBN')`` under ``node`` into 'BN'; the count."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'
            count += 1
        for value in node.values():
            count += _sync_bn_to_bn(value)
    elif isinstance(node, (list, tuple)):
        count += sum(_sync_bn_to_bn(v) for v in node)
    return count


def setup_cpu_distributed(cfg: Config) -> Optional[str]:
    """Make a distributed run work without GPUs: gloo backend, CPU DDP.

    Does nothing when ``cfg.launcher`` is 'none' or CUDA is available. Otherwise sets
    ``cfg.env_cfg.dist_cfg.backend = 'gloo'`` and works around the GPU assumptions of mmengine
    0.10.7 and torch:

    - ``init_dist`` calls ``torch.cuda.set_device`` (an error without CUDA): the gloo process
      group is initialised here from the ``torchrun`` environment, so the Runner skips it;
    - the Runner hands ``device_ids=[LOCAL_RANK]`` to DDP, which DDP refuses for a CPU model:
      ``model_wrapper_cfg`` gets ``device_ids=None``;
    - ``SyncBatchNorm`` only runs on GPUs: SyncBN layers of the model config become BN and
      ``cfg.sync_bn`` is dropped. Each rank then updates the BN running statistics from its own
      samples, so :class:`~mask3d_mm.engine.hooks.broadcast_buffers_hook.BroadcastBuffersHook`
      (added to ``custom_hooks`` of every CPU distributed run) copies rank 0's buffers to all
      ranks after every iteration: validation, checkpoints and the end of training see rank
      0's statistics on every rank. (On GPUs SyncBN computes the statistics over the whole
      batch of all ranks, so every rank updates them identically.)

    Only ``--launcher pytorch`` (``torchrun`` / ``tools/dist_train.sh``) is supported on CPU;
    'slurm' and 'mpi' raise: run ``torchrun`` inside the allocation instead.

    Returns:
        str | None: the log line saying what was changed, or None when nothing was.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return None
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} without CUDA: mmengine sets a CUDA device per process for '
            'this launcher. On CPU machines launch with torchrun (tools/dist_train.sh, '
            '--launcher pytorch), which uses the gloo backend.')
    env_cfg = cfg.setdefault('env_cfg', dict())
    dist_cfg = env_cfg.setdefault('dist_cfg', dict())
    dist_cfg['backend'] = 'gloo'
    if not torch_dist.is_initialized():
        timeout = dist_cfg.get('timeout')
        kwargs = {} if timeout is None else dict(timeout=datetime.timedelta(seconds=timeout))
        torch_dist.init_process_group(backend='gloo', **kwargs)

    num_sync_bn = _sync_bn_to_bn(cfg.model) + int(cfg.pop('sync_bn', None) is not None)
    if cfg.get('model_wrapper_cfg') is None:  # what the Runner builds when it is None
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper = cfg.model_wrapper_cfg
    wrapper_type = MODEL_WRAPPERS.get(wrapper.get('type', 'MMDistributedDataParallel'))
    if isinstance(wrapper_type, type) and issubclass(wrapper_type,
                                                     torch.nn.parallel.DistributedDataParallel):
        wrapper.setdefault('device_ids', None)
    hooks = list(cfg.get('custom_hooks') or [])  # once: a dumped config may hold it already
    if not any(isinstance(h, dict) and str(h.get('type', '')).endswith('BroadcastBuffersHook')
               for h in hooks):
        hooks.append(dict(type='mask3d_mm.BroadcastBuffersHook'))
    cfg.custom_hooks = hooks
    msg = (f'CUDA is not available: distributed run on CPU with the gloo backend '
           f'(env_cfg.dist_cfg.backend=gloo), rank {torch_dist.get_rank()} of '
           f'{torch_dist.get_world_size()}')
    if num_sync_bn:
        msg += f'; SyncBN -> BN ({num_sync_bn} config entries)'
    return msg + "; rank 0's buffers (BN statistics) go to all ranks after every iteration"


# ---- optimizer wrapper on the machine at hand ---------------------------------------------
AMP_ONLY_KEYS = ('loss_scale', 'dtype', 'use_fsdp')  # AmpOptimWrapper's own arguments


def has_amp_device() -> bool:
    """Whether mmengine's ``AmpOptimWrapper`` can run here (it asserts one of these)."""
    from mmengine.device import (is_cuda_available, is_mlu_available, is_musa_available,
                                 is_npu_available)
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def fit_optim_wrapper_to_device(cfg: Config) -> List[str]:
    """Make the config's optimizer wrapper run on this machine; the log lines of what changed.

    - No GPU (nor NPU / MLU / MUSA) and ``AmpOptimWrapper``: it becomes ``OptimWrapper`` (fp32),
      its AMP-only keys are dropped; optimizer, ``paramwise_cfg``, ``constructor``,
      ``clip_grad``, ``accumulative_counts`` stay as they are.
    - Any wrapper that is not an AMP one: AMP-only keys that it does not take are dropped, so
      that ``--cfg-options optim_wrapper.type=OptimWrapper`` works on an AMP config.
    """
    from mmengine.optim import AmpOptimWrapper
    from mmengine.registry import OPTIM_WRAPPERS
    wrapper = cfg.get('optim_wrapper')
    if not isinstance(wrapper, dict) or 'optimizer' not in wrapper:
        return []  # none (testing), or several wrappers: left to their constructor
    type_ = wrapper.get('type', 'OptimWrapper')
    cls = _registered(OPTIM_WRAPPERS, type_, cfg.get('default_scope'))
    if cls is None:
        return []
    notes = []
    if cls is AmpOptimWrapper and not has_amp_device():
        wrapper['type'] = 'OptimWrapper'
        dropped = {k: wrapper.pop(k) for k in AMP_ONLY_KEYS if k in wrapper}
        kept = [k for k in ('optimizer', 'paramwise_cfg', 'constructor', 'clip_grad',
                            'accumulative_counts') if k in wrapper]
        notes.append(
            f'no GPU: optim_wrapper AmpOptimWrapper -> OptimWrapper (fp32 on CPU); dropped its '
            f'AMP-only {", ".join(f"{k}={v!r}" for k, v in dropped.items()) or "keys (none set)"}'
            f'; {", ".join(kept)} unchanged')
    elif not issubclass(cls, AmpOptimWrapper):
        accepted = _accepted_args(cls)
        stale = [k for k in AMP_ONLY_KEYS if k in wrapper and k not in (accepted or ())]
        if stale:
            dropped = {k: wrapper.pop(k) for k in stale}
            notes.append(f'optim_wrapper.type={cls.__name__}: dropped the AMP-only '
                         f'{", ".join(f"{k}={v!r}" for k, v in dropped.items())}, which '
                         f'{cls.__name__} does not take')
    return notes
