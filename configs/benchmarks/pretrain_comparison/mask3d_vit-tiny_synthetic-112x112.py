# Mask3D arm of the pre-training comparison (tools/analysis_tools/compare_pretraining.py): the
# tiny synthetic recipe of configs/mask3d/vit-tiny_synthetic.py at the square 112x112 input
# (7x7 patches) that MMPretrain's MAE arm needs (MAE builds square grids only), so that both
# arms see the same frames at the same size, with the same ViT, batch, schedule and optimizer.
_base_ = ['../../mask3d/vit-tiny_synthetic.py']

crop_size = (112, 112)
model = dict(backbone=dict(img_size=crop_size), depth_encoder=dict(img_size=crop_size))

# the recipe's constants (configs/mask3d/_base_/datasets/scannet_rgbd.py, set in the model)
max_depth = {{_base_.max_depth}}
patch_size = {{_base_.patch_size}}
meta_keys = {{_base_.meta_keys}}
mask_cfg = dict(type='mask3d_mm.RGBDMaskGenerator', rgb_mask_ratio=0.75, depth_mask_ratio=0.75,
                patch_size=patch_size, complementary=True)  # the recipe's masks
pack_cfg = dict(type='mask3d_mm.PackRGBDInputs', algorithm_keys=['depth', 'rgb_mask', 'depth_mask'],
                meta_keys=meta_keys)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', depth_scale=1000.0, max_depth=max_depth),
    dict(type='mask3d_mm.AlignColorToDepth'),
    dict(type='mask3d_mm.RGBDRandomResizedCrop', scale=crop_size, crop_ratio_range=(0.2, 1.0)),
    dict(type='mask3d_mm.RGBDRandomFlip', prob=0.5),
    mask_cfg,
    pack_cfg,
]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', depth_scale=1000.0, max_depth=max_depth),
    dict(type='mask3d_mm.AlignColorToDepth'),
    dict(type='mask3d_mm.RGBDResize', scale=crop_size),
    dict(mask_cfg, seed=0),
    pack_cfg,
]))
