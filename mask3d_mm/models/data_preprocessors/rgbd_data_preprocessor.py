"""Data preprocessor for RGB-D pre-training."""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmpretrain.models.utils.data_preprocessor import SelfSupDataPreprocessor

from mask3d_mm.registry import MODELS

__all__ = ['RGBDDataPreprocessor']


def _sample_name(sample, index: int) -> str:
    """Names a sample in error messages by its files."""
    meta = getattr(sample, 'metainfo', {}) or {}
    names = [f'{k}={meta[k]!r}' for k in ('img_path', 'depth_path') if k in meta]
    return f'sample {index} (' + (', '.join(names) if names else 'no img_path') + ')'


@MODELS.register_module()
class RGBDDataPreprocessor(SelfSupDataPreprocessor):
    """Normalise the colour batch and stack the depth maps of the data samples.

    The colour image goes through :class:`mmpretrain.models.SelfSupDataPreprocessor`
    (to device, optional BGR->RGB, float, ``(x - mean) / std``). The depth of every data sample
    (``data_sample.depth``, HxW or 1xHxW, metres, 0 = invalid, as packed by
    ``PackInputs(algorithm_keys=['depth', ...])``) is stacked into a Bx1xHxW float32 tensor on
    the same device and divided by ``depth_scale``; invalid depth stays 0. Patch masks stay in
    the data samples (the model stacks them).

    Works with ``default_collate`` (inputs: a Bx3xHxW tensor) and ``pseudo_collate`` (inputs: a
    list of 3xHxW tensors, stacked here).

    Non-finite values (NaN, inf) in the normalised colour or in the depth raise a
    ``ValueError`` naming the samples' files: a NaN in a visible colour patch would make the loss
    NaN, and a NaN depth would be silently taken as invalid (invalid depth is 0).

    Args:
        mean (Sequence[float], optional): Per-channel colour mean. Defaults to None.
        std (Sequence[float], optional): Per-channel colour std. Defaults to None.
        depth_scale (float): Depth is divided by it (1.0 keeps metres). Defaults to 1.0.
        check_finite (bool): Reject non-finite colour / depth values. Costs two reductions per
            batch (and a host sync on GPU). Defaults to True.
        **kwargs: Other arguments of ``SelfSupDataPreprocessor`` (``to_rgb``,
            ``pad_size_divisor``, ``non_blocking``, ...).

    Returns (of :meth:`forward`):
        dict: ``inputs=[rgb, depth]`` with ``rgb`` Bx3xHxW float32 normalised and ``depth``
        Bx1xHxW float32, and ``data_samples``.
    """

    def __init__(self,
                 mean: Optional[Sequence[Union[float, int]]] = None,
                 std: Optional[Sequence[Union[float, int]]] = None,
                 depth_scale: float = 1.0,
                 check_finite: bool = True,
                 **kwargs) -> None:
        super().__init__(mean=mean, std=std, **kwargs)
        if not depth_scale > 0:
            raise ValueError(f'depth_scale must be > 0, got {depth_scale}')
        self.depth_scale = float(depth_scale)
        self.check_finite = check_finite

    @staticmethod
    def _check_finite(x: torch.Tensor, name: str, data_samples: List) -> None:
        """Raise a ``ValueError`` naming the samples of ``x`` (B, ...) with NaN or inf."""
        if bool(torch.isfinite(x).all()):
            return
        bad = (~torch.isfinite(x)).flatten(1).any(1).nonzero().flatten().tolist()
        names = '; '.join(_sample_name(data_samples[i], i) for i in bad)
        raise ValueError(f'RGBDDataPreprocessor: non-finite (NaN or inf) {name} in {names}. '
                         'Fix or exclude these files; mark invalid depth with 0, not NaN.')

    def stack_depth(self, data_samples: List, size: torch.Size,
                    device: torch.device) -> torch.Tensor:
        """Bx1xHxW float32 depth from ``data_sample.depth``; checks it matches ``size``."""
        depths = []
        for i, sample in enumerate(data_samples):
            depth = sample.get('depth', None) if hasattr(sample, 'get') else None
            if depth is None:
                raise KeyError(
                    f'RGBDDataPreprocessor: {_sample_name(sample, i)} has no depth; pack it with '
                    "PackInputs(algorithm_keys=['depth', ...]).")
            if isinstance(depth, np.ndarray):
                depth = torch.from_numpy(np.ascontiguousarray(depth))
            depth = depth.to(device=device, dtype=torch.float32,
                             non_blocking=self._non_blocking)
            if depth.dim() == 3 and depth.shape[0] == 1:
                depth = depth[0]
            if depth.dim() != 2 or tuple(depth.shape) != tuple(size):
                raise ValueError(
                    f'RGBDDataPreprocessor: {_sample_name(sample, i)}: depth of shape '
                    f'{tuple(depth.shape)} does not match the image size {tuple(size)} (HxW).')
            depths.append(depth)
        depth = torch.stack(depths)[:, None]
        if self.depth_scale != 1.0:
            depth = depth / self.depth_scale
        return depth

    def forward(self, data: dict, training: bool = False) -> dict:
        """Colour normalisation + depth stacking.

        Args:
            data (dict): ``inputs`` (Bx3xHxW uint8 tensor or list of 3xHxW tensors) and
                ``data_samples`` (list of DataSample with ``depth``).
            training (bool): Unused. Defaults to False.

        Returns:
            dict: ``inputs=[rgb (Bx3xHxW), depth (Bx1xHxW)]`` and ``data_samples``.
        """
        data_samples = data.get('data_samples', None)
        if not data_samples:
            raise KeyError('RGBDDataPreprocessor needs data_samples carrying the depth maps.')
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)) and all(
                isinstance(x, torch.Tensor) and x.dim() == 3 for x in inputs):
            inputs = torch.stack(list(inputs))  # pseudo_collate
        out = super().forward(dict(inputs=inputs, data_samples=data_samples), training)
        rgb, data_samples = out['inputs'], out['data_samples']
        depth = self.stack_depth(data_samples, rgb.shape[-2:], rgb.device)
        if self.check_finite:
            self._check_finite(rgb, 'colour', data_samples)
            self._check_finite(depth, 'depth', data_samples)
        return dict(inputs=[rgb, depth], data_samples=data_samples)
