# MMPretrain MAE arm of the pre-training comparison (tools/analysis_tools/compare_pretraining.py):
# MMPretrain's own MAE (MAEViT, MAEPretrainDecoder, MAEPretrainHead with normalised pixel
# targets) on the RGB frames of the synthetic ScanNet-format set, with the same tiny ViT, input
# size, frames, batch, optimizer and schedule as the Mask3D arm
# (mask3d_vit-tiny_synthetic-112x112.py). Square input: MAE's modules build square patch grids.
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['mask3d_mm'], allow_failed_imports=False)

data_root = 'data/synthetic_scannet/'
img_size = 112  # 7x7 patches of 16x16
embed_dims, decoder_dims = 128, 128

model = dict(
    type='MAE',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(type='MAEViT', arch=dict(embed_dims=embed_dims, num_layers=4, num_heads=4,
                                           feedforward_channels=4 * embed_dims),
                  img_size=img_size, patch_size=16, mask_ratio=0.75),
    neck=dict(type='MAEPretrainDecoder', num_patches=(img_size // 16)**2, patch_size=16,
              in_chans=3, embed_dim=embed_dims, decoder_embed_dim=decoder_dims,
              decoder_depth=2, decoder_num_heads=4, mlp_ratio=4.),
    head=dict(type='MAEPretrainHead', norm_pix=True, patch_size=16,
              loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.2, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]
# the same training scenes and frames as the Mask3D arm (its depth files are not read)
train_dataloader = dict(
    batch_size=16, num_workers=2, pin_memory=False, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='mask3d_mm.ScanNetRGBDDataset', data_root=data_root,
                 ann_file='scannetv2_train.txt', pipeline=train_pipeline))

optim_wrapper = dict(
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
max_epochs = 50
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 2, eta_min=1e-5, by_epoch=True, begin=2,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10, max_keep_ckpts=2))
randomness = dict(seed=0, diff_rank_seed=True)
