# Mask3D pre-training of ViT-L/16 on ScanNet RGB-D frames: the ViT-B recipe (./vit-b_scannet.py:
# data, masks, target, optimiser, schedule) with the colour encoder at ViT-L (24 blocks x 1024,
# ~303 M parameters). Depth encoder and decoder keep their ViT-B sizes, as MMPretrain's MAE
# keeps its decoder (512 x 8) for ViT-B/L/H: configs/mask3d/README.md ("ViT-L and ViT-H").
#   bash tools/dist_train.sh configs/mask3d/vit-l_scannet.py 8
#   python tools/model_converters/export_rgb_encoder.py \
#       $(cat work_dirs/vit-l_scannet/last_checkpoint) checkpoints/mask3d_vit-l_scannet.pth
#   (loads into mmpretrain's VisionTransformer(arch='l'))
_base_ = ['./vit-b_scannet.py']

# Activation checkpointing of the colour encoder, the depth encoder and the decoder (one switch
# for the three): True recomputes every block in the backward pass (less GPU memory, one more
# forward of the blocks; same loss, gradients and checkpoint keys). The variable is substituted
# when this file is parsed: a child config or the command line sets the three keys instead,
# --cfg-options model.backbone.with_cp=True model.depth_encoder.with_cp=True model.neck.with_cp=True
with_cp = False

model = dict(
    backbone=dict(arch='l', with_cp=with_cp),
    depth_encoder=dict(with_cp=with_cp),
    neck=dict(in_channels=1024, with_cp=with_cp))
