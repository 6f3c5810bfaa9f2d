"""Keep the buffers of all ranks equal to rank 0's (BatchNorm running statistics on CPU DDP)."""
from typing import Dict, List

import torch
import torch.distributed as torch_dist
from mmengine.dist import is_distributed
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mask3d_mm.registry import HOOKS


@HOOKS.register_module()
class BroadcastBuffersHook(Hook):
    """After every training iteration, copy rank 0's buffers (e.g. BatchNorm ``running_mean``,
    ``running_var``, ``num_batches_tracked``) to all ranks; one broadcast per dtype.

    Why: on CPU, SyncBN becomes BN (``mask3d_mm.tooling.setup_cpu_distributed``), so each
    rank updates the running statistics from its own half of the batch. DDP's
    ``broadcast_buffers`` only syncs them *before* a forward, so after the last iteration, and
    at every validation (which bypasses DDP's forward) the ranks held different statistics:
    each rank validated its share of the data with its own model. With this hook, validation,
    checkpoints and the end of training all see rank 0's buffers on every rank, i.e. the model
    that the checkpoint holds. It runs before the checkpoint, logger and EMA hooks.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not is_distributed():
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        by_dtype: Dict[torch.dtype, List[torch.Tensor]] = {}
        for buf in model.buffers():
            by_dtype.setdefault(buf.dtype, []).append(buf)
        for bufs in by_dtype.values():
            flat = torch.cat([b.detach().reshape(-1) for b in bufs])
            torch_dist.broadcast(flat, src=0)
            offset = 0
            with torch.no_grad():
                for b in bufs:
                    b.copy_(flat[offset:offset + b.numel()].view_as(b))
                    offset += b.numel()
