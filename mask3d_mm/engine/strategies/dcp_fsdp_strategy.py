"""mmengine's ``FSDPStrategy`` with sharded checkpoints in torch's distributed-checkpoint format.

mmengine 0.10.7's ``FSDPStrategy`` saves either the full state (``state_dict_cfg='full'``: rank 0
gathers the model and optimizer into one ordinary checkpoint) or each rank's ``LOCAL_STATE_DICT``
(``'local'``): FSDP's flat parameters as pickled ``ShardedTensor`` objects, one
``rank{r}.pth`` per rank, which torch can only unpickle inside a process group of the same size
at the same rank, so no tool can read them offline. ``state_dict_cfg='sharded'`` adds a third
way: the ``SHARDED_STATE_DICT`` of the model and optimizer (each parameter under its own name,
sharded) written with ``torch.distributed.checkpoint`` (DCP), every rank its part in parallel,
into a folder::

    iter_N.pth/
        .metadata            global shapes and where each shard lies (DCP)
        __0_0.distcp, ...    the shards of the model and optimizer tensors, one file a rank
        extra.pth            meta, message hub, parameter schedulers, the optimizer's
                             param_groups (lr, ...): an ordinary checkpoint

DCP loads it back resharded to any number of processes, and
:func:`mask3d_mm.engine.sharded_checkpoint.load_sharded_checkpoint` reads it in one process
as a full state dict (export, ``load_from``, ``init_cfg``). The model and optimizer states
go through ``torch.distributed.checkpoint.state_dict`` (``get_*_state_dict`` /
``set_*_state_dict``), torch's API for FSDP state; nothing is gathered on one rank.
"""
import os.path as osp
import time
from typing import Callable, Optional, Union

import mmengine
import torch.distributed.checkpoint as dcp
from mmengine._strategy import FSDPStrategy
from mmengine.dist import barrier, is_main_process
from mmengine.utils import get_git_hash, mkdir_or_exist
from torch.distributed.checkpoint.state_dict import (get_model_state_dict,
                                                     get_optimizer_state_dict,
                                                     set_optimizer_state_dict)
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
from torch.distributed.fsdp import (ShardedOptimStateDictConfig, ShardedStateDictConfig,
                                    StateDictType)

from mask3d_mm.engine.sharded_checkpoint import (EXTRA_FILE, SafeFileSystemReader,
                                                 sharded_keys)
from mask3d_mm.registry import STRATEGIES

__all__ = ['DCPFSDPStrategy']

PARAM_GROUPS = 'optimizer_param_groups'  # in extra.pth: lr, betas, ... of each group


class _ShardedOptimizerState:
    """Stands for the optimizer state of a sharded checkpoint in the checkpoint dict that
    :meth:`DCPFSDPStrategy.load_checkpoint` returns: read only when a resume loads it."""

    def __init__(self, path: str, param_groups: Optional[list]) -> None:
        self.path, self.param_groups = path, param_groups

    def __repr__(self) -> str:
        return f'<optimizer state in {self.path}>'


