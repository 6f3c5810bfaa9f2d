"""ScanNet 2D instance segmentation in COCO format (mmdet)."""
from mmdet.datasets import CocoDataset

from mask3d_mm.registry import DATASETS
from .nyu40 import SCANNET_INSTANCE_CLASSES, SCANNET_INSTANCE_PALETTE

__all__ = ['ScanNetInstanceDataset']


@DATASETS.register_module()
class ScanNetInstanceDataset(CocoDataset):
    """ScanNet frames with the 18 instance classes (ScanNet-20 without wall and floor).

    Reads the json of :func:`mask3d_mm.converters.scannet_to_coco.scannet_to_coco` (category ids
    are NYU40 ids, matched to the classes by name). Image ``width``/``height`` are the
    annotation size, which may differ from the colour jpg's: start pipelines with
    ``LoadImageFromFile`` then ``mask3d_mm.AlignImageTo(reference='annotation')``. Use
    ``data_root`` = the ScanNet frames root and ``data_prefix=dict(img='')``.
    """

    METAINFO = dict(classes=SCANNET_INSTANCE_CLASSES, palette=list(SCANNET_INSTANCE_PALETTE))
