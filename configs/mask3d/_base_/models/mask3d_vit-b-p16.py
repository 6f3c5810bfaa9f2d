# Mask3D with a ViT-B/16 color encoder (parameter names of mmpretrain's VisionTransformer).
# Spec and options: ../../README.md. Every part is a config option.
# patch_size (16) and max_depth (10 m) are the recipe's constants: they are variables of the
# dataset config (../datasets/scannet_rgbd.py), which ../../vit-b_scannet.py sets here, with the
# encoders' img_size (the crop).

model = dict(
    type='mask3d_mm.Mask3D',
    data_preprocessor=dict(
        type='mask3d_mm.RGBDDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    # sees only the visible RGB patches; the only part kept after pre-training
    # init_cfg.checkpoint: an mmpretrain ViT-B/16 / MAE checkpoint (keys 'backbone.*' or bare)
    # to start from ImageNet as the paper does; None: random (MAE-style) init
    backbone=dict(type='mask3d_mm.Mask3DViT', arch='b', drop_path_rate=0.0,
                  init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    # light encoder of the visible depth patches
    depth_encoder=dict(type='mask3d_mm.DepthEncoder', embed_dims=256, num_layers=4,
                       num_heads=8),
    # both latents projected to 512 and added at their patch positions ('add'; or 'concat'),
    # mask token where a position has neither; MAE-style decoder predicting p*p depths/patch
    neck=dict(type='mask3d_mm.DepthDecoder', in_channels=768, depth_in_channels=256,
              embed_dims=512, num_layers=8, num_heads=16, fusion='add'),
    # dense depth of all patches ('all'; or 'masked'), per-image truncated standardisation
    # ('standardize', MultiMAE; or 'metric' d / max_depth, 'log'), L1 over valid pixels only (or
    # criterion='L2'). 'standardize' + complementary masks were chosen by the synthetic
    # comparison: numbers, intervals and Holm-corrected p-values in docs/results.md, section 1.
    head=dict(type='mask3d_mm.DenseDepthHead', norm_target='standardize', loss_on='all',
              loss=dict(type='mask3d_mm.ValidDepthLoss', criterion='L1')))
