# 20k iterations of ./adamw-ld_poly_40k.py (NYUv2: 795 images, ~200 epochs at batch 8).
_base_ = ['./adamw-ld_poly_40k.py']

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=100, end=20000),
]
train_cfg = dict(max_iters=20000, val_interval=2000)
default_hooks = dict(checkpoint=dict(interval=2000))
