# Mask3D pre-training of ViT-B/16 on ScanNet RGB-D frames: the full recipe.
#   python tools/train.py configs/mask3d/vit-b_scannet.py             # 1 GPU
#   bash tools/dist_train.sh configs/mask3d/vit-b_scannet.py 8         # 8 GPUs (the recipe)
# Schedule and its reasons are in configs/mask3d/README.md.
_base_ = [
    './_base_/models/mask3d_vit-b-p16.py',
    './_base_/datasets/scannet_rgbd.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mask3d_mm'], allow_failed_imports=False)

# ImageNet / MAE initialisation of the colour ViT (the paper's setting): set
# model.backbone.init_cfg.checkpoint (in ../_base_/models/mask3d_vit-b-p16.py: None, a random
# init) to a local mmpretrain ViT-B/16 or MAE checkpoint, in a child config or with
#   --cfg-options model.backbone.init_cfg.checkpoint=checkpoints/mae_vit-base-p16_in1k.pth
# The log then says how many tensors were loaded (configs/mask3d/README.md).

# The recipe's constants are variables of ./_base_/datasets/scannet_rgbd.py (one each), set
# there in the pipeline and the metric and here in the model. The encoders' position grid
# follows the crop; at other input sizes the fixed sin-cos is rebuilt exactly for the grid
# (Mask3DViT). A child config that changes one sets it in every component (or redefines the
# pipelines with it, as ./vit-tiny_synthetic.py does); the tools and RecipeConsistencyHook
# refuse a config whose components disagree.
crop_size = {{_base_.crop_size}}
patch_size = {{_base_.patch_size}}
max_depth = {{_base_.max_depth}}
model = dict(
    backbone=dict(img_size=crop_size, patch_size=patch_size),
    depth_encoder=dict(img_size=crop_size, patch_size=patch_size, max_depth=max_depth),
    neck=dict(patch_size=patch_size),
    head=dict(patch_size=patch_size, max_depth=max_depth))

# 8 GPUs x 64 = 512 frames per step; MAE's rule lr = 1.5e-4 * batch / 256
batch_size = 64
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=1.5e-4 * 512 / 256, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        'ln': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0),
        'bias': dict(decay_mult=0.0),
        'pos_embed': dict(decay_mult=0.0),
        'mask_token': dict(decay_mult=0.0),
        'cls_token': dict(decay_mult=0.0),
    }))
auto_scale_lr = dict(base_batch_size=512)

# ~20k training frames of scannet_frames_25k -> ~39 iterations per epoch at 512;
# 400 epochs (~16k iterations), 40 warm-up epochs, cosine to 0.
max_epochs = 400
warmup_epochs = 40
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=0.0,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=20)
val_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
custom_hooks = [
    dict(type='mask3d_mm.DepthReconstructionVisHook', num_samples=4),
    # max_depth / patch_size agree across pipeline, model and metric, under any Runner
    dict(type='mask3d_mm.RecipeConsistencyHook'),
]
randomness = dict(seed=0, diff_rank_seed=True)
