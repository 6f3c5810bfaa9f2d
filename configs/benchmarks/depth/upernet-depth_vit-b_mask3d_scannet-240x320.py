# Monocular depth on ScanNet frames (mmseg DepthEstimator): UperNet depth head + ViT-B/16
# initialised with the Mask3D color encoder, 240x320 input, batch 16 (8 GPUs x 2), 40k
# iterations (~32 epochs of the ~20k frames of scannet_frames_25k), the ScanNet schedule of
# ../mmseg; evaluated against the 640x480 depth of the validation scenes.
#   bash tools/dist_train.sh \
#       configs/benchmarks/depth/upernet-depth_vit-b_mask3d_scannet-240x320.py 8
_base_ = [
    './_base_/models/upernet-depth_vit-b16_mmpretrain.py',
    './_base_/datasets/scannet-depth_240x320.py',
    'mmseg::_base_/default_runtime.py',
    '../mmseg/_base_/schedules/adamw-ld_poly_40k.py',
]
custom_imports = dict(imports=['mask3d_mm'], allow_failed_imports=False)

crop_size = (240, 320)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(img_size=crop_size,
                  init_cfg=dict(checkpoint='checkpoints/mask3d_vit-b_scannet.pth')))
