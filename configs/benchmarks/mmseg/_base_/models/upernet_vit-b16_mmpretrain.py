# UperNet on mmpretrain's ViT-B/16 (the parameter names of the Mask3D export), from mmseg's
# UperNet + ViT base with its backbone swapped. The feature maps of blocks 3, 6, 9, 12 (1/16)
# go through MultiLevelNeck to 1/4, 1/8, 1/16, 1/32 for UPerHead.
_base_ = ['mmseg::_base_/models/upernet_vit-b16_ln_mln.py']

model = dict(
    pretrained=None,  # EncoderDecoder would copy it into the backbone: weights via init_cfg
    backbone=dict(
        _delete_=True,
        type='mmpretrain.VisionTransformer',
        arch='b',
        img_size=(512, 512),  # set to the crop size: pos_embed is resized on load
        patch_size=16,
        out_indices=(2, 5, 8, 11),
        out_type='featmap',
        final_norm=True,  # the export holds ln1; it normalises the last feature map
        drop_path_rate=0.1,
        # the file written by tools/model_converters/export_rgb_encoder.py (your path)
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mask3d_vit-b_scannet.pth')))
