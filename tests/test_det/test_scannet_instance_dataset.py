"""ScanNetInstanceDataset + AlignImageTo(reference='annotation') + CocoMetric on the converted fixture."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch
from mmengine.registry import DefaultScope

from mask3d_mm.datasets.nyu40 import SCANNET_INSTANCE_CLASSES

# pycocotools' RLE decode under numpy 2 (upstream)
pytestmark = pytest.mark.filterwarnings('ignore:__array__ implementation:DeprecationWarning')

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.AlignImageTo', reference='annotation'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]


def build_dataset(scannet_coco, split='val', pipeline=PIPELINE, **kwargs):
    from mmdet.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(dict(
            type='mask3d_mm.ScanNetInstanceDataset', data_root=scannet_coco['root'],
            ann_file=scannet_coco[split], data_prefix=dict(img=''), pipeline=pipeline,
            test_mode=True, **kwargs))


def test_samples_are_in_annotation_pixels(scannet_coco):
    from pycocotools.coco import COCO
    ds = build_dataset(scannet_coco)
    assert ds.metainfo['classes'] == SCANNET_INSTANCE_CLASSES and len(ds) == 4
    assert len(ds.metainfo['palette']) == 18 and ds.metainfo['palette'][2] == (188, 189, 34)
    coco = COCO(scannet_coco['val'])
    cat_ids = coco.getCatIds()
    for i in range(len(ds)):
        sample = ds[i]
        img, ds_meta = sample['inputs'], sample['data_samples']
        assert img.shape == (3, 120, 160)  # 240x320 colour resized to the annotation size
        assert ds_meta.ori_shape == ds_meta.img_shape == (120, 160)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[ds_meta.img_id]))
        gt = ds_meta.gt_instances
        assert len(gt) == len(anns) > 0
        masks = gt.masks.to_ndarray()
        for k, ann in enumerate(anns):
            # label = index of the NYU40 category among the 18 classes
            assert gt.labels[k] == cat_ids.index(ann['category_id'])
            np.testing.assert_array_equal(masks[k], mask_utils.decode(ann['segmentation']))
            x, y, w, h = ann['bbox']
            torch.testing.assert_close(gt.bboxes.tensor[k], torch.tensor([x, y, x + w, y + h]))


def test_mismatched_image_is_refused(scannet_coco):
    from mmdet.registry import TRANSFORMS
    with DefaultScope.overwrite_default_scope('mmdet'):
        t = TRANSFORMS.build(dict(type='mask3d_mm.AlignImageTo', reference='annotation'))
    out = t(dict(img=np.zeros((968, 1296, 3), np.uint8), height=480, width=640))
    assert out['img'].shape == (480, 640, 3) and out['ori_shape'] == (480, 640)
    with pytest.raises(ValueError, match='aspect'):
        t(dict(img=np.zeros((480, 480, 3), np.uint8), height=480, width=640, img_path='x.jpg'))


def test_coco_metric_of_ground_truth_is_perfect(scannet_coco):
    """The json, the pipeline's masks/boxes and mmdet's CocoMetric agree: GT as predictions
    scores AP 1 (bbox and segm); dropping half the instances lowers it."""
    from mmdet.evaluation import CocoMetric
    ds = build_dataset(scannet_coco)

    def evaluate(keep_every: int) -> dict:
        metric = CocoMetric(ann_file=scannet_coco['val'], metric=['bbox', 'segm'])
        metric.dataset_meta = ds.metainfo
        for i in range(len(ds)):
            s = ds[i]['data_samples']
            gt = s.gt_instances[::keep_every]
            pred = dict(bboxes=gt.bboxes.tensor, labels=gt.labels,
                        scores=torch.ones(len(gt)),
                        masks=torch.from_numpy(gt.masks.to_ndarray()).bool())
            metric.process({}, [dict(img_id=s.img_id, ori_shape=s.ori_shape,
                                     pred_instances=pred, gt_instances={}, ignored_instances={})])
        return metric.evaluate(len(ds))

    perfect = evaluate(1)
    for key in ('bbox_mAP', 'bbox_mAP_50', 'segm_mAP', 'segm_mAP_50'):
        assert perfect[f'coco/{key}'] == pytest.approx(1.0), key
    assert evaluate(2)['coco/segm_mAP_50'] < 0.9
