"""Log reconstruction panels through the mmengine visualizer during validation (and test)."""
import os
import os.path as osp
from typing import Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.hooks import Hook

from mask3d_mm.registry import HOOKS
from mask3d_mm.visualization.depth_panel import depth_reconstruction_panel


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def panel_name(sample, index: int) -> str:
    """``scene_frame`` of the sample's colour file (``.../scene0000_00/color/000010.jpg`` ->
    ``scene0000_00_000010``), else ``sample_<index>``."""
    path = sample.metainfo.get('img_path') if hasattr(sample, 'metainfo') else None
    if not path:
        return f'sample_{index:06d}'
    parts = osp.splitext(str(path).replace('\\', '/'))[0].split('/')
    parts = [p for p in parts[-3:] if p not in ('color', 'colour', 'rgb', 'image')]
    return '_'.join(parts[-2:])


@HOOKS.register_module()
class DepthReconstructionVisHook(Hook):
    """Add panels (masked RGB | depth input | predicted | ground truth | error) of the first
    ``num_samples`` validation samples to the runner's visualizer (its vis backends write them,
    e.g. ``LocalVisBackend`` to ``<work_dir>/<timestamp>/vis_data/vis_image/``, TensorBoard's
    to its event file).

    With ``test=True`` the test samples are drawn too; with ``out_dir`` each panel is also
    written as ``out_dir/<scene>_<frame>.png`` (``tools/test.py --show-dir DIR`` sets both,
    with ``num_samples=-1``: every sample).

    Args:
        num_samples (int): samples per validation / test; -1: all. Defaults to 4.
        enable (bool): Defaults to True.
        test (bool): draw the test samples as well. Defaults to False.
        out_dir (str, optional): write the panels there as PNG files. Defaults to None.
    """
    priority = 'LOW'

    def __init__(self, num_samples: int = 4, enable: bool = True, test: bool = False,
                 out_dir: Optional[str] = None) -> None:
        self.num_samples = num_samples
        self.enable = enable
        self.test = test
        self.out_dir = out_dir
        self._seen = 0  # samples drawn in this validation / test

    def before_val_epoch(self, runner) -> None:
        self._seen = 0

    def before_test_epoch(self, runner) -> None:
        self._seen = 0

    def _draw(self, runner, batch_idx: int, data_batch: Optional[dict],
              outputs: Optional[Sequence], tag: str) -> None:
        if not self.enable or outputs is None:
            return
        for i, sample in enumerate(outputs):
            index = self._seen
            if 0 <= self.num_samples <= index:
                return
            self._seen += 1
            img = _np(data_batch['inputs'][i]).transpose(1, 2, 0).astype(np.uint8)
            panel = depth_reconstruction_panel(
                np.ascontiguousarray(img), _np(sample.rgb_mask), _np(sample.depth),
                _np(sample.depth_mask), _np(sample.pred_depth)[0])
            runner.visualizer.add_image(f'{tag}_{index}', panel[..., ::-1], step=runner.iter)
            if self.out_dir:
                os.makedirs(self.out_dir, exist_ok=True)
                cv2.imwrite(osp.join(self.out_dir, f'{panel_name(sample, index)}.png'), panel)

    def after_val_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                       outputs: Optional[Sequence] = None) -> None:
        self._draw(runner, batch_idx, data_batch, outputs, 'reconstruction')

    def after_test_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                        outputs: Optional[Sequence] = None) -> None:
        if self.test:
            self._draw(runner, batch_idx, data_batch, outputs, 'test_reconstruction')
