"""mIoU as ScanNet's 2D semantic label benchmark computes it (at 640x480)."""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from mmseg.evaluation import IoUMetric

from mask3d_mm.registry import METRICS


def resize_labels(labels: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Nearest resize of an (H, W) or (1, H, W) label map to ``size`` (h, w), half-pixel
    centres (``nearest-exact``, as PIL's nearest); values are never mixed."""
    squeeze = labels.dim() == 2
    x = labels.reshape(1, 1, *labels.shape[-2:])
    if tuple(x.shape[-2:]) != tuple(size):
        x = F.interpolate(x.float(), size=tuple(size), mode='nearest-exact').to(labels.dtype)
    return x[0, 0] if squeeze else x[0]


@METRICS.register_module()
class ScanNetIoUMetric(IoUMetric):
    """mmseg's :class:`IoUMetric` after resizing prediction and label to ``eval_size``.

    ScanNet's 2D benchmark evaluates at 640x480: predictions (whatever the network's input or
    ``ori_shape``, e.g. the 1296x968 raw colour) and labels are resized there with nearest
    neighbours before the confusion is accumulated. mIoU is over the dataset's classes (the
    20 benchmark classes); the per-class IoU table is logged by ``IoUMetric``. With
    ``output_dir`` the written predictions are 640x480 too (the benchmark's submission size).

    Args:
        eval_size (tuple[int, int]): (h, w). Defaults to (480, 640).
        **kwargs: arguments of ``IoUMetric`` (``iou_metrics``, ``ignore_index``, ...).
    """

    def __init__(self, eval_size: Tuple[int, int] = (480, 640), **kwargs) -> None:
        super().__init__(**kwargs)
        self.eval_size = tuple(eval_size)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        resized = []
        for sample in data_samples:
            sample = dict(sample)
            for key in ('pred_sem_seg', 'gt_sem_seg'):
                if key in sample:
                    sample[key] = dict(sample[key],
                                       data=resize_labels(sample[key]['data'], self.eval_size))
            resized.append(sample)
        super().process(data_batch, resized)
