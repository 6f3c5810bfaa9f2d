"""ScanNet 2D semantic segmentation (20 benchmark classes) read from the frames layout."""
from typing import Dict, List, Optional, Sequence

from mmseg.datasets import BaseSegDataset

from mask3d_mm.registry import DATASETS
from .nyu40 import SCANNET20_CLASSES, SCANNET20_PALETTE, scannet20_label_map
from .scannet_layout import MODALITIES, ScanNetLayout


@DATASETS.register_module()
class ScanNetSegDataset(BaseSegDataset):
    """ScanNet frames (``sceneXXXX_XX/color/*.jpg`` + ``label/*.png``) for 20-class semseg.

    Reads the ``scannet_frames_25k`` layout in place (no copy, no conversion): scenes and
    frames are discovered as by :class:`ScanNetRGBDDataset`, through
    :class:`~mask3d_mm.datasets.scannet_layout.ScanNetLayout` (scene list file or ``scenes``,
    numeric frame order, ``frame_skip``). A frame needs ``color`` and ``label``; ``depth_path``
    is added when the frame has one.

    Labels are NYU40 ids (0 = unlabelled). The mapping to the 20 benchmark classes (wall 1 -> 0,
    ..., otherfurniture 39 -> 19, all other ids -> 255) is this dataset's ``label_map``, which
    mmseg's ``LoadAnnotations`` applies to every map, so the standard mmseg pipelines work
    unchanged. A ``metainfo=dict(classes=...)`` subset of the 20 classes composes with it.
    ``mask3d_mm.LoadSegLabels`` (the shipped configs' loader) does the same and refuses, naming
    the file, maps that mmseg's uint8 cast would misread (raw uint16 ids) or holding ids
    outside the label map.

    Raw ScanNet color is 1296x968 while labels are 640x480: put ``mask3d_mm.AlignImageTo``
    (``reference='gt_seg_map'``) after ``LoadAnnotations`` in training pipelines; for
    evaluation use ``mask3d_mm.ScanNetIoUMetric``, which compares prediction and label at
    640x480 as the official benchmark does.

    Args:
        data_root (str): folder of the scene folders.
        ann_file (str): scene list, one name per line (e.g. ``scannetv2_train.txt``), relative
            to ``data_root``; empty: ``scenes`` or every scene folder. Defaults to ''.
        scenes (Sequence[str], optional): scene names instead of ``ann_file``.
        frame_skip (int): keep every N-th frame of each scene. Defaults to 1.
        skip_incomplete (bool): skip frames without a label instead of raising.
            Defaults to False.
        suffixes (dict, optional): file suffixes, e.g. ``dict(color='.png')``.
        backend_args (dict, optional): file backend arguments.
        **kwargs: other arguments of ``BaseSegDataset`` (``pipeline``, ``metainfo``,
            ``test_mode``, ``indices``, ...).
    """

    METAINFO = dict(classes=SCANNET20_CLASSES, palette=[list(c) for c in SCANNET20_PALETTE])

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 scenes: Optional[Sequence[str]] = None,
                 frame_skip: int = 1,
                 skip_incomplete: bool = False,
                 suffixes: Optional[Dict[str, str]] = None,
                 backend_args: Optional[dict] = None,
                 **kwargs) -> None:
        if ann_file and scenes is not None:
            raise ValueError('give either ann_file or scenes, not both')
        if not isinstance(frame_skip, int) or frame_skip < 1:
            raise ValueError(f'frame_skip must be a positive int, got {frame_skip!r}')
        self.layout = ScanNetLayout(data_root, suffixes, backend_args)
        self.scenes = list(scenes) if scenes is not None else None
        self.frame_skip = frame_skip
        self.skip_incomplete = skip_incomplete
        suffixes = suffixes or {}
        super().__init__(ann_file=ann_file, data_root=data_root,
                         img_suffix=suffixes.get('color', '.jpg'),
                         seg_map_suffix=suffixes.get('label', '.png'),
                         reduce_zero_label=False, backend_args=backend_args, **kwargs)

    def _nyu40_label_map(self) -> Dict[int, int]:
        """NYU40 id -> train id of this dataset's classes (a subset when metainfo says so)."""
        subset = self.get_label_map(self._metainfo.get('classes'))  # 20-class id -> new id
        base = scannet20_label_map(self.ignore_index)
        if subset is None:
            return base
        return {nyu: subset.get(t, self.ignore_index) for nyu, t in base.items()}

    def load_data_list(self) -> List[dict]:
        """One data info per kept frame with ``img_path``, ``seg_map_path``, ``label_map``
        (NYU40 -> train ids), ``scene``, ``frame_id`` and, when present, ``depth_path``."""
        layout = self.layout
        frames = layout.scan(layout.scene_names(self.ann_file, self.scenes),
                             required=('color', 'label'), optional=('depth', ),
                             frame_skip=self.frame_skip, skip_incomplete=self.skip_incomplete,
                             owner=self.__class__.__name__)
        self.label_map = self._nyu40_label_map()
        self._metainfo['label_map'] = self.label_map
        data_list = []
        for frame in frames:
            paths = {MODALITIES[m][2]: path for m, path in frame['files'].items()}
            data_list.append(dict(paths, scene=frame['scene'], frame_id=frame['frame_id'],
                                  label_map=self.label_map, reduce_zero_label=False,
                                  seg_fields=[]))
        return data_list
