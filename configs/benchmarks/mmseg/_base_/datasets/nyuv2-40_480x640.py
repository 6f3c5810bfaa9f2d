# NYUv2 40 classes (795 train / 654 test), written by tools/dataset_converters/nyuv2_mat.py:
# data_root/images/{train,test}/NNNN.png + labels40/{train,test}/NNNN.png (0 ignored).
# 480x640 crops (the full image) as MultiMAE's NYUv2 fine-tuning; whole-image testing.
dataset_type = 'mask3d_mm.NYUv2SegDataset'
data_root = 'data/nyuv2/'
crop_size = (480, 640)  # (h, w)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    # 0 -> 255, 1..40 -> 0..39 (reduce_zero_label); ids beyond 40 refused
    dict(type='mask3d_mm.LoadSegLabels', num_classes=40),
    dict(type='RandomResize', scale=(640, 480), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadSegLabels', num_classes=40),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='images/train', seg_map_path='labels40/train'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='images/test', seg_map_path='labels40/test'),
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
