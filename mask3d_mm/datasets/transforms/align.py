"""Resize the color image onto the pixel grid of another modality of the same frame."""
import mmcv
from mmcv.transforms import BaseTransform

from mask3d_mm.registry import TRANSFORMS

__all__ = ['AlignImageTo', 'AlignColorToDepth']

REFERENCES = ('depth', 'gt_seg_map', 'annotation')


@TRANSFORMS.register_module()
class AlignImageTo(BaseTransform):
    """Resize ``img`` to the HxW of the frame's depth map, label map or annotations.

    Raw ScanNet color is 1296x968 while its depth, ``label/`` and ``instance/`` maps are
    640x480: resizing color onto that grid is the usual alignment (both cameras share roughly
    the same field of view). Put it right after the loader of the reference, before any joint
    crop / flip, so that those move aligned pixels.

    - ``reference='depth'``: ``results['depth']`` (after ``LoadDepthFromFile``);
    - ``'gt_seg_map'``: ``results['gt_seg_map']`` (after mmseg's ``LoadAnnotations``);
    - ``'annotation'``: ``results['height'], results['width']`` of the data info (a COCO image
      entry; before mmdet's ``LoadAnnotations``, so masks load at that size).

    Required Keys: img (HcxWcx3) and the reference.

    Modified Keys: img (HxWx3), img_shape, ori_shape (the reference's HxW, where predictions
    are pasted back and evaluated).

    Args:
        reference (str): 'depth', 'gt_seg_map' or 'annotation'. Defaults to 'depth'.
        interpolation (str): :func:`mmcv.imresize` interpolation. Defaults to 'bilinear'.
        max_aspect_change (float): largest relative aspect-ratio change allowed (ScanNet: 0.4%);
            more means image and reference do not belong together: ``ValueError`` naming the
            files. Defaults to 0.05.
        backend (str): :func:`mmcv.imresize` backend. Defaults to 'cv2'.
    """

    def __init__(self, reference: str = 'depth', interpolation: str = 'bilinear',
                 max_aspect_change: float = 0.05, backend: str = 'cv2') -> None:
        if reference not in REFERENCES:
            raise ValueError(f'reference must be one of {REFERENCES}, got {reference!r}')
        self.reference = reference
        self.interpolation = interpolation
        self.max_aspect_change = max_aspect_change
        self.backend = backend

    def _target_size(self, results: dict) -> tuple:
        if self.reference == 'annotation':
            return int(results['height']), int(results['width'])
        ref = results.get(self.reference)
        if ref is None:
            loader = 'LoadDepthFromFile' if self.reference == 'depth' else 'LoadAnnotations'
            raise KeyError(f'{type(self).__name__} needs results[{self.reference!r}] '
                           f'({results.get("img_path")}); put {loader} before it')
        return ref.shape[:2]

    def transform(self, results: dict) -> dict:
        h, w = self._target_size(results)
        ih, iw = results['img'].shape[:2]
        if (ih, iw) != (h, w):
            change = abs((iw / ih) / (w / h) - 1)
            if change > self.max_aspect_change:
                other = results.get('depth_path', results.get('seg_map_path', 'annotations'))
                raise ValueError(f'image {results.get("img_path")} is {iw}x{ih} but its '
                                 f'{self.reference} ({other}) is {w}x{h}: aspect ratios differ '
                                 f'by {change:.1%}')
            results['img'] = mmcv.imresize(results['img'], (w, h),
                                           interpolation=self.interpolation,
                                           backend=self.backend)
        results['img_shape'] = (h, w)
        results['ori_shape'] = (h, w)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(reference={self.reference!r}, '
                f'interpolation={self.interpolation!r}, '
                f'max_aspect_change={self.max_aspect_change})')


@TRANSFORMS.register_module()
class AlignColorToDepth(AlignImageTo):
    """:class:`AlignImageTo` with ``reference='depth'``: the pre-training pipelines' step."""

    def __init__(self, interpolation: str = 'bilinear', max_aspect_change: float = 0.05,
                 backend: str = 'cv2') -> None:
        super().__init__('depth', interpolation, max_aspect_change, backend)
