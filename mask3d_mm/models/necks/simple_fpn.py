"""ViTDet-style simple feature pyramid from a single-scale ViT feature map."""
import math
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from mmengine.model import BaseModule

from mask3d_mm.registry import MODELS

__all__ = ['SimpleFPN']


@MODELS.register_module()
class SimpleFPN(BaseModule):
    """Simple feature pyramid (Li et al., ViTDet, ECCV 2022) on a plain ViT's last map.

    The stride-``s`` map (``s = 16`` for ViT/16) is rescaled per level by ``scale_factors``:
    ``2**k`` for ``k > 0`` by ``k`` stride-2 transposed convs (channels halved by each, LN2d +
    GELU between them), ``1`` as is, ``2**-k`` by ``k`` 2x2 max-pools; then a 1x1 and a 3x3 conv
    (each + LN2d) to ``out_channels``. Levels beyond ``len(scale_factors)`` (``num_outs``) are
    stride-2 subsamplings of the last one, as mmdet's FPN ``add_extra_convs=False``, for the RPN.

    Default: (B, C, H/16, W/16) -> 5 maps (B, 256, H/s, W/s) at strides 4, 8, 16, 32, 64, the
    strides of mmdet's Mask R-CNN anchors and RoI extractors.

    Args:
        in_channels (int): C of the ViT map.
        out_channels (int): Channels of every level. Defaults to 256.
        scale_factors (Sequence[float]): Powers of two, one per level. Defaults to
            (4.0, 2.0, 1.0, 0.5).
        num_outs (int): Number of outputs (>= len(scale_factors)). Defaults to 5.
        in_index (int): Which map of the backbone's tuple to use. Defaults to -1.
        norm_cfg (dict): Norm of the convs. Defaults to mmpretrain's channel LayerNorm,
            ``dict(type='mmpretrain.LN2d', eps=1e-6)``.
        act_cfg (dict): Activation between the transposed convs. Defaults to GELU.
        init_cfg (dict | list[dict], optional): Init config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 256,
                 scale_factors: Sequence[float] = (4.0, 2.0, 1.0, 0.5),
                 num_outs: int = 5,
                 in_index: int = -1,
                 norm_cfg: dict = dict(type='mmpretrain.LN2d', eps=1e-6),
                 act_cfg: dict = dict(type='GELU'),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_outs < len(scale_factors):
            raise ValueError(f'num_outs ({num_outs}) < number of scale_factors '
                             f'({len(scale_factors)})')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.scale_factors = tuple(float(s) for s in scale_factors)
        self.num_outs = num_outs
        self.in_index = in_index
        self.rescales = nn.ModuleList()
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for scale in self.scale_factors:
            rescale, channels = self._rescale(scale, in_channels, norm_cfg, act_cfg)
            self.rescales.append(rescale)
            self.lateral_convs.append(
                ConvModule(channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None))
            self.fpn_convs.append(
                ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg,
                           act_cfg=None))

    @staticmethod
    def _rescale(scale: float, channels: int, norm_cfg: dict,
                 act_cfg: dict) -> Tuple[nn.Module, int]:
        """The resampling branch of one level and its output channels."""
        k = math.log2(scale)
        if scale <= 0 or k != round(k):
            raise ValueError(f'scale factors must be powers of two, got {scale}')
        k = int(round(k))
        layers: List[nn.Module] = []
        for i in range(k):
            if i > 0:
                layers += [build_norm_layer(norm_cfg, channels)[1],
                           build_activation_layer(act_cfg)]
            if channels % 2:
                raise ValueError(f'cannot halve {channels} channels for scale {scale}')
            layers.append(nn.ConvTranspose2d(channels, channels // 2, 2, stride=2))
            channels //= 2
        layers += [nn.MaxPool2d(2, stride=2) for _ in range(-k)]
        return (nn.Sequential(*layers) if layers else nn.Identity()), channels

    def forward(self, inputs: Union[torch.Tensor, Sequence[torch.Tensor]]) -> Tuple[torch.Tensor]:
        """(B, C, h, w) map, or a tuple holding it -> ``num_outs`` maps (B, out, h*s, w*s)."""
        x = inputs if isinstance(inputs, torch.Tensor) else inputs[self.in_index]
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'SimpleFPN expects (B, {self.in_channels}, h, w), got '
                             f'{tuple(x.shape)} (use out_type="featmap" in the ViT)')
        outs = [
            fpn(lateral(rescale(x)))
            for rescale, lateral, fpn in zip(self.rescales, self.lateral_convs, self.fpn_convs)
        ]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
