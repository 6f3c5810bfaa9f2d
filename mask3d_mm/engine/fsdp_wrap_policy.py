"""The FSDP auto-wrap policy of the Mask3D configs: one FSDP unit per transformer block.

``FSDPStrategy`` builds ``MMFullyShardedDataParallel`` from ``strategy.model_wrapper``; its
``auto_wrap_policy=dict(type=NAME, **kwargs)`` is looked up in mmengine's ``FUNCTIONS`` and
bound to ``kwargs``. torch's ``transformer_auto_wrap_policy`` wants the block classes
themselves, which a config file cannot hold: here they are named by import path.
"""
from typing import Sequence, Set, Type

import torch.nn as nn
from mmengine.utils import get_object_from_string
from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy

from mask3d_mm.registry import FUNCTIONS

__all__ = ['transformer_block_wrap_policy', 'VIT_BLOCK']

# the block of the colour ViT (mmpretrain), of DepthEncoder and of DepthDecoder
VIT_BLOCK = 'mmpretrain.models.backbones.vision_transformer.TransformerEncoderLayer'


def _block_classes(layer_types: Sequence[str]) -> Set[Type[nn.Module]]:
    """The classes named by ``layer_types`` (import paths)."""
    classes = set()
    for name in layer_types:
        cls = get_object_from_string(name)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise ValueError(f'transformer_block_wrap_policy: layer_types entry {name!r} is not '
                             'the import path of an nn.Module class')
        classes.add(cls)
    return classes


@FUNCTIONS.register_module()
def transformer_block_wrap_policy(module: nn.Module, recurse: bool, nonwrapped_numel: int,
                                  layer_types: Sequence[str] = (VIT_BLOCK, )) -> bool:
    """FSDP ``auto_wrap_policy``: wrap every module whose class is one of ``layer_types``.

    Args:
        module (nn.Module): the module FSDP asks about.
        recurse (bool): whether FSDP asks if it may descend into ``module``'s children.
        nonwrapped_numel (int): parameters of ``module`` not wrapped yet (unused).
        layer_types (Sequence[str]): import paths of the block classes. Defaults to mmpretrain's
            ``TransformerEncoderLayer``, the block of all three Mask3D transformers.

    Returns:
        bool: descend (``recurse``) or wrap ``module`` (not ``recurse``).
    """
    return transformer_auto_wrap_policy(module, recurse, nonwrapped_numel,
                                        transformer_layer_cls=_block_classes(layer_types))
