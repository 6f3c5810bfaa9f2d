# ScanNet 2D semantic segmentation, 20 benchmark classes, read in place from the
# scannet_frames_25k layout (sceneXXXX_XX/color/*.jpg + label/*.png NYU40 ids; see
# docs/data_preparation.md). 240x320 input as Pri3D; evaluation at 640x480 as the benchmark.
dataset_type = 'mask3d_mm.ScanNetSegDataset'
data_root = 'data/scannet/scannet_frames_25k/'
crop_size = (240, 320)  # (h, w)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    # NYU40 ids -> 0..19 / 255 by the dataset's label_map; ids it does not map (raw uint16 ids) refused
    dict(type='mask3d_mm.LoadSegLabels'),
    dict(type='mask3d_mm.AlignImageTo', reference='gt_seg_map'),  # 1296x968 color -> the 640x480 label grid
    dict(type='RandomResize', scale=(320, 240), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(320, 240), keep_ratio=False),
    dict(type='mask3d_mm.LoadSegLabels'),  # after Resize: the label keeps its 640x480
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='scannetv2_train.txt',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='scannetv2_val.txt',
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
# prediction (at the input's ori_shape) and label resized to 640x480, nearest: the benchmark
val_evaluator = dict(type='mask3d_mm.ScanNetIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
