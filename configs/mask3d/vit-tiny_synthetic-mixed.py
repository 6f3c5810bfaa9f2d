# A mixture at toy scale: the tiny ViT of ./vit-tiny_synthetic.py pre-trained on three
# synthetic sources at once, each with its own reader, depth encoding, crop policy and max
# depth, 8 + 4 + 4 frames of each batch of 16 (mmdet's MultiSourceSampler, as
# ./vit-b_mixed-rgbd.py); the log reports the frames drawn per source. CPU, ~2 minutes on 2 cores.
#   python tools/dataset_converters/generate_synthetic_scannet.py data/synthetic_scannet
#   python tools/dataset_converters/generate_synthetic_frame_list.py data/synthetic_frames_tum \
#       --encoding tum --seed 1
#   python tools/dataset_converters/generate_synthetic_frame_list.py data/synthetic_frames_npy \
#       --encoding float_m --seed 2
#   python tools/train.py configs/mask3d/vit-tiny_synthetic-mixed.py
_base_ = ['./vit-tiny_synthetic.py']
custom_imports = dict(imports=['mask3d_mm', 'mmdet.datasets.samplers'],
                      allow_failed_imports=False)

scannet_root = 'data/synthetic_scannet/'  # ScanNet layout, uint16 mm
tum_root = 'data/synthetic_frames_tum/'  # frame list, uint16 metres x 5000 (TUM's encoding)
npy_root = 'data/synthetic_frames_npy/'  # frame list, .npy float32 metres

batch_size = 16
source_ratio = [8, 4, 4]  # frames per batch: scannet, tum, npy
max_depth = {{_base_.max_depth}}  # 10 m, the model's
tum_max_depth = 8.0  # a source may cut its depth nearer than the model's max_depth
crop_size = {{_base_.crop_size}}
patch_size = {{_base_.patch_size}}
meta_keys = ('img_path', 'depth_path', 'ori_shape', 'img_shape', 'depth_intrinsics', 'flip',
             'source')  # 'source': for SourceCountHook

flip_mask_pack = [
    dict(type='mask3d_mm.RGBDRandomFlip', prob=0.5),
    dict(type='mask3d_mm.RGBDMaskGenerator', rgb_mask_ratio=0.75, depth_mask_ratio=0.75,
         patch_size=patch_size, complementary=True),
    dict(type='mask3d_mm.PackRGBDInputs', algorithm_keys=['depth', 'rgb_mask', 'depth_mask'],
         meta_keys=meta_keys),
]
# LoadDepthFromFile without an encoding: each frame's dataset states it
scannet_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', max_depth=max_depth),
    dict(type='mask3d_mm.AlignColorToDepth'),
    dict(type='mask3d_mm.RGBDRandomResizedCrop', scale=crop_size, crop_ratio_range=(0.2, 1.0)),
    *flip_mask_pack,
]
tum_frames_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', max_depth=tum_max_depth),
    dict(type='mask3d_mm.AlignColorToDepth'),
    dict(type='mask3d_mm.RGBDRandomResizedCrop', scale=crop_size, crop_ratio_range=(0.4, 1.0)),
    *flip_mask_pack,
]
npy_frames_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mask3d_mm.LoadDepthFromFile', max_depth=max_depth),
    dict(type='mask3d_mm.AlignColorToDepth'),
    dict(type='mask3d_mm.RGBDRandomResizedCrop', scale=crop_size, crop_ratio_range=(0.2, 1.0)),
    *flip_mask_pack,
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(_delete_=True, type='mmdet.MultiSourceSampler', batch_size=batch_size,
                 source_ratio=source_ratio, shuffle=True),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        ignore_keys=['dataset_name'],
        datasets=[
            dict(type='mask3d_mm.ScanNetRGBDDataset', data_root=scannet_root,
                 ann_file='scannetv2_train.txt', pipeline=scannet_pipeline),
            dict(type='mask3d_mm.RGBDFrameListDataset', data_root=tum_root,
                 ann_file='frames.txt', encoding='tum', source='tum',
                 # one camera: the colour is rendered from the depth camera's view
                 intrinsics='intrinsics.txt', color_intrinsics='intrinsics.txt',
                 pipeline=tum_frames_pipeline),
            dict(type='mask3d_mm.RGBDFrameListDataset', data_root=npy_root,
                 ann_file='frames.txt', encoding='float_m', source='npy',
                 intrinsics='intrinsics.txt', color_intrinsics='intrinsics.txt',
                 pipeline=npy_frames_pipeline),
        ]))
# validation: the ScanNet-format set's val scenes (./vit-tiny_synthetic.py)

max_iters = 300
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', T_max=max_iters - 30, eta_min=1e-5, by_epoch=False, begin=30,
         end=max_iters),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=100)
log_processor = dict(by_epoch=False)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(by_epoch=False, interval=100, max_keep_ckpts=2))
custom_hooks = [
    dict(type='mask3d_mm.DepthReconstructionVisHook', num_samples=4),
    dict(type='mask3d_mm.RecipeConsistencyHook'),
    dict(type='mask3d_mm.SourceCountHook'),
]
