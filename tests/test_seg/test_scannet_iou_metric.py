"""ScanNetIoUMetric: confusion at 640x480 whatever the sizes of prediction and label."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import pytest
import torch

from mask3d_mm.registry import METRICS


def sample(pred: torch.Tensor, gt: torch.Tensor) -> dict:
    """A data sample as mmengine's evaluator hands it to ``process`` (a dict)."""
    return dict(pred_sem_seg=dict(data=pred[None]), gt_sem_seg=dict(data=gt[None]))


def evaluate(samples, classes=('a', 'b', 'c')) -> dict:
    metric = METRICS.build(dict(type='mask3d_mm.ScanNetIoUMetric'))
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_prediction_equal_to_ground_truth_is_100():
    gt = torch.randint(0, 3, (60, 80))
    gt[:5] = 255  # ignored pixels
    big = gt.repeat_interleave(8, 0).repeat_interleave(8, 1)  # the same map at 480x640
    pred = gt.clamp(max=2)
    metrics = evaluate([sample(pred, big), sample(big.clamp(max=2), gt)])
    assert metrics['mIoU'] == 100.0 and metrics['aAcc'] == 100.0


def test_known_confusion_after_resizing():
    # prediction at raw ScanNet color size 968x1296: left half 0, right half 1
    pred = torch.zeros(968, 1296, dtype=torch.long)
    pred[:, 648:] = 1
    # label at 480x640: class 0 on the left 3/4, class 1 on the right 1/4
    gt = torch.zeros(480, 640, dtype=torch.long)
    gt[:, 480:] = 1
    metrics = evaluate([sample(pred, gt)], classes=('a', 'b'))
    # at 640 columns: IoU(a) = 320 / 480, IoU(b) = 160 / 320
    assert metrics['mIoU'] == pytest.approx(100 * (2 / 3 + 1 / 2) / 2, abs=0.01)
    assert metrics['aAcc'] == pytest.approx(100 * 480 / 640, abs=0.01)


def test_plain_iou_metric_cannot_compare_the_raw_sizes():
    from mmseg.evaluation import IoUMetric
    metric = IoUMetric()
    metric.dataset_meta = dict(classes=('a', 'b'))
    with pytest.raises(IndexError, match="shape of the mask"):
        metric.process({}, [sample(torch.zeros(968, 1296, dtype=torch.long),
                                   torch.zeros(480, 640, dtype=torch.long))])
