"""Mask3D: pre-training a 2D ViT by predicting dense depth from masked RGB + sparse depth."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.models.selfsup.base import BaseSelfSupervisor
from mmpretrain.structures import DataSample

from mask3d_mm.registry import MODELS
from mask3d_mm.structures import check_patch_mask, patch_to_pixel_mask, sample_name
from ..utils import mask_to_ids

__all__ = ['Mask3D']


@MODELS.register_module()
class Mask3D(BaseSelfSupervisor):
    """Mask3D (Hou et al., CVPR 2023, arXiv 2302.14746).

    Composition only, like mmpretrain's ``MAE``: ``backbone`` (:class:`Mask3DViT`) encodes the
    visible color patches, ``depth_encoder`` (:class:`DepthEncoder`) the visible depth patches,
    ``neck`` (:class:`DepthDecoder`) fuses both and predicts depth for every patch, ``head``
    (:class:`DenseDepthHead`) computes the loss over valid pixels. Patch masks come from the
    data samples (``rgb_mask``, ``depth_mask``: (H/p, W/p) bool, True = masked, fixed count per
    sample). Only the backbone is kept for downstream tasks.

    Inputs (from ``RGBDDataPreprocessor``): ``[rgb (B, 3, H, W) normalised,
    depth (B, 1, H, W) metres, 0 = invalid]``.

    Args:
        backbone (dict): Color encoder config.
        depth_encoder (dict): Depth encoder config.
        neck (dict): Decoder config.
        head (dict): Head config.
        pretrained (str, optional): Whole-model checkpoint. Defaults to None.
        data_preprocessor (dict | nn.Module, optional): Defaults to
            ``dict(type='mask3d_mm.RGBDDataPreprocessor')``.
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 depth_encoder: dict,
                 neck: dict,
                 head: dict,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='mask3d_mm.RGBDDataPreprocessor')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if not isinstance(depth_encoder, nn.Module):
            depth_encoder = MODELS.build(depth_encoder)
        self.depth_encoder = depth_encoder
        self._check_patch_sizes()

    @property
    def patch_size(self) -> int:
        """Patch size p of the color encoder."""
        return int(self.backbone.patch_embed.projection.stride[0])

    def _check_patch_sizes(self) -> None:
        sizes = {
            'backbone': tuple(self.backbone.patch_embed.projection.stride),
            'depth_encoder': tuple(self.depth_encoder.patch_embed.projection.stride),
            'neck': (self.neck.patch_size, ) * 2,
            'head': (self.head.patch_size, ) * 2,
        }
        if len(set(sizes.values())) != 1 or sizes['backbone'][0] != sizes['backbone'][1]:
            raise ValueError(f'all parts need the same square patch size, got {sizes}')
        neck_out = getattr(self.neck, 'out_channels', 1)
        if neck_out != self.head.out_channels:
            raise ValueError(f'neck out_channels={neck_out} but the head needs '
                             f'{self.head.out_channels} values per pixel')

    def _split_inputs(self, inputs: Sequence[torch.Tensor]
                      ) -> Tuple[torch.Tensor, torch.Tensor, Tuple[int, int]]:
        """``[rgb, depth]`` and the patch grid (h, w) of the input size.

        The depth size is the data preprocessor's check (it stacks the depth against the image,
        naming the files); here only that the input tiles into patches of this model.
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise TypeError('Mask3D expects inputs=[rgb (B,3,H,W), depth (B,1,H,W)] '
                            '(see RGBDDataPreprocessor)')
        rgb, depth = inputs
        p = self.patch_size
        H, W = rgb.shape[-2:]
        if H % p or W % p:
            raise ValueError(f'input size {H}x{W} is not divisible by the patch size {p}')
        return rgb, depth, (H // p, W // p)

    def _stack_masks(self, data_samples: Optional[List[DataSample]], key: str, batch_size: int,
                     grid: Tuple[int, int]) -> torch.Tensor:
        """Stack ``data_sample.<key>`` into (B, h * w) bool on the CPU, checking the contract.

        This is the one place the patch masks are checked (bool, the (h, w) grid of this
        model's patch size, same count per sample), naming the sample's files; the pipeline
        does not check them and the encoders trust them. They stay on the CPU (where the data
        samples hold them), so the checks and the encoders' visible-patch indices need no
        device sync.
        """
        h, w = grid
        if data_samples is None or len(data_samples) != batch_size:
            n = None if data_samples is None else len(data_samples)
            raise ValueError(f'Mask3D needs one data sample per image ({batch_size}), got {n}')
        masks = []
        for i, ds in enumerate(data_samples):
            m = ds.get(key, None)
            if m is None:
                raise KeyError(f"data sample {i} has no '{key}'; add RGBDMaskGenerator and "
                               f"mask3d_mm.PackRGBDInputs(algorithm_keys=[..., '{key}'])")
            try:
                masks.append(check_patch_mask(m, grid, f"'{key}' of {sample_name(ds, i)}")
                             .cpu())
            except ValueError as e:
                raise ValueError(f'{e}: input {h * self.patch_size}x{w * self.patch_size} / '
                                 f'patch {self.patch_size} (RGBDMaskGenerator.patch_size must '
                                 "be the model's)") from None
        masks = torch.stack(masks)
        counts = masks.sum(dim=1)
        if not bool((counts == counts[0]).all()):
            odd = '; '.join(sample_name(data_samples[i], i)
                            for i in (counts != counts[0]).nonzero().flatten().tolist())
            raise ValueError(f"'{key}' must mask the same number of patches in every sample, "
                             f'got {counts.tolist()} (not as sample 0: {odd})')
        return masks

    def extract_feat(self, inputs: Union[torch.Tensor, Sequence[torch.Tensor]]):
        """Color backbone features of the unmasked image (``inputs`` or ``inputs[0]``)."""
        rgb = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        return self.backbone(rgb, mask=None)

    @torch.compiler.disable
    def _patch_masks(self, data_samples: Optional[List[DataSample]], batch_size: int,
                     grid: Tuple[int, int], required: bool = True) -> Tuple[torch.Tensor, ...]:
        """``(rgb_mask, depth_mask, rgb_ids, depth_ids)``: the masks (B, h * w) bool and the
        visible indices (B, N_vis) of each, on the CPU.

        The host side of a step (Python data samples, the checks, the visible count of
        ``mask_to_ids``): under ``torch.compile`` it runs eagerly, outside the graph, and
        ``loss`` (encoders, decoder, head) traces as one graph without a break. With
        ``required=False`` a modality whose mask some sample (or ``data_samples=None``) lacks
        is all visible.
        """
        L = grid[0] * grid[1]
        masks = []
        for key in ('rgb_mask', 'depth_mask'):
            if required or (data_samples is not None and all(
                    ds.get(key, None) is not None for ds in data_samples)):
                masks.append(self._stack_masks(data_samples, key, batch_size, grid))
            else:
                masks.append(torch.zeros(batch_size, L, dtype=torch.bool))
        return (*masks, *(mask_to_ids(m) for m in masks))

    def _decode(self, rgb: torch.Tensor, depth: torch.Tensor, rgb_ids: torch.Tensor,
                depth_ids: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        rgb_latent, rgb_ids = self.backbone(rgb, ids_keep=rgb_ids)
        depth_latent, depth_ids = self.depth_encoder(depth, ids_keep=depth_ids)
        return self.neck(rgb_latent, rgb_ids, depth_latent, depth_ids, grid)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Masked RGB + masked depth -> dense depth; loss over valid pixels.

        Returns:
            dict: ``loss`` (and ``loss_normal`` with the normal target).
        """
        rgb, depth, grid = self._split_inputs(inputs)
        B = rgb.shape[0]
        _, depth_mask, rgb_ids, depth_ids = self._patch_masks(data_samples, B, grid)
        pred = self._decode(rgb, depth, rgb_ids, depth_ids, grid)
        return self.head.loss(pred, depth, depth_mask, data_samples)

    def _predict(self, inputs: List[torch.Tensor],
                 data_samples: Optional[List[DataSample]]
                 ) -> Tuple[torch.Tensor, torch.Tensor, Tuple[int, int]]:
        """Decoder output of the masked inputs, the depth the model saw (masked patches 0)
        and the patch grid (h, w).

        Masks are read from the data samples; a sample without ``rgb_mask`` / ``depth_mask``
        (or ``data_samples=None``) sees all patches of that modality.
        """
        rgb, depth, grid = self._split_inputs(inputs)
        B = rgb.shape[0]
        _, depth_mask, rgb_ids, depth_ids = self._patch_masks(data_samples, B, grid,
                                                              required=False)
        pred = self._decode(rgb, depth, rgb_ids, depth_ids, grid)
        # the depth the model saw: masked patches zeroed (for 'standardize' statistics)
        masked = patch_to_pixel_mask(depth_mask.reshape(B, 1, *grid), self.patch_size)
        masked = masked.to(depth.device, non_blocking=True)
        return pred, depth * ~masked, grid

    def predict_depth(self, inputs: List[torch.Tensor],
                      data_samples: Optional[List[DataSample]] = None) -> torch.Tensor:
        """Dense depth in metres (B, 1, H, W) from the masked inputs ('standardize': brought
        back with the statistics of the visible depth, all inference knows).

        Masks are read from the data samples; a sample without ``rgb_mask`` / ``depth_mask``
        (or ``data_samples=None``) sees all patches of that modality.
        """
        pred, seen, grid = self._predict(inputs, data_samples)
        return self.head.predict(pred, grid, ref_depth=seen)

    def predict(self, inputs: List[torch.Tensor],
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Validation step. Each data sample gets, all (1, H, W) float32:

        - ``pred_depth``: metres, as :meth:`predict_depth` (visible-depth statistics);
        - ``pred_target``: the prediction in the head's target space;
        - ``gt_target``: the loss target of the full input depth (full-frame statistics),
          0 at invalid pixels, so that a metric can score the prediction as the loss does.
        """
        pred, seen, grid = self._predict(inputs, data_samples)
        depth = self.head.predict(pred, grid, ref_depth=seen)
        pred_target = self.head.predict_target(pred, grid)
        gt_target = self.head.dense_target(inputs[1])
        if data_samples is None:
            data_samples = [DataSample() for _ in range(depth.shape[0])]
        for ds, d, t, g in zip(data_samples, depth, pred_target, gt_target):
            ds.set_field(d, 'pred_depth')
            ds.set_field(t, 'pred_target')
            ds.set_field(g, 'gt_target')
        return data_samples

    def forward(self,
                inputs: Union[torch.Tensor, List[torch.Tensor]],
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """Modes 'tensor' (backbone features), 'loss' and 'predict'."""
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)
