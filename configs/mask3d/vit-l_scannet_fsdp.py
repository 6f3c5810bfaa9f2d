# The ViT-L/16 recipe (./vit-l_scannet.py) sharded with PyTorch FSDP through mmengine's
# FlexibleRunner: one FSDP unit per transformer block of the colour ViT, the depth encoder and
# the decoder; parameters, gradients and AdamW state sharded over the GPUs (FULL_SHARD); bf16
# compute with fp32 master weights and fp32 gradient reduction (FSDP MixedPrecision, so no loss
# scaling: OptimWrapper instead of the recipe's fp16 AmpOptimWrapper). docs/distributed.md.
#   bash tools/dist_train.sh configs/mask3d/vit-l_scannet_fsdp.py 8
# Checkpoints are folders of shards (torch.distributed.checkpoint), written by every GPU at
# once; --resume continues them on any number of GPUs, the export tool reads them whole:
#   python tools/model_converters/export_rgb_encoder.py \
#       $(cat work_dirs/vit-l_scannet_fsdp/last_checkpoint) checkpoints/mask3d_vit-l_scannet.pth
# One file instead (rank 0 gathers it): --cfg-options strategy.state_dict_cfg=full
# Without CUDA, tools/train.py runs it on CPU with gloo in fp32 (a dry run; logged).
_base_ = ['./vit-l_scannet.py']

runner_type = 'FlexibleRunner'
strategy = dict(
    type='mask3d_mm.DCPFSDPStrategy',  # mmengine's FSDPStrategy + DCP sharded checkpoints
    state_dict_cfg='sharded',
    model_wrapper=dict(
        type='MMFullyShardedDataParallel',
        sharding_strategy='FULL_SHARD',
        use_orig_params=True,  # the optimizer's paramwise_cfg sees the model's names
        auto_wrap_policy=dict(type='mask3d_mm.transformer_block_wrap_policy'),
        mixed_precision=dict(param_dtype='bfloat16', reduce_dtype='float32',
                             buffer_dtype='float32')))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer={{_base_.optim_wrapper.optimizer}},
    paramwise_cfg={{_base_.optim_wrapper.paramwise_cfg}})
