# Ablation: loss on depth-masked patches only (MAE-style) instead of the dense depth map.
_base_ = ['./vit-b_scannet.py']
model = dict(head=dict(loss_on='masked'))
