# Ablation: fuse by sequence concatenation (visible RGB + visible depth + h*w query tokens)
# instead of adding the projected latents at their patch positions.
_base_ = ['./vit-b_scannet.py']
model = dict(neck=dict(fusion='concat'))
