"""Monocular depth heads for mmseg's ``DepthEstimator``: mmseg decode heads that regress metres.

A plain ViT gives one 1/16 feature map per chosen block; mmseg's ``MultiLevelNeck`` turns four
of them into the 1/4 ... 1/32 pyramid that ``UPerHead`` reads. :class:`DepthUPerHead` is that
UperNet with a one-channel output ``min_depth + (max_depth - min_depth) * sigmoid(x)``
(metres) and a depth loss (mmseg's
``SiLogLoss`` by default); :class:`DepthFCNHead` is the FCN auxiliary head of the same recipe.
Everything else (features, ``predict`` resizing to the input, ``DepthEstimator``'s removal of
padding, flip and resize to ``ori_shape``) is mmseg's.
"""
import logging
from typing import Sequence, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmseg.models.decode_heads import FCNHead, UPerHead
from mmseg.models.utils import resize
from mmseg.utils import SampleList
from torch import Tensor

from mask3d_mm.registry import MODELS

__all__ = ['DepthRegressionMixin', 'DepthUPerHead', 'DepthFCNHead']


class DepthRegressionMixin:
    """Turns an mmseg ``BaseDecodeHead`` subclass into a depth regressor (put it first).

    - one output channel; ``cls_seg`` returns ``min_depth + (max_depth - min_depth) *
      sigmoid(logit)``, (B, 1, h, w) metres, always in [min_depth, max_depth] (a saturated
      sigmoid gives min_depth, never 0), so log-depth losses and metrics stay finite;
    - ``loss_by_feat`` upsamples the prediction (bilinear) to the ``gt_depth_map`` of the data
      samples (B, 1, H, W) and applies every loss of ``loss_decode`` to it. Target pixels outside
      (0, max_depth] are set to 0, which mmseg's depth losses ignore: holes, and the padding
      of ``SegDataPreProcessor`` (``seg_pad_val``, 255 unless a config sets 0) never become
      targets. A sample without any valid target pixel is left out of the loss (a warning names
      its files); a batch without any raises ``ValueError``.

    Args:
        max_depth (float): largest depth (metres) the head predicts and learns from.
            Defaults to 10.0 (indoor: NYUv2, ScanNet).
        loss_decode (dict | list[dict]): depth loss(es) taking ``(pred, target)`` of shape
            (B, 1, H, W) and ignoring target 0. Defaults to mmseg's ``SiLogLoss``.
        min_depth (float): smallest depth (metres) predicted. Defaults to 1e-3.
        **kwargs: arguments of the mmseg head (``in_channels``, ``channels``, ``in_index``, ...);
            ``num_classes``, ``out_channels`` and ``threshold`` are fixed here.
    """

    def __init__(self, max_depth: float = 10.0,
                 loss_decode: Union[dict, Sequence[dict]] = dict(type='SiLogLoss'),
                 min_depth: float = 1e-3, **kwargs) -> None:
        fixed = {'num_classes', 'out_channels', 'threshold'} & set(kwargs)
        if fixed:
            raise ValueError(f'{type(self).__name__} predicts one depth channel: do not set '
                             f'{sorted(fixed)}')
        if not 0 < min_depth < max_depth:
            raise ValueError(f'need 0 < min_depth < max_depth, got min_depth={min_depth}, '
                             f'max_depth={max_depth}')
        # threshold only serves binary segmentation; given so mmseg does not warn about it
        super().__init__(num_classes=1, out_channels=1, threshold=0.5, loss_decode=loss_decode,
                         **kwargs)
        self.min_depth, self.max_depth = float(min_depth), float(max_depth)

    def cls_seg(self, feat: Tensor) -> Tensor:
        """(B, channels, h, w) features -> (B, 1, h, w) depth in metres."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        span = self.max_depth - self.min_depth
        return self.min_depth + span * torch.sigmoid(self.conv_seg(feat))

    def _valid_target(self, batch_data_samples: SampleList) -> Tensor:
        """(B, 1, H, W) ground-truth depth, 0 where it is no target."""
        gt = torch.stack([s.gt_depth_map.data for s in batch_data_samples]).float()
        return torch.where((gt > 0) & (gt <= self.max_depth), gt, torch.zeros_like(gt))

    def loss_by_feat(self, seg_logits: Tensor, batch_data_samples: SampleList) -> dict:
        """Depth losses of the (B, 1, h, w) prediction against ``gt_depth_map``.

        Returns:
            dict[str, Tensor]: one entry per loss of ``loss_decode`` (its ``loss_name``).
        """
        gt = self._valid_target(batch_data_samples)
        pred = resize(seg_logits, size=gt.shape[2:], mode='bilinear',
                      align_corners=self.align_corners)
        keep = (gt > 0).flatten(1).any(1)
        if not keep.all():
            # mmseg's key (NYUDataset), the RGB-D readers' key, else the colour image
            files = [s.metainfo.get('depth_map_path', s.metainfo.get(
                         'depth_path', s.metainfo.get('img_path', '?')))
                     for s, k in zip(batch_data_samples, keep.tolist()) if not k]
            if not keep.any():
                raise ValueError(f'{type(self).__name__}: no sample of the batch has a valid '
                                 f'target pixel (0 < depth <= {self.max_depth} m) after the '
                                 f'pipeline: {files}')
            print_log(f'{type(self).__name__}: {len(files)} sample(s) without a valid target '
                      f'pixel left out of the loss: {files}', logger='current',
                      level=logging.WARNING)
            gt, pred = gt[keep], pred[keep]
        losses = self.loss_decode if isinstance(self.loss_decode, nn.ModuleList) else [
            self.loss_decode]
        out: dict = {}
        for loss in losses:
            value = loss(pred, gt)
            out[loss.loss_name] = out[loss.loss_name] + value if loss.loss_name in out else value
        return out


@MODELS.register_module()
class DepthUPerHead(DepthRegressionMixin, UPerHead):
    """UperNet (mmseg ``UPerHead``) predicting depth: ``inputs`` a list of 4 maps
    (B, C_i, H/4 ... H/32, W/4 ... W/32) -> (B, 1, H/4, W/4) metres. See
    :class:`DepthRegressionMixin` for ``max_depth`` and the loss."""


@MODELS.register_module()
class DepthFCNHead(DepthRegressionMixin, FCNHead):
    """FCN (mmseg ``FCNHead``) predicting depth from the map ``in_index`` (B, C, h, w) ->
    (B, 1, h, w) metres; the auxiliary head of the UperNet recipe. See
    :class:`DepthRegressionMixin`."""
