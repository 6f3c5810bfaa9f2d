# Depth estimation on any RGB-D collection, e.g. your own captures, read by
# mask3d_mm.RGBDFrameListDataset from list files of "colour depth" lines (or glob patterns; see
# docs/data_preparation.md) with the depth encoding stated here: the training target is the
# depth file decoded once in that encoding (mask3d_mm.LoadDepthFromFile, with its checks) and
# made mmseg's target (mask3d_mm.DepthToTarget). The colour is brought onto the depth grid
# (through the intrinsics when the dataset gives them), resized to 240x320 for the network,
# and the prediction is evaluated against the full-resolution depth (1 mm - 10 m; depth beyond
# 10 m is no target, as the heads' max_depth).
dataset_type = 'mask3d_mm.RGBDFrameListDataset'
data_root = 'data/rgbd_frames/'
train_list = 'train.txt'  # in data_root
val_list = 'val.txt'
depth_scale = 1000.0  # uint16 value / depth_scale = metres (1000: millimetres, 5000: TUM, ...)
crop_size = (240, 320)  # (h, w)
meta_keys = ('img_path', 'depth_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
             'flip', 'flip_direction', 'source')
load_aligned = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', max_depth=10.0),  # the dataset's encoding
    dict(type='mask3d_mm.AlignImageTo', reference='depth'),  # colour -> depth grid
]
train_pipeline = [
    *load_aligned,
    dict(type='mask3d_mm.DepthToTarget'),  # the target, metres
    dict(type='Resize', scale=(320, 240), keep_ratio=False),  # depth: nearest
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    *load_aligned,
    dict(type='Resize', scale=(320, 240), keep_ratio=False),
    dict(type='mask3d_mm.DepthToTarget'),  # after Resize: the full-resolution depth
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=train_list,
                 depth_scale=depth_scale, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=val_list,
                 depth_scale=depth_scale, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0)
test_evaluator = val_evaluator
