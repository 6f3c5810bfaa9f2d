# Mask R-CNN on a plain ViT-B/16 (mmpretrain's VisionTransformer, the names Mask3D exports) with
# a ViTDet-style simple feature pyramid (mask3d_mm.SimpleFPN): single stride-16 map -> strides
# 4, 8, 16, 32 (+ 64 by subsampling for the RPN). RPN / RoI heads as mmdet's Mask R-CNN R50-FPN.
_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'
custom_imports = dict(imports=['mask3d_mm'], allow_failed_imports=False)

img_size = (480, 640)  # (H, W) of the training input; the position embedding is built for it
num_classes = 18

model = dict(
    # ImageNet mean/std, BGR -> RGB: as the Mask3D pre-training preprocessor
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(
        _delete_=True,
        type='mmpretrain.VisionTransformer',
        arch='b',
        img_size=img_size,
        patch_size=16,
        out_type='featmap',
        out_indices=(11, ),
        drop_path_rate=0.1,
        final_norm=True,  # the exported Mask3D encoder has the final LayerNorm (ln1)
        # The exported RGB encoder (tools/model_converters/export_rgb_encoder.py): keys of
        # VisionTransformer without prefix. Its square 14x14 pos_embed (224 pre-training) is
        # resized to the img_size grid when loaded; other input sizes are resized per forward.
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mask3d_vit-b_scannet.pth')),
    neck=dict(
        _delete_=True,
        type='mask3d_mm.SimpleFPN',
        in_channels=768,
        out_channels=256,
        scale_factors=(4.0, 2.0, 1.0, 0.5),
        num_outs=5,
        norm_cfg=dict(type='mmpretrain.LN2d', eps=1e-6)),
    roi_head=dict(
        bbox_head=dict(num_classes=num_classes),
        mask_head=dict(num_classes=num_classes)))
