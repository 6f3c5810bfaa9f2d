# mmseg's DepthEstimator on mmpretrain's ViT-B/16 (the parameter names of the Mask3D export):
# the UperNet of ../../../mmseg/_base_/models/ with its heads regressing depth in metres
# (mask3d_mm.DepthUPerHead + the FCN auxiliary head mask3d_mm.DepthFCNHead, mmseg's SiLogLoss).
_base_ = ['../../../mmseg/_base_/models/upernet_vit-b16_mmpretrain.py']

norm_cfg = dict(type='SyncBN', requires_grad=True)
max_depth = 10.0  # metres: what the heads predict and learn from (indoor)
model = dict(
    type='DepthEstimator',
    # padding of the depth target: 0 = no target (the heads also drop depths beyond max_depth)
    data_preprocessor=dict(seg_pad_val=0),
    decode_head=dict(
        _delete_=True,
        type='mask3d_mm.DepthUPerHead',
        in_channels=[768, 768, 768, 768],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
        dropout_ratio=0.1,
        norm_cfg=norm_cfg,
        align_corners=False,
        max_depth=max_depth,
        loss_decode=dict(type='SiLogLoss', loss_weight=1.0)),
    auxiliary_head=dict(
        _delete_=True,
        type='mask3d_mm.DepthFCNHead',
        in_channels=768,
        in_index=3,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        norm_cfg=norm_cfg,
        align_corners=False,
        max_depth=max_depth,
        loss_decode=dict(type='SiLogLoss', loss_weight=0.4)),
    test_cfg=dict(mode='whole'))
