# Mask3D pre-training of ViT-H/14 on ScanNet RGB-D frames: the ViT-B recipe (./vit-b_scannet.py)
# with the colour encoder at ViT-H (32 blocks x 1280, ~631 M parameters) and 14x14 patches, as
# MMPretrain's MAE ViT-H. Depth encoder and decoder keep their ViT-B sizes (MAE keeps its decoder
# for ViT-B/L/H): configs/mask3d/README.md ("ViT-L and ViT-H").
#   bash tools/dist_train.sh configs/mask3d/vit-h_scannet.py 8
#   python tools/model_converters/export_rgb_encoder.py \
#       $(cat work_dirs/vit-h_scannet/last_checkpoint) checkpoints/mask3d_vit-h_scannet.pth
#   (loads into mmpretrain's VisionTransformer(arch='h', patch_size=14))
_base_ = ['./vit-b_scannet.py']

# Activation checkpointing of the colour encoder, the depth encoder and the decoder (one switch
# for the three): True recomputes every block in the backward pass (less GPU memory, one more
# forward of the blocks; same loss, gradients and checkpoint keys). The variable is substituted
# when this file is parsed: a child config or the command line sets the three keys instead,
# --cfg-options model.backbone.with_cp=True model.depth_encoder.with_cp=True model.neck.with_cp=True
with_cp = False

# The patch size is this one variable: the mask generators of both pipelines, the colour and
# depth patch embeddings, the decoder's p*p outputs and the head read it (the metric and the
# panels derive it from the mask grid). The pipelines are therefore redefined here (a variable
# of the base is substituted when the base is parsed); crop_size must be divisible by it:
# 224 = 16 x 14.
patch_size = 14
crop_size = (224, 224)
max_depth = {{_base_.max_depth}}
meta_keys = {{_base_.meta_keys}}

model = dict(
    backbone=dict(arch='h', img_size=crop_size, patch_size=patch_size, with_cp=with_cp),
    depth_encoder=dict(img_size=crop_size, patch_size=patch_size, with_cp=with_cp),
    neck=dict(in_channels=1280, patch_size=patch_size, with_cp=with_cp),
    head=dict(patch_size=patch_size))

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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