@STRATEGIES.register_module()
class DCPFSDPStrategy(FSDPStrategy):
    """``FSDPStrategy`` whose ``state_dict_cfg='sharded'`` writes DCP checkpoint folders.

    Args:
        state_dict_cfg (str | dict): ``'sharded'`` (this class: a DCP folder, each rank
            writes its shards), or mmengine's ``'full'`` (one ordinary file written by rank 0)
            / ``'local'`` / a dict. Defaults to ``'sharded'``.
        **kwargs: the arguments of mmengine's ``FSDPStrategy`` (``model_wrapper``,
            ``activation_checkpointing``, ``skip_init_weights``, ...).
    """

    def __init__(self, *, state_dict_cfg: Union[str, dict] = 'sharded', **kwargs) -> None:
        super().__init__(state_dict_cfg=state_dict_cfg, **kwargs)

    def _init_state_dict_cfg(self, state_dict_cfg: Union[str, dict]) -> None:
        if state_dict_cfg != 'sharded':
            return super()._init_state_dict_cfg(state_dict_cfg)
        # what model.state_dict() returns in between (e.g. to hooks): the same sharded view
        self.state_dict_type = StateDictType.SHARDED_STATE_DICT
        self.state_dict_config = ShardedStateDictConfig()
        self.optim_state_dict_config = ShardedOptimStateDictConfig()

    def _is_sharded(self) -> bool:
        return self.state_dict_type == StateDictType.SHARDED_STATE_DICT

    # ---- save ------------------------------------------------------------------------------
    def save_checkpoint(self, filename: str, *, save_optimizer: bool = True,
                        save_param_scheduler: bool = True, extra_ckpt: Optional[dict] = None,
                        callback: Optional[Callable] = None) -> None:
        """Save to ``filename``: a DCP folder (``'sharded'``), else as ``FSDPStrategy``.

        All ranks call it (each writes its shards); rank 0 writes ``extra.pth``.
        """
        if not self._is_sharded():
            return super().save_checkpoint(
                filename, save_optimizer=save_optimizer,
                save_param_scheduler=save_param_scheduler, extra_ckpt=extra_ckpt,
                callback=callback)
        checkpoint: dict = dict(state_dict=get_model_state_dict(self.model))
        if save_optimizer and hasattr(self, 'optim_wrapper'):
            checkpoint['optimizer'] = get_optimizer_state_dict(self.model,
                                                               self.optim_wrapper.optimizer)
        if save_param_scheduler and hasattr(self, 'param_schedulers'):
            checkpoint['param_schedulers'] = self.scheduler_state_dict()
        extra_ckpt = dict(extra_ckpt or {})
        extra_ckpt.setdefault('meta', dict()).update(
            seed=self.seed, time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
            mmengine=mmengine.__version__ + get_git_hash(), sharded_checkpoint='dcp')
        checkpoint.update(extra_ckpt)
        if callback is not None:  # the hooks' before_save_checkpoint
            callback(checkpoint)
        tensors = dict(state_dict=checkpoint.pop('state_dict'))
        if 'optimizer' in checkpoint:  # the tensors sharded, the hyper-parameters in extra.pth
            optimizer = checkpoint.pop('optimizer')
            tensors['optimizer'] = dict(state=optimizer['state'])
            checkpoint[PARAM_GROUPS] = optimizer['param_groups']
        if is_main_process():
            mkdir_or_exist(filename)
        barrier()
        dcp.save(tensors, checkpoint_id=filename)
        if is_main_process():
            from mmengine.runner.checkpoint import save_checkpoint
            save_checkpoint(checkpoint, osp.join(filename, EXTRA_FILE))
        barrier()  # the folder is complete before any rank goes on (e.g. to remove old ones)

    # ---- load ------------------------------------------------------------------------------
    def load_checkpoint(self, filename: str, **kwargs) -> dict:
        """Load the model state of ``filename``: a DCP folder (``'sharded'``), resharded to
        this run's processes; else as ``FSDPStrategy``. The optimizer state is read by
        :meth:`load_optim_state_dict` when a resume asks for it."""
        if not self._is_sharded():
            return super().load_checkpoint(filename, **kwargs)
        from mmengine.runner.checkpoint import _load_checkpoint
        self.logger.info(f'Load sharded checkpoint from {filename}')
        extra_file = osp.join(filename, EXTRA_FILE)
        if not osp.isfile(extra_file):
            raise FileNotFoundError(
                f'{filename}: not a sharded checkpoint of DCPFSDPStrategy (no {EXTRA_FILE}). '
                'A full checkpoint (one file) resumes with strategy.state_dict_cfg=full; to '
                'start from its weights, set model.init_cfg=dict(type=\'Pretrained\', '
                'checkpoint=FILE) instead of load_from')
        checkpoint = _load_checkpoint(extra_file, map_location='cpu')
        state = dict(state_dict=get_model_state_dict(self.model))
        dcp.load(state, checkpoint_id=filename, storage_reader=SafeFileSystemReader(filename))
        checkpoint['state_dict'] = state['state_dict']
        if 'optimizer' in sharded_keys(filename):
            checkpoint['optimizer'] = _ShardedOptimizerState(filename,
                                                             checkpoint.pop(PARAM_GROUPS, None))
        callback = kwargs.get('callback')
        if callback is not None:  # the hooks' after_load_checkpoint
            callback(checkpoint)
        self.load_model_state_dict(checkpoint.pop('state_dict'),
                                   strict=kwargs.get('strict', False))
        return checkpoint

    def load_model_state_dict(self, state_dict: dict, *, strict: bool = False,
                              revise_keys: list = [(r'^module.', '')]) -> None:  # noqa: B006
        if not self._is_sharded():
            return super().load_model_state_dict(state_dict, strict=strict)
        from torch.distributed.checkpoint.state_dict import (StateDictOptions,
                                                             set_model_state_dict)
        set_model_state_dict(self.model, state_dict, options=StateDictOptions(strict=strict))

    def load_optim_state_dict(self, state_dict: Union[dict, _ShardedOptimizerState]) -> None:
        """Load the optimizer state; from its DCP folder when it comes from a sharded one.

        A full one (``'full'``) goes through ``FSDP.optim_state_dict_to_load`` as in mmengine,
        whose 0.10.7 call passes the arguments in the order of torch < 2.1
        (``(optim_state_dict, model, optim)``; now ``(model, optim, optim_state_dict)``) and
        fails (``unhashable type: 'dict'``): called here in the current order.
        """
        if not isinstance(state_dict, _ShardedOptimizerState):
            optimizer = self.optim_wrapper.optimizer
            self.optim_wrapper.load_state_dict(
                FSDP.optim_state_dict_to_load(self.model, optimizer, state_dict))
            return
        optimizer = self.optim_wrapper.optimizer
        layout = get_optimizer_state_dict(self.model, optimizer)
        state = dict(optimizer=dict(state=layout['state']))
        dcp.load(state, checkpoint_id=state_dict.path,
                 storage_reader=SafeFileSystemReader(state_dict.path))
        set_optimizer_state_dict(
            self.model, optimizer,
            dict(state=state['optimizer']['state'], param_groups=state_dict.param_groups))
