"""Light depth encoder of Mask3D: encodes the visible depth patches only."""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmcv.cnn.bricks.transformer import PatchEmbed
from mmengine.model import BaseModule, ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones.vision_transformer import TransformerEncoderLayer
from mmpretrain.models.utils import build_norm_layer, resize_pos_embed

from mask3d_mm.registry import MODELS
from mask3d_mm.structures import valid_depth
from ..utils import build_2d_sincos_pos_embed, gather_tokens, mask_to_ids, run_blocks

__all__ = ['DepthEncoder']

DEFAULT_INIT = [
    dict(type='Xavier', layer='Linear', distribution='uniform'),
    dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
]


@MODELS.register_module()
class DepthEncoder(BaseModule):
    """Depth encoder: p x p patch embedding of the depth map + a few transformer blocks.

    Input depth is in metres with 0 = invalid. It is normalised inside as
    ``depth / max_depth`` with every invalid pixel (0, beyond ``max_depth``, non-finite) set to
    0; since valid depth is > 0, a single channel already tells holes apart. With
    ``with_valid_channel=True`` a second binary validity channel is stacked (2-channel patch
    embedding). No cls token. Only the visible patches enter the transformer blocks (the patch
    embedding is a stride-p convolution, so masked pixels never reach a visible token).

    Defaults (256 wide, 4 blocks, 8 heads, ~3.2 M parameters) keep it far lighter than the ViT-B
    color encoder, as the spec asks; MultiMAE uses a bare linear patch embedding for depth.

    Args:
        img_size (int | tuple): Training input size (H, W); sets the grid of a learned position
            embedding. Defaults to 224.
        patch_size (int): Patch size p (equal to the color encoder's). Defaults to 16.
        embed_dims (int): Width. Defaults to 256.
        num_layers (int): Transformer blocks. Defaults to 4.
        num_heads (int): Attention heads. Defaults to 8.
        mlp_ratio (float): FFN hidden / width. Defaults to 4.
        max_depth (float): Depth (metres) mapped to 1; deeper counts as invalid. Defaults to 10.
        with_valid_channel (bool): Add a validity channel. Defaults to False.
        pos_embed_type (str): 'sincos' (fixed, built for the actual grid) or 'learned'
            (resized to the actual grid). Defaults to 'sincos'.
        drop_rate (float): Dropout rate. Defaults to 0.
        drop_path_rate (float): Stochastic depth rate. Defaults to 0.
        norm_cfg (dict): Norm config. Defaults to ``dict(type='LN', eps=1e-6)``.
        final_norm (bool): Final LayerNorm. Defaults to True.
        with_cp (bool): Activation checkpointing of every block while training (recomputed in
            the backward: less memory, same result and gradients). Defaults to False.
        init_cfg (dict | list[dict], optional): Defaults to xavier Linear, LayerNorm (1, 0).
    """

    def __init__(self,
                 img_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 16,
                 embed_dims: int = 256,
                 num_layers: int = 4,
                 num_heads: int = 8,
                 mlp_ratio: float = 4.,
                 max_depth: float = 10.,
                 with_valid_channel: bool = False,
                 pos_embed_type: str = 'sincos',
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 final_norm: bool = True,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[List[dict], dict]] = DEFAULT_INIT) -> None:
        super().__init__(init_cfg=init_cfg)
        if pos_embed_type not in ('sincos', 'learned'):
            raise ValueError(
                f"pos_embed_type must be 'sincos' or 'learned', got {pos_embed_type!r}")
        if not max_depth > 0:
            raise ValueError(f'max_depth must be > 0, got {max_depth}')
        self.embed_dims = embed_dims
        self.max_depth = float(max_depth)
        self.with_valid_channel = with_valid_channel
        self.pos_embed_type = pos_embed_type
        self.with_cp = with_cp
        self.patch_embed = PatchEmbed(
            in_channels=2 if with_valid_channel else 1,
            input_size=img_size,
            embed_dims=embed_dims,
            conv_type='Conv2d',
            kernel_size=patch_size,
            stride=patch_size)
        self.patch_resolution = self.patch_embed.init_out_size
        if pos_embed_type == 'learned':
            num_patches = self.patch_resolution[0] * self.patch_resolution[1]
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, embed_dims))
        self.drop_after_pos = nn.Dropout(p=drop_rate)
        dpr = np.linspace(0, drop_path_rate, num_layers)
        self.layers = ModuleList([
            TransformerEncoderLayer(
                embed_dims=embed_dims,
                num_heads=num_heads,
                feedforward_channels=int(mlp_ratio * embed_dims),
                drop_rate=drop_rate,
                drop_path_rate=float(dpr[i]),
                qkv_bias=True,
                norm_cfg=norm_cfg) for i in range(num_layers)
        ])
        self.final_norm = final_norm
        if final_norm:
            self.ln1 = build_norm_layer(norm_cfg, embed_dims)

    @property
    def patch_size(self) -> Tuple[int, int]:
        """Patch size (ph, pw) of the patch embedding."""
        return tuple(self.patch_embed.projection.stride)

    def init_weights(self) -> None:
        """Init config, then xavier patch embedding and (learned) position embedding."""
        super().init_weights()
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            return
        w = self.patch_embed.projection.weight.data
        nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        if self.pos_embed_type == 'learned':
            trunc_normal_(self.pos_embed, std=.02)

    def normalize_depth(self, depth: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) metres -> (B, 1 or 2, H, W): depth / max_depth, invalid = 0 [+ valid]."""
        valid = valid_depth(depth, self.max_depth)
        x = torch.where(valid, depth / self.max_depth, torch.zeros_like(depth))
        if self.with_valid_channel:
            x = torch.cat([x, valid.to(x.dtype)], dim=1)
        return x

    def pos_embed_for(self, patch_resolution: Sequence[int], ref: torch.Tensor) -> torch.Tensor:
        """Position embedding (1, h * w, C) for the grid (h, w)."""
        if self.pos_embed_type == 'learned':
            return resize_pos_embed(self.pos_embed, self.patch_resolution, patch_resolution,
                                    mode='bicubic', num_extra_tokens=0)
        return build_2d_sincos_pos_embed(
            patch_resolution, self.embed_dims, device=ref.device).to(ref.dtype)

    def forward(self, depth: torch.Tensor,
                mask: Optional[torch.Tensor] = None,
                ids_keep: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode the visible depth patches.

        Args:
            depth (torch.Tensor): (B, 1, H, W) metres, 0 = invalid; H, W divisible by p.
            mask (torch.Tensor, optional): Bool (B, h * w) or (B, h, w), True = masked, same
                count per sample (checked by :class:`Mask3D`, trusted here; a CPU mask keeps
                the step free of device syncs). None = all patches visible.
            ids_keep (torch.Tensor, optional): (B, N_vis) visible indices, ``mask_to_ids(mask)``
                computed by the caller (:class:`Mask3D`): nothing is read on the host, so
                ``torch.compile`` traces the forward in one graph. Used instead of ``mask``.

        Returns:
            tuple: latent (B, N_vis, C) and ids_keep (B, N_vis) row-major patch indices.
        """
        if depth.dim() != 4 or depth.shape[1] != 1:
            raise ValueError(f'depth must be (B, 1, H, W), got {tuple(depth.shape)}')
        B = depth.shape[0]
        x, patch_resolution = self.patch_embed(self.normalize_depth(depth))
        x = x + self.pos_embed_for(patch_resolution, x)
        if mask is None and ids_keep is None:
            ids_keep = torch.arange(x.shape[1], device=x.device).expand(B, -1)
        else:
            if ids_keep is None:
                ids_keep = mask_to_ids(mask.reshape(B, -1))
            ids_keep = ids_keep.to(x.device, non_blocking=True)
            x = gather_tokens(x, ids_keep)
        x = self.drop_after_pos(x)
        x = run_blocks(self.layers, x, self.with_cp and self.training)
        if self.final_norm:
            x = self.ln1(x)
        return x, ids_keep
