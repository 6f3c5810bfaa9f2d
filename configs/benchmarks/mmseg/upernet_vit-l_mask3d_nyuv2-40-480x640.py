# UperNet + ViT-L/16 initialised with the Mask3D color encoder of configs/mask3d/vit-l_scannet.py,
# NYUv2 40 classes, 480x640 crops: the ViT-B config (data, UperNet, schedule) at ViT-L. What
# changes and why: README.md ("ViT-L").
#   bash tools/dist_train.sh configs/benchmarks/mmseg/upernet_vit-l_mask3d_nyuv2-40-480x640.py 4
_base_ = ['./upernet_vit-b_mask3d_nyuv2-40-480x640.py']

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
# 0.86 ** 25 = 0.023 ~ 0.75 ** 13 = 0.024
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.86))
