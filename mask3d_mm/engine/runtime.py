"""Set-up shared by ``tools/train.py`` and ``tools/test.py``: CPU distributed runs, option checks.

Not exported from :mod:`mask3d_mm.engine`: the tools import it as ``mask3d_mm.engine.runtime``.
"""
import datetime
import difflib
import inspect
from typing import Any, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import Runner

__all__ = ['setup_cpu_distributed', 'teardown_distributed', 'check_cfg_options']

# top-level keys that mmengine reads besides the Runner's arguments (configs often omit them)
_RUNNER_EXTRA_KEYS = {
    'model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'compile', 'runner_type',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'custom_imports', 'strategy',
    'tta_model', 'tta_pipeline'
}


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
      ``cfg.sync_bn`` is dropped; DDP then broadcasts rank 0's buffers (BN running statistics)
      at every forward so that all ranks keep the same ones.

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
        if num_sync_bn:
            wrapper['broadcast_buffers'] = True
    msg = (f'CUDA is not available: distributed run on CPU with the gloo backend '
           f'(env_cfg.dist_cfg.backend=gloo), rank {torch_dist.get_rank()} of '
           f'{torch_dist.get_world_size()}')
    if num_sync_bn:
        msg += f'; SyncBN -> BN ({num_sync_bn} config entries), broadcast_buffers=True'
    return msg


def teardown_distributed() -> None:
    """Wait for all ranks, then destroy the default process group (no-op when there is none).

    Called at the end of ``tools/train.py`` and ``tools/test.py``. A process that exits with a
    live gloo process group can abort in the group's destructor ("terminate called without an
    active exception", SIGABRT) while its peer still finishes, so that torchrun reports a failed
    run after every rank did its work. torch asks for an explicit ``destroy_process_group``.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def check_cfg_options(cfg: Config, options: Optional[dict]) -> None:
    """Refuse ``--cfg-options`` whose top-level key neither is in the config nor is read by
    the Runner.

    mmengine merges any key, so a typo such as ``randomnes.seed=1`` or ``work_dri=x`` would be
    silently ignored. Nested typos need no check: the builders reject unknown arguments with a
    ``TypeError`` naming the class and the key (e.g. ``model.backbone.archh=b``).

    Raises:
        KeyError: naming the unknown key and the closest known keys.
    """
    runner_args = set(inspect.signature(Runner.__init__).parameters) - {'self'}
    known = set(cfg.keys()) | runner_args | _RUNNER_EXTRA_KEYS
    for key in options or {}:
        top = key.split('.')[0]
        if top in known:
            continue
        close = difflib.get_close_matches(top, sorted(known), n=3)
        hint = f'; did you mean {", ".join(close)}?' if close else ''
        raise KeyError(f'--cfg-options {key}: {top!r} is not a key of {cfg.filename} nor a '
                       f'setting the Runner reads, so it would be ignored{hint}')
