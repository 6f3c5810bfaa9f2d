# 40k iterations: AdamW (lr 1e-4, wd 0.05) with layer-wise lr decay over the ViT
# (mask3d_mm.LayerDecayOptimWrapperConstructor: block i of 12 trains at lr * 0.65 ** (13 - i),
# the embeddings at lr * 0.65 ** 13, neck and heads at lr; no weight decay on 1-D parameters,
# cls_token and pos_embed), AMP with a dynamic loss scale (needs a GPU: without one,
# tools/train.py switches to an fp32 OptimWrapper by itself), 1500 warm-up iterations, then
# linear (poly, power 1) to 0.
_base_ = ['mmseg::_base_/schedules/schedule_40k.py']

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mask3d_mm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.65, backbone_prefix='backbone.'))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=1500, end=40000),
]
