# Monocular depth on NYUv2 (mmseg DepthEstimator): UperNet depth head + ViT-B/16 initialised
# with the Mask3D color encoder. 416x544 crops, batch 8 (4 GPUs x 2), 20k iterations (~200
# epochs of the 795 training images), the NYUv2 recipe of ../mmseg (lr 1e-4, layer decay 0.75,
# drop path 0.1); tested on the 654 test images at 480x640 in the Eigen crop.
#   bash tools/dist_train.sh configs/benchmarks/depth/upernet-depth_vit-b_mask3d_nyuv2-416x544.py 4
_base_ = [
    './_base_/models/upernet-depth_vit-b16_mmpretrain.py',
    './_base_/datasets/nyuv2-depth_416x544.py',
    'mmseg::_base_/default_runtime.py',
    '../mmseg/_base_/schedules/adamw-ld_poly_20k.py',
]
custom_imports = dict(imports=['mask3d_mm'], allow_failed_imports=False)

crop_size = (416, 544)
model = dict(
    data_preprocessor=dict(size=crop_size),
    # the export of tools/model_converters/export_rgb_encoder.py
    backbone=dict(img_size=crop_size,
                  init_cfg=dict(checkpoint='checkpoints/mask3d_vit-b_scannet.pth')))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.75))
