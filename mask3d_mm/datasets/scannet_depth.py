"""ScanNet frames for monocular depth estimation with mmseg's ``DepthEstimator``."""
from typing import List

from mask3d_mm.registry import DATASETS
from .scannet_rgbd import ScanNetRGBDDataset


@DATASETS.register_module()
class ScanNetDepthDataset(ScanNetRGBDDataset):
    """ScanNet frames (``sceneXXXX_XX/color/*.jpg`` + ``depth/*.png``) as depth-estimation
    samples: the colour image is the input, the depth map the target.

    mmseg's ``NYUDataset`` pairs ``images/X.jpg`` with ``annotations/X.png``; ScanNet keeps
    colour and depth in sibling folders of each scene and splits by scene lists, which is
    :class:`ScanNetRGBDDataset`'s scanning (scene list / ``scenes``, numeric frame order,
    ``frame_skip``, camera intrinsics). This subclass only adds to each data info mmseg's keys:
    ``depth_map_path`` (the frame's depth file, named in mmseg's metainfo and the depth heads'
    warnings) and an empty ``seg_fields``.

    A pipeline (see ``configs/benchmarks/depth/``): ``LoadImageFromFile``,
    ``mask3d_mm.LoadDepthFromFile`` (the one decode of the depth file, in the frame's encoding,
    with its checks), ``mask3d_mm.AlignImageTo`` (colour onto the 640x480 depth grid, through
    the intrinsics; sets ``ori_shape`` to it, so predictions are evaluated at the depth
    resolution), ``mask3d_mm.DepthToTarget`` (the decoded metres as mmseg's ``gt_depth_map``)
    and mmseg's transforms. ``DepthToTarget`` needs no ``seg_fields`` from the dataset, so the
    same pipeline runs on any :class:`~mask3d_mm.datasets.RGBDFramesDataset` reader (e.g.
    ``configs/benchmarks/depth/upernet-depth_vit-b_mask3d_frames-240x320.py``).

    Args:
        **kwargs: the arguments of :class:`ScanNetRGBDDataset` (``data_root``, ``ann_file``,
            ``scenes``, ``frame_skip``, ``pipeline``, ``test_mode``, ...); ``required`` must
            include 'color' and 'depth'.
    """

    METAINFO: dict = dict(dataset_name='ScanNet depth estimation')

    def __init__(self, **kwargs) -> None:
        required = kwargs.get('required', ('color', 'depth'))
        if not {'color', 'depth'} <= set(required):
            raise ValueError(f"{type(self).__name__} needs required to include 'color' and "
                             f"'depth', got {tuple(required)}")
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        """The data infos of :class:`ScanNetRGBDDataset` plus ``depth_map_path`` and
        ``seg_fields``."""
        data_list = super().load_data_list()
        for info in data_list:
            info.update(depth_map_path=info['depth_path'], seg_fields=[])
        return data_list
