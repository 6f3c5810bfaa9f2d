# Ablation: auxiliary surface-normal target computed from depth and the depth intrinsics (the
# authors' named future work): the decoder predicts depth + a normal per pixel.
_base_ = ['./vit-b_scannet.py']
model = dict(neck=dict(out_channels=4),
             head=dict(normal_loss=dict(type='mask3d_mm.ValidDepthLoss', criterion='L1',
                                        loss_weight=0.5)))
# the normals need the depth camera's intrinsics: a scene without them fails at dataset build,
# naming the scene and the files looked for (not at the first forward)
train_dataloader = dict(dataset=dict(required=('color', 'depth', 'depth_intrinsics')))
val_dataloader = dict(dataset=dict(required=('color', 'depth', 'depth_intrinsics')))
