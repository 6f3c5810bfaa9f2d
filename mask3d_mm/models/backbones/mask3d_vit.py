"""Colour encoder of Mask3D: a ViT that encodes the visible RGB patches only."""
import logging
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model.weight_init import initialize
from mmpretrain.models import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed

from mask3d_mm.registry import MODELS
from .token_utils import build_2d_sincos_pos_embed, flatten_patch_mask, gather_tokens, mask_to_ids

__all__ = ['Mask3DViT']


def _pretrained_cfgs(init_cfg) -> List[dict]:
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return [c for c in cfgs if isinstance(c, dict) and c.get('type') == 'Pretrained']


@MODELS.register_module()
class Mask3DViT(VisionTransformer):
    """ViT colour encoder for Mask3D pre-training.

    Like :class:`mmpretrain.models.MAEViT`, but the patch mask comes from the data (an
    ``RGBDMaskGenerator`` transform) instead of being drawn inside the model, and inputs may be
    rectangular: the position embedding is resized to the actual patch grid with
    ``resize_pos_embed``. Parameter names are exactly those of
    :class:`mmpretrain.models.VisionTransformer` (no extra parameters), so
    ``state_dict()`` loads with ``strict=True`` into ``VisionTransformer`` of the same ``arch``.

    Initialisation: as MAE (fixed 2D sin-cos position embedding for the ``img_size`` grid,
    xavier patch embedding, cls token N(0, 0.02)); then a ``Pretrained`` init_cfg (e.g. ImageNet
    weights: ``dict(type='Pretrained', checkpoint=path, prefix='backbone.')``) overwrites what
    the checkpoint holds, position embedding included (a square checkpoint grid is resized to
    the ``img_size`` grid by ``VisionTransformer``'s load hook). A missing local file raises
    ``FileNotFoundError`` naming the path; a checkpoint from which no parameter loads (wrong
    ``prefix`` or key names) raises ``RuntimeError``; a partial load logs a warning.

    Args:
        arch (str | dict): ViT arch, as ``VisionTransformer``. Defaults to 'b'.
        img_size (int | tuple): Training input size (H, W); the position embedding is built for
            it and resized for other sizes. Defaults to 224.
        patch_size (int): Patch size p. Defaults to 16.
        out_indices (Sequence | int): Outputs of the unmasked forward. Defaults to -1.
        drop_rate (float): Dropout rate. Defaults to 0.
        drop_path_rate (float): Stochastic depth rate. Defaults to 0.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='LN', eps=1e-6)``.
        final_norm (bool): Final LayerNorm. Defaults to True.
        out_type (str): Output type of the unmasked forward (see ``VisionTransformer``;
            'avg_featmap' adds a norm layer ``ln2`` that plain 'b' ViTs lack). Defaults to 'raw'.
        interpolate_mode (str): Position embedding resize mode. Defaults to 'bicubic'.
        patch_cfg (dict): Extra patch embedding config. Defaults to ``dict()``.
        layer_cfgs (Sequence | dict): Extra transformer layer configs. Defaults to ``dict()``.
        learnable_pos_embed (bool): Train the position embedding (MAE keeps it fixed).
            Defaults to False.
        init_cfg (dict | list[dict], optional): Init config. Defaults to None.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 img_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 16,
                 out_indices: Union[Sequence, int] = -1,
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 final_norm: bool = True,
                 out_type: str = 'raw',
                 interpolate_mode: str = 'bicubic',
                 patch_cfg: dict = dict(),
                 layer_cfgs: Union[Sequence, dict] = dict(),
                 learnable_pos_embed: bool = False,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            out_indices=out_indices,
            drop_rate=drop_rate,
            drop_path_rate=drop_path_rate,
            norm_cfg=norm_cfg,
            final_norm=final_norm,
            out_type=out_type,
            with_cls_token=True,
            interpolate_mode=interpolate_mode,
            patch_cfg=patch_cfg,
            layer_cfgs=layer_cfgs,
            init_cfg=init_cfg)
        self.pos_embed.requires_grad = learnable_pos_embed

    @property
    def patch_size(self) -> Tuple[int, int]:
        """Patch size (ph, pw) of the patch embedding."""
        return tuple(self.patch_embed.projection.stride)

    def init_weights(self) -> None:
        """MAE-style init, then load a ``Pretrained`` checkpoint (if any) and check it loaded."""
        pretrained = _pretrained_cfgs(self.init_cfg)
        init_cfg = self.init_cfg
        if pretrained:
            others = [c for c in (init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg])
                      if c not in pretrained]
            self.init_cfg = others or None
        try:
            # BaseModule init (other init_cfg, children); VisionTransformer.init_weights only
            # draws a random pos_embed, replaced here by the fixed sin-cos one
            super(VisionTransformer, self).init_weights()
        finally:
            self.init_cfg = init_cfg
        pos_embed = build_2d_sincos_pos_embed(
            self.patch_resolution, self.embed_dims, cls_token=True)
        self.pos_embed.data.copy_(pos_embed)
        w = self.patch_embed.projection.weight.data
        torch.nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        torch.nn.init.normal_(self.cls_token, std=.02)
        if pretrained:
            self._load_pretrained(pretrained)

    def _load_pretrained(self, pretrained: List[dict]) -> None:
        """Load ``Pretrained`` init_cfgs; raise if a local file is missing or nothing loads."""
        for cfg in pretrained:
            ckpt = str(cfg.get('checkpoint'))
            if '://' not in ckpt and not osp.isfile(osp.expanduser(ckpt)):
                raise FileNotFoundError(
                    f'{type(self).__name__}: pretrained checkpoint not found: {ckpt}')
        before = {n: p.detach().flatten()[:64].clone() for n, p in self.named_parameters()}
        initialize(self, pretrained)
        loaded = [n for n, p in self.named_parameters()
                  if not torch.equal(before[n], p.detach().flatten()[:64])]
        ckpt_desc = ', '.join(f"{c.get('checkpoint')} (prefix={c.get('prefix')!r})"
                              for c in pretrained)
        if not loaded:
            raise RuntimeError(f'{type(self).__name__}: no parameter was loaded from '
                               f'{ckpt_desc}; check the checkpoint keys and the prefix.')
        if len(loaded) < len(before):
            print_log(f'{type(self).__name__}: {len(before) - len(loaded)} of {len(before)} '
                      f'parameters unchanged after loading {ckpt_desc}', logger='current',
                      level=logging.WARNING)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None
                ) -> Union[Tuple[torch.Tensor, ...], Tuple[torch.Tensor, torch.Tensor]]:
        """Encode the visible patches, or the whole image when ``mask`` is None.

        Args:
            x (torch.Tensor): Images (B, 3, H, W), H and W divisible by p.
            mask (torch.Tensor, optional): Bool (B, h * w) or (B, h, w), True = masked, same
                count per sample, h = H / p, w = W / p. None: plain ViT forward.

        Returns:
            tuple: With a mask, ``(latent, ids_keep)``: latent (B, 1 + N_vis, C) (cls token
            first, final norm applied) and ids_keep (B, N_vis) ascending row-major indices of
            the visible patches. Without, the ``VisionTransformer`` outputs (per ``out_type``).
        """
        if mask is None:
            return super().forward(x)
        B = x.shape[0]
        x, patch_resolution = self.patch_embed(x)
        ids_keep = mask_to_ids(flatten_patch_mask(mask.to(x.device), B, patch_resolution))
        pos_embed = resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            patch_resolution,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)
        # masked patches are dropped here: they never reach attention
        x = gather_tokens(x + pos_embed[:, 1:], ids_keep)
        cls_token = (self.cls_token + pos_embed[:, :1]).expand(B, -1, -1)
        x = torch.cat((cls_token, x), dim=1)
        x = self.pre_norm(self.drop_after_pos(x))
        for layer in self.layers:
            x = layer(x)
        if self.final_norm:
            x = self.ln1(x)
        return x, ids_keep
