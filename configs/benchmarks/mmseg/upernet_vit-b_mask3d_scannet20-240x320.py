# UperNet + ViT-B/16 initialised with the Mask3D color encoder, ScanNet 20 classes, 240x320.
# 8 GPUs x 2 images, 40k iterations (~32 epochs of the ~20k training frames).
#   bash tools/dist_train.sh configs/benchmarks/mmseg/upernet_vit-b_mask3d_scannet20-240x320.py 8
_base_ = [
    './_base_/models/upernet_vit-b16_mmpretrain.py',
    './_base_/datasets/scannet20_240x320.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/schedules/adamw-ld_poly_40k.py',
]
custom_imports = dict(imports=['mask3d_mm'], allow_failed_imports=False)

crop_size = (240, 320)
num_classes = 20
model = dict(
    data_preprocessor=dict(size=crop_size),
    # the export of tools/model_converters/export_rgb_encoder.py
    backbone=dict(img_size=crop_size,
                  init_cfg=dict(checkpoint='checkpoints/mask3d_vit-b_scannet.pth')),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
