# The same depth fine-tuning from ImageNet-1k weights (an mmpretrain ViT-B/16 checkpoint).
_base_ = ['./upernet-depth_vit-b_mask3d_nyuv2-416x544.py']
model = dict(backbone=dict(init_cfg=dict(checkpoint='checkpoints/vit-base-p16_in1k.pth',
                                         prefix='backbone.')))
