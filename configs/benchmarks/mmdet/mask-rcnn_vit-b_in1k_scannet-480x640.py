# The same detector initialised from ImageNet-1k instead of Mask3D: an mmpretrain ViT-B/16
# checkpoint on local disk (supervised or MAE; its keys start with 'backbone.').
_base_ = './mask-rcnn_vit-b_mask3d_scannet-480x640.py'
model = dict(backbone=dict(init_cfg=dict(
    type='Pretrained', checkpoint='checkpoints/vit-base-p16_in1k.pth', prefix='backbone.')))
