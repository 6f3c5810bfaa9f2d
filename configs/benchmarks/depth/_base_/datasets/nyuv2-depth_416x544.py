# NYUv2 depth (795 train / 654 test, the standard split) with mmseg's NYUDataset, read from the
# output of tools/dataset_converters/nyuv2_mat.py: data_root/images/{train,test}/NNNN.png +
# depth/{train,test}/NNNN.png (uint16 millimetres of the in-painted `depths`). 416x544 random
# crops (BTS / AdaBins), flip, photometric distortion; whole 480x640 images at test, evaluated
# in the Eigen crop (rows 45:471, cols 41:601) between 1 mm and 10 m.
dataset_type = 'NYUDataset'  # mmseg's depth-estimation dataset
data_root = 'data/nyuv2/'
crop_size = (416, 544)  # (h, w)
meta_keys = ('img_path', 'depth_map_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'category_id')
# The target: the depth file decoded once, as every depth file of the package is
# (mask3d_mm.LoadDepthFromFile, with its checks: an 8-bit or empty map is an error naming the
# file, implausible depth a warning), then made mmseg's gt_depth_map (mask3d_mm.DepthToTarget).
# mmseg's NYUDataset names the file depth_map_path and states no encoding: uint16 mm here.
load_target = [
    dict(type='mask3d_mm.LoadDepthFromFile', encoding='nyu_toolbox', max_depth=10.0,
         depth_key='depth_map_path'),
    dict(type='mask3d_mm.DepthToTarget'),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    *load_target,
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    *load_target,
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, img_suffix='.png',
                 data_prefix=dict(img_path='images/train', depth_map_path='depth/train'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, img_suffix='.png',
                 data_prefix=dict(img_path='images/test', depth_map_path='depth/test'),
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
# AbsRel, SqRel, RMSE, RMSE log, log10, SiLog, delta < 1.25^1,2,3 (mmseg's DepthMetric)
val_evaluator = dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0,
                     crop_type='nyu_crop')
test_evaluator = val_evaluator
