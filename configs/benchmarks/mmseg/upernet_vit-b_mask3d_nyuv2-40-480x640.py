# UperNet + ViT-B/16 initialised with the Mask3D color encoder, NYUv2 40 classes, 480x640
# crops; MultiMAE's NYUv2 recipe for lr (1e-4), layer decay (0.75), drop path (0.1), warm-up
# (1 epoch) and length (~200 epochs at batch 8: 4 GPUs x 2 images, 20k iterations).
#   bash tools/dist_train.sh configs/benchmarks/mmseg/upernet_vit-b_mask3d_nyuv2-40-480x640.py 4
_base_ = [
    './_base_/models/upernet_vit-b16_mmpretrain.py',
    './_base_/datasets/nyuv2-40_480x640.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/schedules/adamw-ld_poly_20k.py',
]
custom_imports = dict(imports=['mask3d_mm'], allow_failed_imports=False)

crop_size = (480, 640)
num_classes = 40
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(img_size=crop_size,
                  init_cfg=dict(checkpoint='checkpoints/mask3d_vit-b_scannet.pth')),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.75))
