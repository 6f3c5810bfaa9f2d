# Mask R-CNN, ViT-L/16 + SimpleFPN, initialised from the Mask3D colour encoder of
# configs/mask3d/vit-l_scannet.py, ScanNet 2D instances (18 classes) at 480x640: the ViT-B config
# (data, heads, schedule) at ViT-L with ViTDet's ViT-L values. README.md ("ViT-L").
#   python tools/model_converters/export_rgb_encoder.py \
#       $(cat work_dirs/vit-l_scannet/last_checkpoint) checkpoints/mask3d_vit-l_scannet.pth
#   bash tools/dist_train.sh configs/benchmarks/mmdet/mask-rcnn_vit-l_mask3d_scannet-480x640.py 8
_base_ = ['./mask-rcnn_vit-b_mask3d_scannet-480x640.py']

model = dict(
    backbone=dict(
        arch='l',
        out_indices=(23, ),  # the last of the 24 blocks: one stride-16 map, 1024 channels
        drop_path_rate=0.4,  # ViTDet's ViT-L (ViT-B: 0.1)
        init_cfg=dict(checkpoint='checkpoints/mask3d_vit-l_scannet.pth')),
    neck=dict(in_channels=1024))
# ViTDet's ViT-L layer decay (ViT-B: 0.7) over the 24 blocks
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.8, num_layers=24))
