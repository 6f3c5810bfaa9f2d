"""Packing of RGB-D samples."""
from typing import Sequence

import numpy as np
import torch
from mmpretrain.datasets.transforms import PackInputs

from mask3d_mm.registry import TRANSFORMS
from mask3d_mm.structures import grid_patch_size

__all__ = ['PackRGBDInputs']


@TRANSFORMS.register_module()
class PackRGBDInputs(PackInputs):
    """:class:`mmpretrain.datasets.PackInputs` that also converts the algorithm keys to tensors.

    MMPretrain's ``PackInputs`` stores ``algorithm_keys`` in the ``DataSample`` as they are
    (numpy arrays stay numpy, so they neither move to the device nor stack). This subclass
    stores numpy arrays as tensors: ``depth`` as a float32 HxW tensor, boolean masks as bool
    tensors, anything else with its dtype kept.

    Added Keys:

    - inputs (torch.Tensor): 3xHxW image (dtype of ``img``, uint8 BGR from mmcv loading)
    - data_samples (DataSample): ``depth`` (HxW float32 tensor, metres, 0 = invalid),
      ``rgb_mask`` / ``depth_mask`` ((H/p)x(W/p) bool tensors, True = masked) and meta keys

    Args:
        input_key (str): Key of the model input. Defaults to 'img'.
        algorithm_keys (Sequence[str]): Keys stored as data fields (tensors).
            Defaults to ('depth', 'rgb_mask', 'depth_mask').
        meta_keys (Sequence[str]): Keys stored as metainfo. Defaults to MMPretrain's defaults
            plus 'depth_path', 'depth_intrinsics' and 'crop_bbox'.
    """

    DEFAULT_META_KEYS = PackInputs.DEFAULT_META_KEYS + ('depth_path', 'depth_intrinsics',
                                                        'crop_bbox')

    def __init__(self,
                 input_key: str = 'img',
                 algorithm_keys: Sequence[str] = ('depth', 'rgb_mask', 'depth_mask'),
                 meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        super().__init__(input_key=input_key, algorithm_keys=tuple(algorithm_keys),
                         meta_keys=tuple(meta_keys))

    @staticmethod
    def to_tensor(key: str, value):
        """numpy -> tensor (depth as float32); other values are returned unchanged."""
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.ascontiguousarray(value))
        if key == 'depth' and isinstance(value, torch.Tensor):
            value = value.float()
        return value

    @staticmethod
    def check_contract(results: dict, image_size: tuple, name: str) -> None:
        """The RGB-D contract (:mod:`mask3d_mm.structures.depth_contract`) at the boundary of
        the pipeline: depth HxW as the image, patch masks bool grids tiling the image with
        square patches. Shapes and dtypes only (no scan of the values)."""
        depth = results.get('depth', None)
        if depth is not None and tuple(depth.shape) != image_size:
            raise ValueError(f'PackRGBDInputs: {name}: depth of shape {tuple(depth.shape)} '
                             f'does not match the image size {image_size} (HxW)')
        for key in ('rgb_mask', 'depth_mask'):
            mask = results.get(key, None)
            if mask is None:
                continue
            if mask.dtype not in (np.bool_, torch.bool) or mask.ndim != 2:
                raise TypeError(f'PackRGBDInputs: {name}: {key} must be a 2-D bool patch grid '
                                f'(True = masked), got {mask.dtype} {tuple(mask.shape)}')
            try:
                grid_patch_size(mask.shape, image_size)
            except ValueError as e:
                raise ValueError(f'PackRGBDInputs: {name}: {key}: {e}') from None

    def transform(self, results: dict) -> dict:
        img = results.get(self.input_key, None)
        if isinstance(img, (np.ndarray, torch.Tensor)) and img.ndim in (2, 3):
            name = results.get('depth_path', results.get('img_path', 'sample'))
            self.check_contract(results, tuple(img.shape[:2]), str(name))
        packed = super().transform(results)
        data_sample = packed['data_samples']
        for key in self.algorithm_keys:
            if key in data_sample:
                data_sample.set_field(self.to_tensor(key, data_sample.get(key)), key)
        return packed
