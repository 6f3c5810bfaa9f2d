# Mask3D on the embedded synthetic ScanNet-format set: a tiny ViT that pre-trains on a CPU in a
# few minutes (the demo, the tests and the comparison with MAE use it). Same pipeline and code as
# the ScanNet recipe; only sizes and the schedule differ.
#   python tools/dataset_converters/generate_synthetic_scannet.py data/synthetic_scannet
#   python tools/train.py configs/mask3d/vit-tiny_synthetic.py
_base_ = ['./vit-b_scannet.py']

data_root = 'data/synthetic_scannet/'
crop_size = (96, 128)  # (H, W), rectangular on purpose: a 6x8 patch grid of 16x16 patches
embed_dims, depth_dims, decoder_dims = 128, 64, 128

model = dict(
    backbone=dict(arch=dict(_delete_=True, embed_dims=embed_dims, num_layers=4, num_heads=4,
                            feedforward_channels=4 * embed_dims),
                  img_size=crop_size),
    depth_encoder=dict(img_size=crop_size, embed_dims=depth_dims, num_layers=2, num_heads=4),
    neck=dict(in_channels=embed_dims, depth_in_channels=depth_dims, embed_dims=decoder_dims,
              num_layers=2, num_heads=4))

# the recipe's constants (./_base_/datasets/scannet_rgbd.py, already set in the model)
max_depth = {{_base_.max_depth}}
patch_size = {{_base_.patch_size}}
meta_keys = {{_base_.meta_keys}}
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', depth_scale=1000.0, max_depth=max_depth),
    dict(type='mask3d_mm.AlignColorToDepth'),
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
    dict(type='mask3d_mm.RGBDMaskGenerator', rgb_mask_ratio=0.75, depth_mask_ratio=0.75,
         patch_size=patch_size, complementary=True, seed=0),
    dict(type='mask3d_mm.PackRGBDInputs', algorithm_keys=['depth', 'rgb_mask', 'depth_mask'],
         meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=16, num_workers=2, pin_memory=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=1,
    dataset=dict(data_root=data_root, frame_skip=4, pipeline=val_pipeline))

# CPU: fp32 (AmpOptimWrapper needs a GPU; `--amp` turns it back on there). A tiny model on a
# small set trains well with a larger lr than MAE's rule gives for batch 16.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        'ln': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0),
        'bias': dict(decay_mult=0.0),
        'pos_embed': dict(decay_mult=0.0),
        'mask_token': dict(decay_mult=0.0),
        'cls_token': dict(decay_mult=0.0),
    }))
auto_scale_lr = dict(base_batch_size=16)
max_epochs = 50  # 750 iterations on the default 8 x 40 frames: ~3 min on 2 CPU cores
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 2, eta_min=1e-5, by_epoch=True, begin=2,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)

default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10, max_keep_ckpts=2))
