# Ablation: per-image truncated standardisation of the target (MultiMAE: mean/std over valid
# pixels without the top and bottom 10%), i.e. scale-invariant depth.
_base_ = ['./vit-b_scannet.py']
model = dict(head=dict(norm_target='standardize', trunc_ratio=0.1))
