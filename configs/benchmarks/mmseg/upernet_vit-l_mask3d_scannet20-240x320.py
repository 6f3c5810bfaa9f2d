# UperNet + ViT-L/16 initialised with the Mask3D color encoder of configs/mask3d/vit-l_scannet.py,
# ScanNet 20 classes, 240x320: the ViT-B config (data, UperNet, schedule) at ViT-L. What changes
# and why: README.md ("ViT-L").
#   python tools/model_converters/export_rgb_encoder.py \
#       $(cat work_dirs/vit-l_scannet/last_checkpoint) checkpoints/mask3d_vit-l_scannet.pth
#   bash tools/dist_train.sh configs/benchmarks/mmseg/upernet_vit-l_mask3d_scannet20-240x320.py 8
_base_ = ['./upernet_vit-b_mask3d_scannet20-240x320.py']

embed_dims = 1024  # ViT-L width: the 4 feature maps, the neck and the heads
model = dict(
    backbone=dict(
        arch='l',
        out_indices=(5, 11, 17, 23),  # every 6th of the 24 blocks (ViT-B: every 3rd of 12)
        drop_path_rate=0.2,  # MAE's ViT-L fine-tuning (ViT-B: 0.1)
        init_cfg=dict(checkpoint='checkpoints/mask3d_vit-l_scannet.pth')),
    neck=dict(in_channels=[embed_dims] * 4, out_channels=embed_dims),
    decode_head=dict(in_channels=[embed_dims] * 4),
    auxiliary_head=dict(in_channels=embed_dims))
# layer decay over 24 blocks; the patch embedding keeps the ViT-B config's lr scale:
# 0.8 ** 25 = 0.0038 ~ 0.65 ** 13 = 0.0037
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.8))
