# The same fine-tuning from random initialisation (no pre-training).
_base_ = ['./upernet_vit-b_mask3d_nyuv2-40-480x640.py']
model = dict(backbone=dict(init_cfg=None))
