# The same depth fine-tuning from random weights (no pre-training).
_base_ = ['./upernet-depth_vit-b_mask3d_nyuv2-416x544.py']
model = dict(backbone=dict(init_cfg=None))
