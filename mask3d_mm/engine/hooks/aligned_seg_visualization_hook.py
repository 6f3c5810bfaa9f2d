"""mmseg's segmentation drawing for frames whose colour file is larger than the label map."""
from typing import Optional, Sequence

import mmcv
import mmengine.fileio as fileio
from mmengine.hooks import Hook

from mask3d_mm.registry import HOOKS
from .depth_reconstruction_vis_hook import panel_name


@HOOKS.register_module()
class AlignedSegVisualizationHook(Hook):
    """mmseg's ``SegVisualizationHook`` (``draw``, ``interval``, ``show``, ``wait_time``,
    ``backend_args``; the validation and test samples drawn through the runner's
    ``SegLocalVisualizer``), with the colour image resized to the prediction's size first.

    mmseg's hook draws the prediction over the colour file as read; ScanNet's 1296x968 colour
    beside 640x480 label maps (the prediction's size after ``AlignImageTo``) makes its overlay
    fail (``IndexError: boolean index did not match``); the ground truth is drawn where it has
    the prediction's size (mmseg resizes the prediction to the colour's ``ori_shape``, the label
    map stays as read). Images are named by scene and frame (``test_scene0000_00_000010``;
    mmseg's file name alone repeats across ScanNet scenes). ``tools/test.py --show-dir`` uses
    this hook for mmseg configs; a test run never builds the training data (the step of a
    test image is its index, as in mmseg).
    """
    priority = 'NORMAL'

    def __init__(self, draw: bool = False, interval: int = 50, show: bool = False,
                 wait_time: float = 0., backend_args: Optional[dict] = None) -> None:
        self.draw = draw
        self.interval = interval
        self.show = show
        self.wait_time = wait_time
        self.backend_args = backend_args.copy() if backend_args else None
        self._test_index = 0

    def _after_iter(self, runner, batch_idx: int, outputs: Sequence, mode: str) -> None:
        if not self.draw or not self.every_n_inner_iters(batch_idx, self.interval):
            return
        for output in outputs:
            # a test run has no train loop: ``runner.iter`` would build it (and its dataset)
            step = runner.iter if mode == 'val' else self._test_index
            self._test_index += mode == 'test'
            img = mmcv.imfrombytes(fileio.get(output.img_path, backend_args=self.backend_args),
                                   channel_order='rgb')
            draw_gt = True
            if 'pred_sem_seg' in output:
                h, w = output.pred_sem_seg.shape[-2:]
                if img.shape[:2] != (h, w):
                    img = mmcv.imresize(img, (w, h))
                gt = output.get('gt_sem_seg')
                draw_gt = gt is None or tuple(gt.shape[-2:]) == (h, w)
            runner.visualizer.add_datasample(
                f'{mode}_{panel_name(output, 0)}', img, data_sample=output,
                draw_gt=draw_gt, show=self.show, wait_time=self.wait_time, step=step)

    def after_val_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                       outputs: Optional[Sequence] = None) -> None:
        self._after_iter(runner, batch_idx, outputs or [], 'val')

    def after_test_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                        outputs: Optional[Sequence] = None) -> None:
        self._after_iter(runner, batch_idx, outputs or [], 'test')
