"""The decoded depth map as the target of mmseg's depth estimation."""
from mmcv.transforms import BaseTransform

from mask3d_mm.registry import TRANSFORMS

__all__ = ['DepthToTarget']


@TRANSFORMS.register_module()
class DepthToTarget(BaseTransform):
    """Make the depth that ``mask3d_mm.LoadDepthFromFile`` decoded (float32 metres, in the
    encoding of the frame's source, with its checks) the target of mmseg's ``DepthEstimator``,
    where mmseg's ``LoadDepthAnnotation`` puts it: ``gt_depth_map``, listed in ``seg_fields``
    so that mmseg's geometric transforms (``Resize``, ``RandomCrop``, ``RandomFlip``) move it
    with the image. The depth file is decoded once: no ``LoadDepthAnnotation``, whose
    ``depth_rescale_factor`` would state the scale of one sensor for every source.

    ``depth`` is moved, not copied (a later transform cannot see a stale, untransformed map);
    ``depth_rescale_factor`` is 1 (the target is in metres), as mmseg's ``RandomDepthMix``
    reads it.

    Required Keys:

    - depth (np.ndarray): HxW float32 metres, 0 = invalid (``LoadDepthFromFile``)

    Modified Keys:

    - seg_fields (list): created when the dataset sets none (``RGBDFramesDataset`` readers)

    Added Keys:

    - gt_depth_map (np.ndarray): HxW float32 metres
    - depth_rescale_factor (float): 1.0

    Removed Keys:

    - depth
    """

    def transform(self, results: dict) -> dict:
        if 'depth' not in results:
            raise KeyError(
                f'DepthToTarget needs the depth decoded by mask3d_mm.LoadDepthFromFile before it '
                f'(frame {results.get("img_path", "?")}): put LoadDepthFromFile earlier in the '
                'pipeline')
        results['gt_depth_map'] = results.pop('depth')
        fields = results.setdefault('seg_fields', [])
        if 'gt_depth_map' not in fields:
            fields.append('gt_depth_map')
        results['depth_rescale_factor'] = 1.0
        return results
