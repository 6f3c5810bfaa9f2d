# The same fine-tuning from random initialisation (no pre-training).
_base_ = ['./upernet_vit-b_mask3d_cityscapes-512x1024.py']
model = dict(backbone=dict(init_cfg=None))
