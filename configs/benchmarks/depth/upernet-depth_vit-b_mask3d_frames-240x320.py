# Monocular depth on any RGB-D collection (mmseg DepthEstimator): your own captures listed in
# train.txt / val.txt ("colour depth" lines) under data_root, depth as uint16 / depth_scale
# (../_base_/datasets/frames-depth_240x320.py). UperNet depth head + ViT-B/16 initialised with
# the Mask3D colour encoder, 240x320 input, batch 8 (4 GPUs x 2), 20k iterations, AdamW with
# layer decay as the NYUv2 config. Set the data in a child config or on the command line:
#   python tools/train.py configs/benchmarks/depth/upernet-depth_vit-b_mask3d_frames-240x320.py \
#       --cfg-options train_dataloader.dataset.data_root=data/my_captures/ \
#           val_dataloader.dataset.data_root=data/my_captures/ \
#           test_dataloader.dataset.data_root=data/my_captures/
_base_ = [
    './_base_/models/upernet-depth_vit-b16_mmpretrain.py',
    './_base_/datasets/frames-depth_240x320.py',
    'mmseg::_base_/default_runtime.py',
    '../mmseg/_base_/schedules/adamw-ld_poly_20k.py',
]
custom_imports = dict(imports=['mask3d_mm'], allow_failed_imports=False)

crop_size = (240, 320)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(img_size=crop_size,
                  init_cfg=dict(checkpoint='checkpoints/mask3d_vit-b_scannet.pth')))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.75))
