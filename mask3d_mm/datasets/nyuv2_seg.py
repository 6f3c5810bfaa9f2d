"""NYUv2 40-class semantic segmentation (the 795 / 654 labelled split)."""
from mmseg.datasets import BaseSegDataset

from mask3d_mm.registry import DATASETS
from .nyu40 import NYU40_CLASSES, NYU40_PALETTE


@DATASETS.register_module()
class NYUv2SegDataset(BaseSegDataset):
    """NYUv2 labelled set with the 40 NYU40 classes, as written by
    ``tools/dataset_converters/nyuv2_mat.py``::

        data_root/
            images/{train,test}/NNNN.png    (640x480 RGB)
            labels40/{train,test}/NNNN.png  (uint8, 0 = unlabelled, 1..40 NYU40 ids)
            depth/{train,test}/NNNN.png     (uint16 millimetres; not read here)

    ``reduce_zero_label=True``: label 0 -> 255 (ignored), ids 1..40 -> 0..39
    (``mask3d_mm.LoadSegLabels(num_classes=40)`` refuses maps with other ids, naming the file).
    Not mmseg's ``NYUDataset`` (depth estimation). Pick the split with ``data_prefix``, e.g.
    ``dict(img_path='images/test', seg_map_path='labels40/test')``.

    Args:
        **kwargs: arguments of ``BaseSegDataset``.
    """

    METAINFO = dict(classes=NYU40_CLASSES, palette=[list(c) for c in NYU40_PALETTE])

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = True,
                 data_prefix: dict = dict(img_path='images/train', seg_map_path='labels40/train'),
                 **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, data_prefix=data_prefix, **kwargs)
