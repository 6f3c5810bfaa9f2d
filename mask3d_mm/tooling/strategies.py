"""FlexibleRunner strategies (FSDP, DeepSpeed) on the machine at hand: per-run config rewrites.

mmengine's ``FlexibleRunner`` takes ``strategy=dict(type='FSDPStrategy' | 'DeepSpeedStrategy',
...)`` instead of the Runner's ``model_wrapper_cfg``; ``tools/train.py`` builds it when the
config sets ``runner_type = 'FlexibleRunner'`` (docs/distributed.md). Like
:mod:`.devices`, this rewrites only the config of one run, never upstream code, and logs it.
"""
import importlib.util
from typing import List

import torch
from mmengine.config import Config
from mmengine.registry import STRATEGIES

from .component_args import _registered

__all__ = ['fit_strategy_to_device', 'strategy_class', 'FULL_STATE_DICT_ON_CPU']

# mmengine's state_dict_cfg='full' (rank 0 gathers the whole model and optimizer state), without
# offload_to_cpu
FULL_STATE_DICT_ON_CPU = dict(
    state_dict_type='FULL_STATE_DICT',
    state_dict_config=dict(type='FullStateDictConfig', rank0_only=True, offload_to_cpu=False),
    optim_state_dict_config=dict(type='FullOptimStateDictConfig', rank0_only=True,
                                 offload_to_cpu=False))


def strategy_class(cfg: Config):
    """The class of ``cfg.strategy`` (None without a strategy or when it is not registered)."""
    strategy = cfg.get('strategy')
    if not isinstance(strategy, dict) or 'type' not in strategy:
        return None
    type_ = strategy['type']
    return type_ if isinstance(type_, type) else _registered(STRATEGIES, type_, None)


def fit_strategy_to_device(cfg: Config) -> List[str]:
    """Make a FlexibleRunner strategy run here; the log lines of what changed.

    - ``FSDPStrategy`` needs processes (it shards over a process group): without a launcher
      (``--launcher none``) it raises, naming ``tools/dist_train.sh``;
    - ``FSDPStrategy`` without CUDA: mmengine hands FSDP ``device_id=LOCAL_RANK``, a CUDA device,
      and torch's FSDP refuses a CPU-only machine unless it is given ``device_id='cpu'``;
      ``strategy.model_wrapper.device_id='cpu'`` is set (FSDP on CPU with gloo),
      ``mixed_precision`` is dropped (fp32 on CPU), and ``state_dict_cfg='full'`` becomes
      :data:`FULL_STATE_DICT_ON_CPU` (mmengine's ``offload_to_cpu=True`` gather of tensors
      that are on the CPU already ends in a SIGSEGV with torch 2.13);
    - ``DeepSpeedStrategy`` without CUDA: DeepSpeed (0.16.5) runs ZeRO on its CPU accelerator
      with gloo; its ``fp16`` / ``bf16`` / ``amp`` sections are dropped (fp32);
    - ``DeepSpeedStrategy`` and ``deepspeed`` not installed (it is optional): raises, saying
      how to install it (docs/distributed.md).
    """
    from mmengine._strategy import DeepSpeedStrategy, FSDPStrategy
    cls = strategy_class(cfg)
    if cls is None:
        return []
    launcher = cfg.get('launcher', 'none')
    notes: List[str] = []
    if issubclass(cls, DeepSpeedStrategy) and importlib.util.find_spec('deepspeed') is None:
        raise ModuleNotFoundError(
            'strategy DeepSpeedStrategy: deepspeed is not installed (optional, not part of '
            'tools/install.sh): DS_BUILD_OPS=0 .venv/bin/python -m pip install '
            'deepspeed==0.16.5 (newer releases removed a module that mmengine 0.10.7 imports); '
            'docs/distributed.md')
    if issubclass(cls, (FSDPStrategy, DeepSpeedStrategy)) and launcher == 'none':
        raise RuntimeError(
            f'strategy {cls.__name__} shards the model over processes and needs a launcher: '
            'bash tools/dist_train.sh CONFIG NPROCS (torchrun; one process works too), '
            'tools/slurm_train.sh, or tools/train.py --launcher pytorch under torchrun')
    if torch.cuda.is_available():
        return notes
    if issubclass(cls, DeepSpeedStrategy):
        dropped = {k: cfg.strategy.pop(k) for k in ('fp16', 'bf16', 'amp') if k in cfg.strategy}
        msg = 'CUDA is not available: DeepSpeed on its CPU accelerator (gloo), fp32'
        if dropped:
            msg += f'; dropped strategy {", ".join(f"{k}={v!r}" for k, v in dropped.items())}'
        notes.append(msg)
    if issubclass(cls, FSDPStrategy):
        if cfg.strategy.get('model_wrapper') is None:  # mmengine's default
            cfg.strategy.model_wrapper = dict(type='MMFullyShardedDataParallel')
        wrapper = cfg.strategy.model_wrapper
        wrapper['device_id'] = 'cpu'
        dropped = wrapper.pop('mixed_precision', None)
        msg = ('CUDA is not available: FSDP on CPU (strategy.model_wrapper.device_id=cpu, gloo '
               'backend), fp32')
        if dropped is not None:
            msg += f'; dropped strategy.model_wrapper.mixed_precision={dropped!r}'
        if cfg.strategy.get('state_dict_cfg') == 'full':
            # mmengine's 'full' gathers with offload_to_cpu=True, which kills the process
            # (SIGSEGV) in torch 2.13 when the parameters are on the CPU already
            cfg.strategy.state_dict_cfg = FULL_STATE_DICT_ON_CPU
            msg += '; state_dict_cfg full without offload_to_cpu (the tensors are on the CPU)'
        notes.append(msg)
    return notes
