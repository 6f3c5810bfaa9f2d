"""LayerNorm over the channels of NCHW maps."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mask3d_mm.registry import MODELS

__all__ = ['LayerNorm2d']


@MODELS.register_module('LN2d')
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm of each pixel's channel vector: (B, C, H, W) -> (B, C, H, W).

    Config name ``mask3d_mm.LN2d`` (e.g. ``norm_cfg=dict(type='mask3d_mm.LN2d', eps=1e-6)`` in
    mmcv's ``ConvModule``).

    Args:
        num_channels (int): C.
        eps (float): Defaults to 1e-6.
        elementwise_affine (bool): Learnable per-channel weight and bias. Defaults to True.
    """

    def __init__(self, num_channels: int, eps: float = 1e-6,
                 elementwise_affine: bool = True) -> None:
        super().__init__(num_channels, eps=eps, elementwise_affine=elementwise_affine)
        self.num_channels = num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f'LayerNorm2d expects (B, C, H, W), got shape {tuple(x.shape)}')
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2).contiguous()
