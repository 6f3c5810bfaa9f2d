# ScanNet depth estimation at toy scale on the synthetic ScanNet-format set: the tiny ViT of
# configs/mask3d/vit-tiny_synthetic.py (4 blocks x 128, 96x128 input), so the export of a tiny
# Mask3D run loads into it; CPU, a few minutes on 2 cores. Tests and the comparison.
#   python tools/dataset_converters/generate_synthetic_scannet.py data/synthetic_scannet
#   python tools/train.py configs/mask3d/vit-tiny_synthetic.py
#   python tools/model_converters/export_rgb_encoder.py \
#       work_dirs/vit-tiny_synthetic/epoch_50.pth checkpoints/mask3d_vit-tiny_synthetic.pth
#   python tools/train.py configs/benchmarks/depth/upernet-depth_vit-tiny_synthetic-scannet.py
_base_ = ['./upernet-depth_vit-b_mask3d_scannet-240x320.py']

data_root = 'data/synthetic_scannet/'
crop_size = (96, 128)  # (h, w): a 6x8 grid of 16x16 patches
embed_dims = 128
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=embed_dims, num_layers=4, num_heads=4,
                  feedforward_channels=4 * embed_dims),
        img_size=crop_size,
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.0,
        init_cfg=dict(checkpoint='checkpoints/mask3d_vit-tiny_synthetic.pth')),
    neck=dict(in_channels=[embed_dims] * 4, out_channels=embed_dims),
    decode_head=dict(in_channels=[embed_dims] * 4, channels=64),
    auxiliary_head=dict(in_channels=embed_dims, channels=32))

meta_keys = ('img_path', 'depth_map_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction')
load_aligned = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', max_depth=10.0),
    dict(type='mask3d_mm.AlignImageTo', reference='depth'),
]
train_pipeline = [
    *load_aligned,
    dict(type='mask3d_mm.DepthToTarget'),
    dict(type='Resize', scale=(128, 96), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    *load_aligned,
    dict(type='Resize', scale=(128, 96), keep_ratio=False),
    dict(type='mask3d_mm.DepthToTarget'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=1, persistent_workers=False,
    dataset=dict(data_root=data_root, frame_skip=5, pipeline=test_pipeline))
test_dataloader = val_dataloader

# CPU: fp32 (AmpOptimWrapper needs a GPU), a larger lr for a tiny model; 200 iterations
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mask3d_mm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.65))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=20, end=200),
]
train_cfg = dict(max_iters=200, val_interval=100)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=100, max_keep_ckpts=1))
