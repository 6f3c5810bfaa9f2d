# The same fine-tuning from ImageNet-1k weights (the comparison for Mask3D, whose color ViT
# starts from them): an mmpretrain ViT-B/16 checkpoint (keys 'backbone.*'), see README.md.
_base_ = ['./upernet_vit-b_mask3d_scannet20-240x320.py']
model = dict(backbone=dict(init_cfg=dict(checkpoint='checkpoints/vit-base-p16_in1k.pth',
                                         prefix='backbone.')))
