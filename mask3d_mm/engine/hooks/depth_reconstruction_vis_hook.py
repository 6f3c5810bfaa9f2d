"""Log reconstruction panels through the mmengine visualizer during validation."""
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.hooks import Hook

from mask3d_mm.registry import HOOKS
from mask3d_mm.visualization.depth_panel import depth_reconstruction_panel


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@HOOKS.register_module()
class DepthReconstructionVisHook(Hook):
    """Add panels (masked RGB | depth input | predicted | ground truth | error) of the first
    ``num_samples`` validation samples to the runner's visualizer (its vis backends write them,
    e.g. ``LocalVisBackend`` to ``<work_dir>/<timestamp>/vis_data/vis_image/``).

    Args:
        num_samples (int): samples per validation. Defaults to 4.
        enable (bool): Defaults to True.
    """
    priority = 'LOW'

    def __init__(self, num_samples: int = 4, enable: bool = True) -> None:
        self.num_samples = num_samples
        self.enable = enable

    def after_val_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                       outputs: Optional[Sequence] = None) -> None:
        if not self.enable or outputs is None:
            return
        batch_size = len(outputs)
        for i, sample in enumerate(outputs):
            index = batch_idx * batch_size + i
            if index >= self.num_samples:
                return
            img = _np(data_batch['inputs'][i]).transpose(1, 2, 0).astype(np.uint8)
            panel = depth_reconstruction_panel(
                np.ascontiguousarray(img), _np(sample.rgb_mask), _np(sample.depth),
                _np(sample.depth_mask), _np(sample.pred_depth)[0])
            runner.visualizer.add_image(f'reconstruction_{index}', panel[..., ::-1],
                                        step=runner.iter)
