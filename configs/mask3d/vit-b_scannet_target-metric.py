# Ablation: target d / max_depth in metres ('metric', the spec's original default) instead of the
# per-image truncated standardisation of the recipe (MultiMAE; chosen by docs/results.md).
_base_ = ['./vit-b_scannet.py']
model = dict(head=dict(norm_target='metric'))
