# Ablation: masking. Depth masks drawn independently of the RGB masks (the spec's original
# default) instead of the recipe's complementary masks (visible depth patches among the masked
# RGB patches; chosen by docs/results.md). rgb_mask_ratio / depth_mask_ratio are the knobs to
# sweep, e.g. --cfg-options "train_dataloader.dataset.pipeline.5.depth_mask_ratio=0.9"; the
# recipe's masks with visible depth preferably where the sensor gave depth:
#   --cfg-options train_dataloader.dataset.pipeline.5.depth_visible_from_valid=True
_base_ = ['./vit-b_scannet.py']
# the recipe's training pipeline (same constants, crop, steps), its mask generator with
# complementary=False (`_base_.x` gives the value itself, to build on)
train_pipeline = [
    dict(step, complementary=False) if step['type'] == 'mask3d_mm.RGBDMaskGenerator' else step
    for step in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
