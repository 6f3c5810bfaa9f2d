"""Color encoder of Mask3D: a ViT that encodes the visible RGB patches only."""
import logging
import math
import os.path as osp
from collections import Counter
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn.bricks.drop import DropPath
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader
from mmpretrain.models import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed

from mask3d_mm.registry import MODELS
from ..utils import build_2d_sincos_pos_embed, gather_tokens, mask_to_ids, run_blocks
from ..utils.pos_embed_grid import find_sincos_grid, regrid_pos_embed
from ..utils.vit_names import naming_hint, summarize_keys

__all__ = ['Mask3DViT']


def _pretrained_cfgs(init_cfg) -> List[dict]:
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return [c for c in cfgs if isinstance(c, dict) and c.get('type') == 'Pretrained']


@MODELS.register_module()
class Mask3DViT(VisionTransformer):
    """ViT color encoder for Mask3D pre-training.

    Like :class:`mmpretrain.models.MAEViT`, but the patch mask comes from the data (an
    ``RGBDMaskGenerator`` transform) instead of being drawn inside the model, and inputs may be
    rectangular and of another size than ``img_size``: the fixed sin-cos position embedding is
    built exactly for the actual patch grid (the grid the depth encoder and decoder use); a
    learnable or loaded one (ImageNet) is resized with ``resize_pos_embed``. Parameter names are exactly those of
    :class:`mmpretrain.models.VisionTransformer` (no extra parameters), so
    ``state_dict()`` loads with ``strict=True`` into ``VisionTransformer`` of the same ``arch``.

    Initialisation: as MAE (fixed 2D sin-cos position embedding for the ``img_size`` grid,
    xavier patch embedding, cls token N(0, 0.02)); then a ``Pretrained`` init_cfg with a
    ``checkpoint`` (ImageNet / MAE weights, the paper's setting:
    ``dict(type='Pretrained', checkpoint=path, prefix='backbone.')``) overwrites what the
    checkpoint holds (see :meth:`load_pretrained`); ``checkpoint=None`` keeps the random init
    and says so in the log. The configs set ``init_cfg.checkpoint=None`` so that a child config
    or ``--cfg-options model.backbone.init_cfg.checkpoint=PATH`` only has to name the file. A
    checkpoint that lacks a tensor of the encoder is an error unless the init_cfg says
    ``allow_partial=True``.

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
        with_cp (bool): Activation checkpointing of every block in the masked forward while
            training (recomputed in the backward: less memory, same result and gradients, same
            parameter names). Defaults to False.
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
                 with_cp: bool = False,
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
        # VisionTransformer passes numpy drop-path rates; as Python floats `drop_prob == 0.`
        # stays a constant for torch.compile instead of a graph break in every block
        for module in self.modules():
            if isinstance(module, DropPath):
                module.drop_prob = float(module.drop_prob)
        self.with_cp = with_cp
        # True while pos_embed is the fixed sin-cos of init_weights: other grids then get their
        # exact sin-cos instead of a bicubic resize (cosine 0.85-0.92 to it at 240x320)
        self.exact_sincos = False

    @property
    def patch_size(self) -> Tuple[int, int]:
        """Patch size (ph, pw) of the patch embedding."""
        return tuple(self.patch_embed.projection.stride)

    def init_weights(self) -> None:
        """MAE-style init, then load a ``Pretrained`` checkpoint (if one is given)."""
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
        self.exact_sincos = not self.pos_embed.requires_grad
        for cfg in pretrained:
            if cfg.get('checkpoint') is None:
                print_log(f'{type(self).__name__}: init_cfg.checkpoint is None: random init '
                          '(no ImageNet / MAE start)', logger='current')
            else:
                unknown = set(cfg) - {'type', 'checkpoint', 'prefix', 'map_location',
                                      'allow_partial'}
                if unknown:
                    raise TypeError(f'{type(self).__name__}: the Pretrained init_cfg takes no '
                                    f'{sorted(unknown)} (checkpoint, prefix, allow_partial)')
                self.load_pretrained(cfg['checkpoint'], cfg.get('prefix', 'backbone.'),
                                     allow_partial=cfg.get('allow_partial', False))

    def load_pretrained(self, checkpoint: str, prefix: Optional[str] = 'backbone.',
                        allow_partial: bool = False) -> None:
        """Load an mmpretrain ViT / MAE checkpoint into this encoder and log what was loaded.

        Reads through mmengine's ``CheckpointLoader`` (local files and URLs, always
        ``weights_only=True``, see :mod:`mask3d_mm.compat`). Keys are taken with ``prefix``
        stripped when the checkpoint has such keys (a classifier / MAE / Mask3D checkpoint),
        else as they are (an encoder exported by ``export_rgb_encoder.py`` or a bare
        ``VisionTransformer`` state dict). A square checkpoint grid is resized to the
        ``img_size`` grid by ``VisionTransformer``'s load hook; a rectangular one is rebuilt for
        it when it is the fixed sin-cos.

        Every tensor of the encoder must come from the checkpoint: one left at its random init
        (other parameter names, e.g. mmseg's or timm's, or no final norm) is an error naming
        them, unless ``allow_partial`` (``init_cfg=dict(type='Pretrained', ...,
        allow_partial=True)``), which loads what is there and warns naming the rest. The log
        line counts what is ignored: tensors outside ``prefix`` (other modules, e.g. the 104 of
        an MAE's ViT-B decoder) and tensors under it that the encoder has no parameter for
        (these are named in a warning).

        Raises:
            FileNotFoundError: a local checkpoint that does not exist.
            RuntimeError: naming the file: no tensor of this encoder is in the checkpoint;
                some are not (and not ``allow_partial``), with the prefix used, the missing
                and the unexpected keys and how to convert the names; shapes differ (another
                arch); a rectangular ``pos_embed`` that is not the fixed sin-cos on another
                grid.
        """
        name = type(self).__name__
        if '://' not in checkpoint and not osp.isfile(osp.expanduser(checkpoint)):
            raise FileNotFoundError(f'{name}: pretrained checkpoint not found: {checkpoint}')
        ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
        if not isinstance(state, dict):
            raise RuntimeError(f'{name}: {checkpoint} holds no state dict ({type(state)})')
        own = self.state_dict()
        prefixed = {k[len(prefix):]: v for k, v in state.items()
                    if prefix and k.startswith(prefix)}
        if prefixed:
            outside = Counter(k.split('.', 1)[0] for k in state if not k.startswith(prefix))
            used_prefix, state = prefix, prefixed
        else:
            used_prefix, outside = '', Counter()
        where = f'{checkpoint} (prefix {used_prefix!r})'
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if len(missing) == len(own):
            raise RuntimeError(
                f'{name}: no tensor of the encoder was found in {checkpoint} (keys tried with '
                f'prefix {prefix!r} and bare); its keys start with '
                f'{sorted({k.split(".")[0] for k in state})[:8]}: {naming_hint(state)}')
        if missing and not allow_partial:
            raise RuntimeError(
                f'{name}: {len(missing)} of the {len(own)} tensors of the encoder are not in '
                f'{where}, they would stay random: {summarize_keys(missing)}; the checkpoint '
                f'has instead {summarize_keys(unexpected)}. Hint: {naming_hint(state)}. To '
                'start from the tensors that are there anyway, add allow_partial=True to the '
                "init_cfg (dict(type='Pretrained', checkpoint=..., allow_partial=True)).")
        state = self._pos_embed_to_grid(state, checkpoint)
        try:
            self.load_state_dict(state, strict=False)
            self.exact_sincos = self.exact_sincos and 'pos_embed' not in state
        except (RuntimeError, AssertionError) as e:  # the pos_embed resize hook asserts
            raise RuntimeError(f'{name}: {checkpoint} does not fit this encoder (another '
                               f'arch or patch size?): {e}') from None
        others = ', '.join(f'{k}: {n}' for k, n in sorted(outside.items()))
        msg = (f'{name}: loaded {len(own) - len(missing)}/{len(own)} tensors from {where}; '
               f'ignored {sum(outside.values())} tensors outside the prefix'
               + (f' ({others})' if others else '')
               + f' and {len(unexpected)} under it that the encoder has no parameter for')
        if unexpected:
            print_log(f'{msg}: {summarize_keys(unexpected)}', logger='current',
                      level=logging.WARNING)
        else:
            print_log(msg, logger='current')
        if missing:
            print_log(f'{name}: allow_partial: {len(missing)} tensors NOT in {where}, left at '
                      f'their init: {summarize_keys(missing, limit=len(missing))}',
                      logger='current', level=logging.WARNING)

    def _pos_embed_to_grid(self, state: dict, checkpoint: str) -> dict:
        """``state`` with a rectangular-grid ``pos_embed`` of another size rebuilt for this
        encoder's grid (the fixed sin-cos; mmpretrain's load hook resizes square grids only)."""
        pos_embed = state.get('pos_embed')
        if (pos_embed is None or pos_embed.shape[-1] != self.pos_embed.shape[-1]
                or pos_embed.shape[1] == self.pos_embed.shape[1]):
            return state  # the same grid, or another width (an error of load_state_dict)
        n = pos_embed.shape[1] - self.num_extra_tokens
        if math.isqrt(n) ** 2 == n:
            return state  # square: VisionTransformer's hook resizes it
        if find_sincos_grid(pos_embed, self.num_extra_tokens) is None:
            raise RuntimeError(
                f'{type(self).__name__}: the pos_embed of {checkpoint} ({n} positions) is on a '
                'rectangular grid that the file does not tell and is not the fixed sin-cos, so '
                f'it cannot be put on this encoder\'s {self.patch_resolution} grid: export it '
                'for this input size (export_rgb_encoder.py --img-size H W)')
        return dict(state, pos_embed=regrid_pos_embed(
            pos_embed, None, self.patch_resolution, num_extra_tokens=self.num_extra_tokens)[0])

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None,
                ids_keep: Optional[torch.Tensor] = None
                ) -> Union[Tuple[torch.Tensor, ...], Tuple[torch.Tensor, torch.Tensor]]:
        """Encode the visible patches, or the whole image when ``mask`` and ``ids_keep`` are
        None.

        Args:
            x (torch.Tensor): Images (B, 3, H, W), H and W divisible by p.
            mask (torch.Tensor, optional): Bool (B, h * w) or (B, h, w), True = masked, same
                count per sample, h = H / p, w = W / p (checked by :class:`Mask3D`, trusted
                here; a CPU mask keeps the step free of device syncs). None: plain ViT
                forward.
            ids_keep (torch.Tensor, optional): (B, N_vis) visible indices, ``mask_to_ids(mask)``
                computed by the caller (:class:`Mask3D`): the forward then reads nothing on
                the host, so ``torch.compile`` traces it in one graph. Used instead of
                ``mask``.

        Returns:
            tuple: With a mask, ``(latent, ids_keep)``: latent (B, 1 + N_vis, C) (cls token
            first, final norm applied) and ids_keep (B, N_vis) ascending row-major indices of
            the visible patches. Without, the ``VisionTransformer`` outputs (per ``out_type``).
        """
        if mask is None and ids_keep is None:
            return super().forward(x)
        B = x.shape[0]
        x, patch_resolution = self.patch_embed(x)
        if ids_keep is None:
            ids_keep = mask_to_ids(mask.reshape(B, -1))
        ids_keep = ids_keep.to(x.device, non_blocking=True)
        if self.exact_sincos and tuple(patch_resolution) != tuple(self.patch_resolution):
            pos_embed = build_2d_sincos_pos_embed(
                patch_resolution, self.embed_dims, cls_token=True, device=x.device).to(x.dtype)
        else:
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
        x = run_blocks(self.layers, x, self.with_cp and self.training)
        if self.final_norm:
            x = self.ln1(x)
        return x, ids_keep
