# The same detector without pre-training (random ViT init), same schedule: the lower bound.
_base_ = './mask-rcnn_vit-b_mask3d_scannet-480x640.py'
model = dict(backbone=dict(init_cfg=None))
