# Fine-tuning schedule of a ViT-B detector (ViTDet-like): AdamW, layer-wise lr decay 0.7 over the
# 12 blocks (mask3d_mm.LayerDecayOptimWrapperConstructor; neck and heads at the base lr, no weight
# decay on norms, biases, tokens and position embeddings), AMP, 250 warm-up iterations, 25 epochs
# with steps at 22 and 24. lr 1e-4 is for 16 images per step (8 GPUs x 2).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    constructor='mask3d_mm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.7, num_layers=12),
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1))

max_epochs = 25
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[22, 24],
         gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
