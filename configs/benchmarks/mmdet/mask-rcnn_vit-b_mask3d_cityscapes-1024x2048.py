# Mask R-CNN, ViT-B/16 + SimpleFPN from the Mask3D encoder, on Cityscapes instances (8 classes)
# with mmdet's CityscapesDataset and its pipeline (train scale 2048 x 800-1024, test 2048x1024).
# Data: mmdet's tools/dataset_converters/cityscapes.py -> annotations/instancesonly_filtered_*.json.
# 8 GPUs x 1 image, AMP; 8 epochs of the dataset repeated 8 times (mmdet's Cityscapes schedule
# length), step at epoch 7. The plain ViT attends globally over up to 64x128 = 8192 tokens per
# image (no window attention in mmpretrain's ViT): memory-heavy; not measured here. Lower the
# scales in the pipelines (and img_size) if it does not fit.
_base_ = [
    './_base_/models/mask-rcnn_vit-b16_simplefpn.py',
    'mmdet::_base_/datasets/cityscapes_instance.py',
    './_base_/schedules/adamw-ld_step_25e.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mask3d_mm'], allow_failed_imports=False)

num_classes = 8
model = dict(
    backbone=dict(img_size=(1024, 2048)),
    roi_head=dict(
        bbox_head=dict(num_classes=num_classes),
        mask_head=dict(num_classes=num_classes)))

max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[7], gamma=0.1),
]
# lr 1e-4 for 8 images per step
auto_scale_lr = dict(enable=False, base_batch_size=8)
# workers restart (re-seeded) every epoch: a resumed run gets the same augmentations as an
# uninterrupted one (docs/robustness.md); mmdet's base keeps them alive across epochs
train_dataloader = dict(persistent_workers=False)

# COCO-style AP only: mmdet's CityScapesMetric (the official per-class AP) needs
# `pip install cityscapesscripts`; add it back as in mmdet::_base_/datasets/cityscapes_instance.py.
val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file='data/cityscapes/annotations/instancesonly_filtered_gtFine_val.json',
    metric=['bbox', 'segm'])
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=2))
