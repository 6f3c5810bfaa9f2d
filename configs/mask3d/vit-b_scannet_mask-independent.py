# Ablation: masking. Depth masks drawn independently of the RGB masks (the spec's original
# default) instead of the recipe's complementary masks (visible depth patches among the masked
# RGB patches; chosen by docs/results.md). rgb_mask_ratio / depth_mask_ratio are the knobs to
# sweep, e.g. --cfg-options "train_dataloader.dataset.pipeline.5.depth_mask_ratio=0.9"; the
# recipe's masks with visible depth preferably where the sensor gave depth:
#   --cfg-options train_dataloader.dataset.pipeline.5.depth_visible_from_valid=True
_base_ = ['./vit-b_scannet.py']
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', depth_scale=1000.0, max_depth=10.0),
    dict(type='mask3d_mm.AlignColorToDepth'),
    dict(type='mask3d_mm.RGBDRandomResizedCrop', scale=(224, 224), crop_ratio_range=(0.2, 1.0)),
    dict(type='mask3d_mm.RGBDRandomFlip', prob=0.5),
    dict(type='mask3d_mm.RGBDMaskGenerator', rgb_mask_ratio=0.75, depth_mask_ratio=0.75,
         patch_size=16, complementary=False),
    dict(type='mask3d_mm.PackRGBDInputs', algorithm_keys=['depth', 'rgb_mask', 'depth_mask'],
         meta_keys=('img_path', 'depth_path', 'ori_shape', 'img_shape', 'depth_intrinsics',
                    'flip')),
]))
