"""Mask3D decoder: fuses the color and depth latents and predicts dense depth per patch."""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule, ModuleList
from mmpretrain.models.backbones.vision_transformer import TransformerEncoderLayer
from mmpretrain.models.utils import build_norm_layer

from mask3d_mm.registry import MODELS
from ..utils import build_2d_sincos_pos_embed, gather_tokens, run_blocks, scatter_tokens

__all__ = ['DepthDecoder']

DEFAULT_INIT = [
    dict(type='Xavier', layer='Linear', distribution='uniform'),
    dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
]


@MODELS.register_module()
class DepthDecoder(BaseModule):
    """MAE-style transformer decoder over the fused color + depth latents.

    Both latents are projected to the decoder width (``rgb_embed``, ``depth_embed``). Fusion:

    - ``'add'``: each projected token is placed at its patch position and the two are added
      where both modalities are visible; positions seen by neither get ``mask_token``. The
      sequence is the color cls token + h*w position tokens.
    - ``'concat'``: the sequence is the color cls token, the visible color tokens, the visible
      depth tokens (each with a learned modality embedding) and h*w query tokens
      (``mask_token``); the prediction is read at the query tokens.

    A fixed 2D sin-cos position embedding, built for the actual (possibly rectangular) grid, is
    added to every patch token (zero for the cls token, as MAE).

    Args:
        in_channels (int): Color encoder width. Defaults to 768.
        depth_in_channels (int): Depth encoder width. Defaults to 256.
        embed_dims (int): Decoder width. Defaults to 512.
        num_layers (int): Decoder blocks. Defaults to 8.
        num_heads (int): Attention heads. Defaults to 16.
        mlp_ratio (float): FFN hidden / width. Defaults to 4.
        patch_size (int): Patch size p. Defaults to 16.
        out_channels (int): Values per pixel: 1 (depth) or 4 (depth + surface normal).
            Defaults to 1.
        fusion (str): 'add' or 'concat'. Defaults to 'add'.
        norm_cfg (dict): Norm config. Defaults to ``dict(type='LN', eps=1e-6)``.
        with_cp (bool): Activation checkpointing of every block while training (recomputed in
            the backward: less memory, same result and gradients). Defaults to False.
        init_cfg (dict | list[dict], optional): Defaults to xavier Linear, LayerNorm (1, 0).
    """

    def __init__(self,
                 in_channels: int = 768,
                 depth_in_channels: int = 256,
                 embed_dims: int = 512,
                 num_layers: int = 8,
                 num_heads: int = 16,
                 mlp_ratio: float = 4.,
                 patch_size: int = 16,
                 out_channels: int = 1,
                 fusion: str = 'add',
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 with_cp: bool = False,
                 init_cfg: Optional[Union[List[dict], dict]] = DEFAULT_INIT) -> None:
        super().__init__(init_cfg=init_cfg)
        if fusion not in ('add', 'concat'):
            raise ValueError(f"fusion must be 'add' or 'concat', got {fusion!r}")
        self.embed_dims = embed_dims
        self.patch_size = patch_size
        self.out_channels = out_channels
        self.fusion = fusion
        self.with_cp = with_cp
        self.rgb_embed = nn.Linear(in_channels, embed_dims)
        self.depth_embed = nn.Linear(depth_in_channels, embed_dims)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        if fusion == 'concat':
            self.rgb_type_embed = nn.Parameter(torch.zeros(1, 1, embed_dims))
            self.depth_type_embed = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.decoder_blocks = ModuleList([
            TransformerEncoderLayer(
                embed_dims,
                num_heads,
                int(mlp_ratio * embed_dims),
                qkv_bias=True,
                norm_cfg=norm_cfg) for _ in range(num_layers)
        ])
        self.decoder_norm = build_norm_layer(norm_cfg, embed_dims)
        self.decoder_pred = nn.Linear(embed_dims, patch_size**2 * out_channels)

    def init_weights(self) -> None:
        """Init config, then mask token (and modality embeddings) N(0, 0.02)."""
        super().init_weights()
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            return
        nn.init.normal_(self.mask_token, std=.02)
        if self.fusion == 'concat':
            nn.init.normal_(self.rgb_type_embed, std=.02)
            nn.init.normal_(self.depth_type_embed, std=.02)

    def forward(self, rgb_latent: torch.Tensor, rgb_ids: torch.Tensor,
                depth_latent: torch.Tensor, depth_ids: torch.Tensor,
                patch_resolution: Sequence[int]) -> torch.Tensor:
        """Fuse and decode.

        Args:
            rgb_latent (torch.Tensor): (B, 1 + N_rgb, C_rgb), cls token first.
            rgb_ids (torch.Tensor): (B, N_rgb) patch indices of the color tokens.
            depth_latent (torch.Tensor): (B, N_depth, C_depth).
            depth_ids (torch.Tensor): (B, N_depth) patch indices of the depth tokens.
            patch_resolution (Sequence[int]): Grid (h, w).

        Returns:
            torch.Tensor: (B, h * w, p * p * out_channels), per patch row-major pixels with the
            channel last (MAE's patchify layout).
        """
        B = rgb_latent.shape[0]
        L = int(patch_resolution[0]) * int(patch_resolution[1])
        cls_token = self.rgb_embed(rgb_latent[:, :1])
        rgb = self.rgb_embed(rgb_latent[:, 1:])
        dep = self.depth_embed(depth_latent)
        pos = build_2d_sincos_pos_embed(patch_resolution, self.embed_dims,
                                        device=rgb.device).to(rgb.dtype)
        mask_tokens = self.mask_token.to(rgb.dtype).expand(B, L, -1)
        if self.fusion == 'add':
            rgb, rgb_seen = scatter_tokens(rgb, rgb_ids, L)
            dep, dep_seen = scatter_tokens(dep, depth_ids, L)
            seen = (rgb_seen | dep_seen)[..., None]
            x = torch.where(seen, rgb + dep, mask_tokens) + pos
            x = torch.cat([cls_token, x], dim=1)
        else:
            pos = pos.expand(B, -1, -1)
            rgb = rgb + gather_tokens(pos, rgb_ids) + self.rgb_type_embed
            dep = dep + gather_tokens(pos, depth_ids) + self.depth_type_embed
            x = torch.cat([cls_token, rgb, dep, mask_tokens + pos], dim=1)
        x = run_blocks(self.decoder_blocks, x, self.with_cp and self.training)
        x = self.decoder_norm(x[:, -L:])
        return self.decoder_pred(x)
