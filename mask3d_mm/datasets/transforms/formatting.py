"""Packing of RGB-D samples."""
from typing import Sequence

import numpy as np
import torch
from mmpretrain.datasets.transforms import PackInputs

from mask3d_mm.registry import TRANSFORMS

__all__ = ['PackRGBDInputs']


@TRANSFORMS.register_module()
class PackRGBDInputs(PackInputs):
    """:class:`mmpretrain.datasets.PackInputs` that also converts the algorithm keys to tensors.

    MMPretrain's ``PackInputs`` stores ``algorithm_keys`` in the ``DataSample`` as they are
    (numpy arrays stay numpy, so they neither move to the device nor stack). This subclass
    stores numpy arrays as tensors: ``depth`` as a float32 HxW tensor, boolean masks as bool
    tensors, anything else with its dtype kept.

    Shapes are not checked here: the depth size where the data preprocessor stacks it against
    the image, the masks where :class:`Mask3D` stacks them against its patch grid, each naming
    the sample's files (docs/design.md).

    Added Keys:

    - inputs (torch.Tensor): 3xHxW image (dtype of ``img``, uint8 BGR from mmcv loading)
    - data_samples (DataSample): ``depth`` (HxW float32 tensor, metres, 0 = invalid),
      ``rgb_mask`` / ``depth_mask`` ((H/p)x(W/p) bool tensors, True = masked) and meta keys

    Args:
        input_key (str): Key of the model input. Defaults to 'img'.
        algorithm_keys (Sequence[str]): Keys stored as data fields (tensors).
            Defaults to ('depth', 'rgb_mask', 'depth_mask').
        meta_keys (Sequence[str]): Keys stored as metainfo. Defaults to MMPretrain's defaults
            plus 'depth_path', 'depth_intrinsics', 'crop_bbox' and 'source' (the frame's
            corpus, counted by ``mask3d_mm.SourceCountHook``).
    """

    DEFAULT_META_KEYS = PackInputs.DEFAULT_META_KEYS + ('depth_path', 'depth_intrinsics',
                                                        'crop_bbox', 'source')

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

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        data_sample = packed['data_samples']
        for key in self.algorithm_keys:
            if key in data_sample:
                data_sample.set_field(self.to_tensor(key, data_sample.get(key)), key)
        return packed
