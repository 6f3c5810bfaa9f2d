# UperNet + ViT-B/16 initialised with the Mask3D color encoder, Cityscapes 19 classes (mmseg's
# CityscapesDataset and pipeline: 512x1024 crops), sliding-window testing; 4 GPUs x 2 images,
# 80k iterations.
#   bash tools/dist_train.sh configs/benchmarks/mmseg/upernet_vit-b_mask3d_cityscapes-512x1024.py 4
_base_ = [
    './_base_/models/upernet_vit-b16_mmpretrain.py',
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/schedules/adamw-ld_poly_80k.py',
]
custom_imports = dict(imports=['mask3d_mm'], allow_failed_imports=False)

crop_size = (512, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(img_size=crop_size,
                  init_cfg=dict(checkpoint='checkpoints/mask3d_vit-b_scannet.pth')),
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 683)))
