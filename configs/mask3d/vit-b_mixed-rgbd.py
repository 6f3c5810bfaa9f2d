# Mask3D pre-training of ViT-B/16 on a mixture of RGB-D corpora, each read in place in its own
# layout and depth encoding: ScanNet + SUN RGB-D + ARKitScenes + Hypersim + TUM RGB-D + NYUv2
# raw. Each batch of 64 frames (per GPU) holds a fixed number of frames of each source
# (mmdet's MultiSourceSampler over mmengine's ConcatDataset: README.md says why); each source
# has its own pipeline (crop policy, max depth). The log reports the frames drawn per source
# (mask3d_mm.SourceCountHook). Layouts and downloads: docs/data_preparation.md.
#   python tools/train.py configs/mask3d/vit-b_mixed-rgbd.py           # 1 GPU
#   bash tools/dist_train.sh configs/mask3d/vit-b_mixed-rgbd.py 8       # 8 GPUs (the recipe)
# Needs mmdet (the `det` extra, installed by tools/install.sh) for its sampler.
_base_ = ['./vit-b_scannet.py']
custom_imports = dict(imports=['mask3d_mm', 'mmdet.datasets.samplers'],
                      allow_failed_imports=False)

# ---- where each corpus unpacks (change these) -------------------------------------------------
scannet_root = 'data/scannet/scannet_frames_25k/'
sunrgbd_root = 'data/sunrgbd/SUNRGBD/'
arkitscenes_root = 'data/arkitscenes/raw/Training/'
hypersim_root = 'data/hypersim/'
tum_root = 'data/tum_rgbd/'
nyuv2_raw_root = 'data/nyuv2_raw/'

# ---- per source: frames per batch of 64, crop area range, max depth (metres) ------------------
# The frames per batch are source_ratio below, in this order. Depth beyond a source's max_depth
# is invalid for that source; none may exceed the recipe's max_depth (10 m: the model's).
# ARKitScenes' low-resolution frames (256x192) are cropped less, so that a 224x224 crop is not
# a 3x upsampling of a small patch; the project's defaults, not tuned.
batch_size = 64  # per GPU, as the recipe
source_ratio = [16, 8, 16, 12, 4, 8]  # scannet, sunrgbd, arkitscenes, hypersim, tum, nyuv2_raw
max_depth = {{_base_.max_depth}}  # 10 m, the recipe's: the model, the metric, ScanNet
sunrgbd_max_depth = 8.0  # SUN RGB-D's own toolbox clamps depth at 8 m
arkitscenes_max_depth = 5.0  # the iPad / iPhone LiDAR's range (up to 5 m)
default_crop = (0.2, 1.0)  # RGBDRandomResizedCrop's crop_ratio_range, as the recipe
arkitscenes_crop = (0.5, 1.0)

crop_size = {{_base_.crop_size}}
patch_size = {{_base_.patch_size}}
# 'source' (the frame's corpus) is read by SourceCountHook
meta_keys = ('img_path', 'depth_path', 'ori_shape', 'img_shape', 'depth_intrinsics', 'flip',
             'source')

# LoadDepthFromFile without an encoding decodes each frame with its dataset's encoding (the
# frame's depth_encoding: ScanNet mm, SUN RGB-D bit-rotated mm, TUM /5000, ...)
flip_mask_pack = [
    dict(type='mask3d_mm.RGBDRandomFlip', prob=0.5),
    dict(type='mask3d_mm.RGBDMaskGenerator', rgb_mask_ratio=0.75, depth_mask_ratio=0.75,
         patch_size=patch_size, complementary=True),
    dict(type='mask3d_mm.PackRGBDInputs', algorithm_keys=['depth', 'rgb_mask', 'depth_mask'],
         meta_keys=meta_keys),
]
scannet_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', max_depth=max_depth),
    dict(type='mask3d_mm.AlignColorToDepth'),  # 1296x968 colour -> 640x480 depth grid
    dict(type='mask3d_mm.RGBDRandomResizedCrop', scale=crop_size, crop_ratio_range=default_crop),
    *flip_mask_pack,
]
sunrgbd_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', max_depth=sunrgbd_max_depth),
    dict(type='mask3d_mm.AlignColorToDepth'),
    dict(type='mask3d_mm.RGBDRandomResizedCrop', scale=crop_size, crop_ratio_range=default_crop),
    *flip_mask_pack,
]
arkitscenes_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', max_depth=arkitscenes_max_depth),
    dict(type='mask3d_mm.AlignColorToDepth'),
    dict(type='mask3d_mm.RGBDRandomResizedCrop', scale=crop_size,
         crop_ratio_range=arkitscenes_crop),
    *flip_mask_pack,
]
other_pipeline = [  # Hypersim, TUM RGB-D, NYUv2 raw
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', max_depth=max_depth),
    dict(type='mask3d_mm.AlignColorToDepth'),
    dict(type='mask3d_mm.RGBDRandomResizedCrop', scale=crop_size, crop_ratio_range=default_crop),
    *flip_mask_pack,
]

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=8,
    # MultiSourceSampler is infinite (IterBasedTrainLoop below): the loader's iterator is made
    # once, so its workers live for the whole run whatever this says
    persistent_workers=False,
    sampler=dict(_delete_=True, type='mmdet.MultiSourceSampler', batch_size=batch_size,
                 source_ratio=source_ratio, shuffle=True),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        ignore_keys=['dataset_name'],  # each reader names its corpus
        datasets=[
            dict(type='mask3d_mm.ScanNetRGBDDataset', data_root=scannet_root,
                 ann_file='scannetv2_train.txt', pipeline=scannet_pipeline),
            dict(type='mask3d_mm.SUNRGBDDataset', data_root=sunrgbd_root,
                 pipeline=sunrgbd_pipeline),
            dict(type='mask3d_mm.ARKitScenesDataset', data_root=arkitscenes_root,
                 pipeline=arkitscenes_pipeline),
            dict(type='mask3d_mm.HypersimDataset', data_root=hypersim_root,
                 pipeline=other_pipeline),
            dict(type='mask3d_mm.TUMRGBDDataset', data_root=tum_root, pipeline=other_pipeline),
            dict(type='mask3d_mm.NYUv2RawDataset', data_root=nyuv2_raw_root,
                 pipeline=other_pipeline),
        ]))
# validation: ScanNet's val scenes, as the ScanNet recipe (./vit-b_scannet.py)

# Iterations (MultiSourceSampler has no epochs): as many updates as the ScanNet recipe (400
# epochs of ~20k frames at 512 per step, ~16k iterations), so the two compare at equal compute;
# 10% warm-up, cosine to 0.
max_iters = 16000
warmup_iters = 1600
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters, eta_min=0.0, by_epoch=False,
         begin=warmup_iters, end=max_iters),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=800)
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=400, max_keep_ckpts=3))
custom_hooks = [
    dict(type='mask3d_mm.DepthReconstructionVisHook', num_samples=4),
    dict(type='mask3d_mm.RecipeConsistencyHook'),
    # frames per source every logging interval and in total; checks the sampler's batch size
    dict(type='mask3d_mm.SourceCountHook'),
]
