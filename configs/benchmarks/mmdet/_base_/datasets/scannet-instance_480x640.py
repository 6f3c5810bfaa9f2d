# ScanNet 2D instance segmentation, 18 classes, COCO json from
# tools/dataset_converters/scannet_to_coco.py (see configs/benchmarks/mmdet/README.md):
#   data/scannet/scannet_frames_25k/annotations/instances_{train,val}.json
# Image sizes in the json are the annotation size (640x480); raw colour (1296x968) is resized to
# it first by mask3d_mm.AlignImageTo(reference='annotation'), so boxes, masks and COCO AP are in 640x480 pixels.
_base_ = 'mmdet::_base_/datasets/coco_instance.py'

dataset_type = 'mask3d_mm.ScanNetInstanceDataset'
data_root = 'data/scannet/scannet_frames_25k/'
img_scale = (640, 480)  # (w, h) as mmdet's Resize
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='mask3d_mm.AlignImageTo', reference='annotation'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    # scale jitter around the annotation size, then a crop back to it
    dict(type='RandomResize', scale=img_scale, ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_type='absolute', crop_size=img_scale, recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='mask3d_mm.AlignImageTo', reference='annotation'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    # mmdet's base keeps workers alive across epochs; restarted, they are re-seeded every epoch,
    # so a resumed run gets the same augmentations as an uninterrupted one (docs/robustness.md)
    persistent_workers=False,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img=''),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    metric=['bbox', 'segm'],
    format_only=False)
test_evaluator = val_evaluator
