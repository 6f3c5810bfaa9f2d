# MMPretrain MAE arm of the pre-training comparison (tools/analysis_tools/compare_pretraining.py):
# MMPretrain's own MAE (MAEViT, MAEPretrainDecoder, MAEPretrainHead with normalised pixel
# targets) on the RGB frames of the synthetic ScanNet-format set. It inherits the Mask3D arm's
# config, so the dataset (same training scenes and frames; their depth is not read), batch,
# workers, optimizer, schedule and runtime are the same by construction; only the model and the
# RGB-only pipeline differ. Square input: MAE's modules build square patch grids.
_base_ = ['./mask3d_vit-tiny_synthetic-112x112.py']

img_size = 112  # 7x7 patches of 16x16
patch_size = _base_.patch_size  # the Mask3D arm's (`_base_.x`, a number: arithmetic below)
embed_dims, decoder_dims = 128, 128
model = dict(
    _delete_=True,
    type='MAE',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(type='MAEViT', arch=dict(embed_dims=embed_dims, num_layers=4, num_heads=4,
                                           feedforward_channels=4 * embed_dims),
                  img_size=img_size, patch_size=patch_size, mask_ratio=0.75),
    neck=dict(type='MAEPretrainDecoder', num_patches=(img_size // patch_size)**2,
              patch_size=patch_size, in_chans=3, embed_dim=embed_dims,
              decoder_embed_dim=decoder_dims, decoder_depth=2, decoder_num_heads=4, mlp_ratio=4.),
    head=dict(type='MAEPretrainHead', norm_pix=True, patch_size=patch_size,
              loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])

train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.2, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]))
# MAE has no validation metric; no depth panels
val_dataloader = val_evaluator = val_cfg = None
train_cfg = dict(val_interval=10**9)
custom_hooks = []
