# ScanNet depth estimation from single colour frames, read in place from the
# scannet_frames_25k layout (sceneXXXX_XX/color/*.jpg + depth/*.png uint16 mm; scene lists
# scannetv2_{train,val}.txt in the root; see docs/data_preparation.md). The colour is brought
# onto the 640x480 depth grid through the intrinsics (mask3d_mm.AlignImageTo), then resized to
# 240x320 (Pri3D's input); the prediction is evaluated against the 640x480 depth (1 mm - 10 m).
dataset_type = 'mask3d_mm.ScanNetDepthDataset'
data_root = 'data/scannet/scannet_frames_25k/'
crop_size = (240, 320)  # (h, w)
meta_keys = ('img_path', 'depth_map_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction')
# The depth file is decoded once (mask3d_mm.LoadDepthFromFile: the frame's encoding, here
# ScanNet's uint16 mm, with its checks) and becomes mmseg's target (mask3d_mm.DepthToTarget).
load_aligned = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', max_depth=10.0),
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
    dict(type='mask3d_mm.DepthToTarget'),  # after Resize: the 640x480 depth
    dict(type='PackSegInputs', meta_keys=meta_keys),
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
val_evaluator = dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0)
test_evaluator = val_evaluator
