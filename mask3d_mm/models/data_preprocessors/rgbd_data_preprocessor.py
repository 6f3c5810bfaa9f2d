"""Data preprocessor for RGB-D pre-training."""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmpretrain.models.utils.data_preprocessor import SelfSupDataPreprocessor

from mask3d_mm.registry import MODELS
from mask3d_mm.structures import sample_name

__all__ = ['RGBDDataPreprocessor']


@MODELS.register_module()
class RGBDDataPreprocessor(SelfSupDataPreprocessor):
    """Normalise the color batch and stack the depth maps of the data samples.

    The color image goes through :class:`mmpretrain.models.SelfSupDataPreprocessor`
    (to device, optional BGR->RGB, float, ``(x - mean) / std``). The depth of every data sample
    (``data_sample.depth``, HxW or 1xHxW, metres, 0 = invalid, as packed by
    ``mask3d_mm.PackRGBDInputs``) is stacked into a Bx1xHxW float32 tensor and moved to the
    same device; the data samples themselves stay where the data loader put them (the CPU).
    Depth is already in metres: the one scale from file values to metres is
    ``mask3d_mm.LoadDepthFromFile``'s ``depth_scale``. Patch masks stay in the data samples
    (the model stacks and checks them).

    Works with ``default_collate`` (inputs: a Bx3xHxW tensor) and ``pseudo_collate`` (inputs: a
    list of 3xHxW tensors, stacked here).

    Non-finite values (NaN, inf) in the color or in the depth raise a ``ValueError`` naming
    the samples' files: a NaN in a visible color patch would make the loss NaN, and a NaN depth
    would be silently taken as invalid (invalid depth is 0). The checks run on the batch as the
    data loader hands it over (on the CPU), before it moves to the device, so they cost no
    device synchronisation; integer images are finite by type and are not scanned.

    Args:
        mean (Sequence[float], optional): Per-channel color mean. Defaults to None.
        std (Sequence[float], optional): Per-channel color std, > 0. Defaults to None.
        check_finite (bool): Reject non-finite color / depth values. Defaults to True.
        **kwargs: Other arguments of ``SelfSupDataPreprocessor`` (``to_rgb``,
            ``pad_size_divisor``, ``non_blocking``, ...).

    Returns (of :meth:`forward`):
        dict: ``inputs=[rgb, depth]`` with ``rgb`` Bx3xHxW float32 normalised and ``depth``
        Bx1xHxW float32 metres, and ``data_samples``.
    """

    def __init__(self,
                 mean: Optional[Sequence[Union[float, int]]] = None,
                 std: Optional[Sequence[Union[float, int]]] = None,
                 check_finite: bool = True,
                 **kwargs) -> None:
        if 'depth_scale' in kwargs:
            raise TypeError(
                'RGBDDataPreprocessor has no depth_scale any more: depth reaches it in metres. '
                'Set the file-value-to-metres scale in the pipeline, '
                "dict(type='mask3d_mm.LoadDepthFromFile', depth_scale=...), and remove "
                f"depth_scale={kwargs['depth_scale']!r} from model.data_preprocessor.")
        if std is not None and not all(float(v) > 0 for v in std):
            raise ValueError(f'RGBDDataPreprocessor: std must be > 0, got {list(std)}')
        super().__init__(mean=mean, std=std, **kwargs)
        self.check_finite = check_finite

    @staticmethod
    @torch.compiler.disable
    def _check_finite(x: torch.Tensor, name: str, data_samples: List) -> None:
        """Raise a ``ValueError`` naming the samples of ``x`` (B, ...) with NaN or inf.

        A host check of the loader's tensors: eager under ``torch.compile`` (``compile=True``
        compiles ``train_step``, this preprocessor included).
        """
        if bool(torch.isfinite(x).all()):
            return
        bad = (~torch.isfinite(x)).flatten(1).any(1).nonzero().flatten().tolist()
        names = '; '.join(sample_name(data_samples[i], i) for i in bad)
        raise ValueError(f'RGBDDataPreprocessor: non-finite (NaN or inf) {name} in {names}. '
                         'Fix or exclude these files; mark invalid depth with 0, not NaN.')

    def stack_depth(self, data_samples: List, size: torch.Size) -> torch.Tensor:
        """Bx1xHxW float32 depth from ``data_sample.depth`` (where they are, usually the CPU);
        checks each matches ``size``."""
        depths = []
        for i, sample in enumerate(data_samples):
            depth = sample.get('depth', None) if hasattr(sample, 'get') else None
            if depth is None:
                raise KeyError(
                    f'RGBDDataPreprocessor: {sample_name(sample, i)} has no depth; pack it with '
                    "mask3d_mm.PackRGBDInputs(algorithm_keys=['depth', ...]).")
            if isinstance(depth, np.ndarray):
                depth = torch.from_numpy(np.ascontiguousarray(depth))
            if depth.dim() == 3 and depth.shape[0] == 1:
                depth = depth[0]
            if depth.dim() != 2 or tuple(depth.shape) != tuple(size):
                raise ValueError(
                    f'RGBDDataPreprocessor: {sample_name(sample, i)}: depth of shape '
                    f'{tuple(depth.shape)} does not match the image size {tuple(size)} (HxW).')
            depths.append(depth.float())
        return torch.stack(depths)[:, None]

    def forward(self, data: dict, training: bool = False) -> dict:
        """Color normalisation + depth stacking.

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
        depth = self.stack_depth(data_samples, inputs.shape[-2:])
        if self.check_finite:  # before the move: no device sync
            if inputs.is_floating_point():
                self._check_finite(inputs, 'color', data_samples)
            self._check_finite(depth, 'depth', data_samples)
        # only the color goes through the parent (to device, normalised); the data samples
        # stay where the loader left them, so the model reads their masks without a device sync
        rgb = super().forward(dict(inputs=inputs, data_samples=None), training)['inputs']
        depth = depth.to(rgb.device, non_blocking=self._non_blocking)
        return dict(inputs=[rgb, depth], data_samples=data_samples)
