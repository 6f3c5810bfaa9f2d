# ScanNet RGB-D frames (scannet_frames_25k layout, or frames exported from .sens by
# tools/dataset_converters/export_sens.py). See docs/data_preparation.md.
data_root = 'data/scannet/scannet_frames_25k/'
train_ann_file = 'scannetv2_train.txt'  # scene lists of ScanNet's benchmark, in data_root
val_ann_file = 'scannetv2_val.txt'
crop_size = (224, 224)  # (H, W), divisible by the patch size; e.g. (240, 320) works too
# The recipe's constants, one variable each: read here by the pipeline and the metric, and by
# the model through ../../vit-b_scannet.py. Variables are substituted when a config is parsed,
# so change them in a config file; the tools and RecipeConsistencyHook refuse a config whose
# components disagree (mask3d_mm/recipe_consistency.py).
max_depth = 10.0  # metres; depth beyond it is invalid and the 'metric' target is d / max_depth
patch_size = 16
meta_keys = ('img_path', 'depth_path', 'ori_shape', 'img_shape', 'depth_intrinsics', 'flip')

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', depth_scale=1000.0, max_depth=max_depth),
    dict(type='mask3d_mm.AlignColorToDepth'),  # 1296x968 color -> 640x480 depth grid
    dict(type='mask3d_mm.RGBDRandomResizedCrop', scale=crop_size, crop_ratio_range=(0.2, 1.0)),
    dict(type='mask3d_mm.RGBDRandomFlip', prob=0.5),
    dict(type='mask3d_mm.RGBDMaskGenerator', rgb_mask_ratio=0.75, depth_mask_ratio=0.75,
         patch_size=patch_size, complementary=True),
    dict(type='mask3d_mm.PackRGBDInputs', algorithm_keys=['depth', 'rgb_mask', 'depth_mask'],
         meta_keys=meta_keys),
]
val_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', depth_scale=1000.0, max_depth=max_depth),
    dict(type='mask3d_mm.AlignColorToDepth'),
    dict(type='mask3d_mm.RGBDResize', scale=crop_size),
    # fixed seed: the same masks at every validation
    dict(type='mask3d_mm.RGBDMaskGenerator', rgb_mask_ratio=0.75, depth_mask_ratio=0.75,
         patch_size=patch_size, complementary=True, seed=0),
    dict(type='mask3d_mm.PackRGBDInputs', algorithm_keys=['depth', 'rgb_mask', 'depth_mask'],
         meta_keys=meta_keys),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    # Workers restart with every epoch, so mmengine re-seeds them from (seed, rank, worker):
    # epoch e gets the same crop/flip/mask draws whether the run was resumed or not. Persistent
    # workers would carry their random state across epochs, which a resume cannot restore
    # (docs/robustness.md). Cost: starting the workers once per epoch (measured in the doc).
    persistent_workers=False,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='mask3d_mm.ScanNetRGBDDataset', data_root=data_root,
                 ann_file=train_ann_file, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='mask3d_mm.ScanNetRGBDDataset', data_root=data_root,
                 ann_file=val_ann_file, frame_skip=10, pipeline=val_pipeline))
val_evaluator = dict(type='mask3d_mm.DepthReconstructionMetric', max_depth=max_depth)
