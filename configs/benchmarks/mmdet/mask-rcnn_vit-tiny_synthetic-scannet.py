# The ScanNet detector in miniature on the synthetic ScanNet-format set, for CPUs and tests:
# the tiny ViT of configs/mask3d/vit-tiny_synthetic.py (4 blocks x 128, patch 16), narrower heads,
# 96x128 input. img_size = the pre-training crop (96, 128), so the exported 6x8 position
# embedding loads unchanged (VisionTransformer's load hook can only resize square grids).
#   python tools/train.py configs/mask3d/vit-tiny_synthetic.py
#   python tools/model_converters/export_rgb_encoder.py \
#       $(cat work_dirs/vit-tiny_synthetic/last_checkpoint) checkpoints/mask3d_vit-tiny_synthetic.pth
#   python tools/dataset_converters/scannet_to_coco.py data/synthetic_scannet \
#       --scene-list scannetv2_train.txt \
#       --out data/synthetic_scannet/annotations/instances_train.json
#   (and scannetv2_val.txt -> annotations/instances_val.json)
#   python tools/train.py configs/benchmarks/mmdet/mask-rcnn_vit-tiny_synthetic-scannet.py
_base_ = './mask-rcnn_vit-b_mask3d_scannet-480x640.py'

data_root = 'data/synthetic_scannet/'
crop_size = (96, 128)  # (H, W)
img_scale = (128, 96)  # (w, h) as mmdet's Resize
embed_dims, num_layers, channels = 128, 4, 64

model = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=embed_dims, num_layers=num_layers, num_heads=4,
                  feedforward_channels=4 * embed_dims),
        img_size=crop_size,
        out_indices=(num_layers - 1, ),
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/mask3d_vit-tiny_synthetic.pth')),
    neck=dict(in_channels=embed_dims, out_channels=channels),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels, fc_out_channels=256),
        mask_roi_extractor=dict(out_channels=channels),
        mask_head=dict(in_channels=channels, conv_out_channels=channels)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(max_per_img=30)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.AlignImageTo', reference='annotation'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=img_scale, ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_type='absolute', crop_size=img_scale, recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.AlignImageTo', reference='annotation'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=2, num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

# CPU: fp32 (mmengine's AmpOptimWrapper needs a GPU), layer decay over the 4 blocks
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='mask3d_mm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.7, num_layers=num_layers),
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.05))
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[10],
         gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=2)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=4, max_keep_ckpts=1, save_best='coco/segm_mAP'))
