# The tiny synthetic Mask3D run (./vit-tiny_synthetic.py) sharded with PyTorch FSDP through
# mmengine's FlexibleRunner + FSDPStrategy: one FSDP unit per transformer block (colour ViT,
# depth encoder, decoder), parameters, gradients and optimizer state sharded over the
# processes (FULL_SHARD). Start it with torchrun (docs/distributed.md):
#   bash tools/dist_train.sh configs/mask3d/vit-tiny_synthetic_fsdp.py 2
# Without CUDA, tools/train.py runs FSDP on CPU with gloo, in fp32 (logged).
_base_ = ['./vit-tiny_synthetic.py']

runner_type = 'FlexibleRunner'
strategy = dict(
    type='mask3d_mm.DCPFSDPStrategy',  # mmengine's FSDPStrategy + DCP sharded checkpoints
    # 'sharded': each rank writes its shards into the folder iter_N.pth/ (torch DCP);
    # 'full': rank 0 gathers the model and optimizer into one ordinary file
    state_dict_cfg='sharded',
    model_wrapper=dict(
        type='MMFullyShardedDataParallel',
        sharding_strategy='FULL_SHARD',
        use_orig_params=True,  # the optimizer's paramwise_cfg sees the model's names
        auto_wrap_policy=dict(type='mask3d_mm.transformer_block_wrap_policy')))
