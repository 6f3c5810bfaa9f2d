# Ablation: log-depth target (relative errors weigh the same near and far).
_base_ = ['./vit-b_scannet.py']
model = dict(head=dict(norm_target='log'))
