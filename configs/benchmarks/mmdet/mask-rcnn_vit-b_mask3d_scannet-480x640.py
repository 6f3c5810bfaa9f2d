# Mask R-CNN, ViT-B/16 + SimpleFPN, initialised from the Mask3D-pre-trained RGB encoder, on
# ScanNet 2D instances (18 classes) at 480x640; 8 GPUs x 2 images, AMP, 25 epochs.
#   python tools/dataset_converters/scannet_to_coco.py data/scannet/scannet_frames_25k \
#       --scene-list scannetv2_train.txt \
#       --out data/scannet/scannet_frames_25k/annotations/instances_train.json
#   (and scannetv2_val.txt -> annotations/instances_val.json)
#   python tools/model_converters/export_rgb_encoder.py work_dirs/vit-b_scannet/epoch_400.pth \
#       checkpoints/mask3d_vit-b_scannet.pth
#   bash tools/dist_train.sh configs/benchmarks/mmdet/mask-rcnn_vit-b_mask3d_scannet-480x640.py 8
_base_ = [
    './_base_/models/mask-rcnn_vit-b16_simplefpn.py',
    './_base_/datasets/scannet-instance_480x640.py',
    './_base_/schedules/adamw-ld_step_25e.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mask3d_mm'], allow_failed_imports=False)

default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=2, save_best='coco/segm_mAP'))
