# The ScanNet recipe on pre-converted frames: colour already in the depth camera (640x480 JPEG),
# depth as .npy. Same pipeline, same training; a data worker needs ~2.5x less CPU per frame
# (docs/benchmarks.md). Convert once, then train:
#   python tools/dataset_converters/preconvert_frames.py data/scannet/scannet_frames_25k \
#       data/scannet/scannet_frames_25k_preconverted --workers 8
#   bash tools/dist_train.sh configs/mask3d/vit-b_scannet_preconverted.py 8
_base_ = ['./vit-b_scannet.py']
data_root = 'data/scannet/scannet_frames_25k_preconverted/'
suffixes = dict(depth='.npy')
train_dataloader = dict(dataset=dict(data_root=data_root, suffixes=suffixes))
val_dataloader = dict(dataset=dict(data_root=data_root, suffixes=suffixes))
