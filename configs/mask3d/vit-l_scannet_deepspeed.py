# Optional: the ViT-L/16 recipe (./vit-l_scannet.py) with DeepSpeed ZeRO through mmengine's
# FlexibleRunner + DeepSpeedStrategy; needs `pip install deepspeed==0.16.5`, which the project's
# install does not do (docs/distributed.md says why and what was tested).
#   bash tools/dist_train.sh configs/mask3d/vit-l_scannet_deepspeed.py 8
#   ZeRO-3 (parameters sharded too): --cfg-options strategy.zero_optimization.stage=3
# ZeRO-2 shards the AdamW state and the gradients. fp32 compute: DeepSpeed's bf16 / fp16 modes
# cast the model, and mmengine 0.10.7 casts only tensor inputs (inputs_to_half), not the
# [rgb, depth] list of this model; for bf16 use ./vit-l_scannet_fsdp.py.
_base_ = ['./vit-l_scannet.py']

runner_type = 'FlexibleRunner'
strategy = dict(
    type='DeepSpeedStrategy',
    zero_optimization=dict(stage=2, allgather_partitions=True, reduce_scatter=True,
                           overlap_comm=True, contiguous_gradients=True))

optim_wrapper = dict(
    _delete_=True,
    type='DeepSpeedOptimWrapper',
    optimizer={{_base_.optim_wrapper.optimizer}},
    paramwise_cfg={{_base_.optim_wrapper.paramwise_cfg}})
