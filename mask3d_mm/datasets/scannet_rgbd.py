"""ScanNet RGB-D frames for self-supervised pre-training."""
from typing import Dict, List, Optional, Sequence

from mask3d_mm.registry import DATASETS
from .rgbd_frames import RGBDFramesDataset
from .scannet_layout import INTRINSICS_REQUIRED, MODALITIES, ScanNetLayout, read_matrix


@DATASETS.register_module()
class ScanNetRGBDDataset(RGBDFramesDataset):
    """ScanNet RGB-D frames in the ``scannet_frames_25k`` or ScanNet ``SensReader`` layout.

    ::

        data_root/
            scene0000_00/
                color/000000.jpg     (color, e.g. 1296x968 or 640x480)
                depth/000000.png     (uint16 millimetres, 640x480)
                label/000000.png     (optional, NYU40 ids)
                instance/000000.png  (optional)
                pose/000000.txt      (optional, 4x4 camera-to-world)
                intrinsics_color.txt (4x4 or 3x3)
                intrinsics_depth.txt (4x4 or 3x3)

    Frames exported by ``tools/dataset_converters/export_sens.py`` use the same layout. ScanNet's
    official exporter (``SensReader/python/reader.py``) writes unpadded names (``color/0.jpg``,
    ``depth/0.png``, ``pose/0.txt``) and ``intrinsic/intrinsic_{color,depth}.txt``,
    ``intrinsic/extrinsic_{color,depth}.txt``: read as well. The frames of a scene are the
    union of the file names found in the folders of the required modalities, sorted
    numerically (``10`` after ``9``); ``frame_skip`` keeps every N-th of them.

    Each data info holds ``img_path``, ``depth_path``, ``scene``, ``frame_id``,
    ``depth_intrinsics`` and ``color_intrinsics`` (3x3 float32, when the scene has the files;
    as written, i.e. possibly for another image size: ``AlignColorToDepth`` scales them to the
    images read), ``color_extrinsics`` / ``depth_extrinsics`` (4x4, SensReader layout) and,
    when the frame has them, ``seg_map_path``, ``instance_path`` and ``pose`` (4x4 float32
    camera-to-world; ScanNet writes ``-inf`` for frames where tracking failed, kept as is);
    and, as every :class:`~mask3d_mm.datasets.RGBDFramesDataset`, ``depth_encoding``
    (``'scannet'``: uint16 millimetres) and ``source`` (``'scannet'``). Frames of another
    sensor put in this layout: set ``encoding=`` here (e.g. ``'tum'``), not in the pipeline.

    Args:
        data_root (str): folder holding the scene folders.
        ann_file (str): optional scene list, one scene name per line (e.g. ScanNet's
            ``scannetv2_train.txt``); relative paths are joined to ``data_root``. Empty: use
            ``scenes`` or discover every scene folder (sorted). Defaults to ''.
        scenes (Sequence[str], optional): scene names, instead of ``ann_file``. Defaults to None.
        frame_skip (int): keep every ``frame_skip``-th frame of each scene. Defaults to 1.
        required (Sequence[str]): modalities a frame must have, from 'color', 'depth',
            'label', 'instance', 'pose', 'intrinsics' (both cameras' intrinsics files),
            'color_intrinsics', 'depth_intrinsics' (one of them; e.g. the normals target needs
            the depth camera's). Optional modalities are added when present. A scene lacking
            required intrinsics fails at build, naming the scene and the files looked for;
            so does one lacking the intrinsics a pipeline transform requires
            (``AlignColorToDepth(use_intrinsics='require')``). Defaults to ('color', 'depth').
        skip_incomplete (bool): skip frames lacking a required file (the count is logged)
            instead of raising ``FileNotFoundError``. Defaults to False.
        skip_bad_frames (bool): training only. A frame whose files a loading transform
            (``LoadImageFromFile``, ``LoadAnnotations``, ``LoadDepthFromFile``) rejects (missing,
            corrupt, 8-bit depth, color/depth aspect mismatch, no valid depth, ...) is replaced
            by another random frame (mmengine's refetch) and logged as a warning naming the file,
            the reason and the running count of this process, instead of stopping the run.
            Defaults to False (fail fast).
        suffixes (dict, optional): overrides of the file suffix per modality, e.g.
            ``dict(color='.png')``. Defaults to None.
        backend_args (dict, optional): file backend arguments (see :mod:`mmengine.fileio`).
        encoding (str, optional): the depth encoding of the frames. None: ``'scannet'``.
        source (str, optional): the source name of the frames. None: ``'scannet'``.
        **kwargs: other arguments of :class:`mmengine.dataset.BaseDataset` (``metainfo``,
            ``pipeline``, ``test_mode``, ``lazy_init``, ``indices``, ...).
    """

    METAINFO: dict = dict(dataset_name='ScanNet RGB-D frames')
    DEPTH_ENCODING = 'scannet'
    SOURCE = 'scannet'
    LAYOUT = ('scene folders like scene0000_00/color/000000.jpg and '
              'scene0000_00/depth/000000.png (ScanNet frames layout)')
    _SCAN_APPLIES_FRAME_SKIP = True

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 scenes: Optional[Sequence[str]] = None,
                 frame_skip: int = 1,
                 required: Sequence[str] = ('color', 'depth'),
                 skip_incomplete: bool = False,
                 skip_bad_frames: bool = False,
                 suffixes: Optional[Dict[str, str]] = None,
                 backend_args: Optional[dict] = None,
                 encoding: Optional[str] = None,
                 source: Optional[str] = None,
                 **kwargs) -> None:
        if not data_root:
            raise ValueError('ScanNetRGBDDataset needs a data_root')
        if ann_file and scenes is not None:
            raise ValueError('give either ann_file or scenes, not both')
        if not isinstance(frame_skip, int) or frame_skip < 1:
            raise ValueError(f'frame_skip must be a positive int, got {frame_skip!r}')
        required = tuple(required)
        known = set(MODALITIES) | set(INTRINSICS_REQUIRED)
        unknown = set(required) - known
        if unknown:
            raise ValueError(f'unknown required modalities {sorted(unknown)}; '
                             f'choose from {sorted(known)}')
        if 'color' not in required or 'depth' not in required:
            raise ValueError(f"required must contain 'color' and 'depth', got {required}")
        self.scenes = list(scenes) if scenes is not None else None
        self.required = required
        self.layout = ScanNetLayout(data_root, suffixes, backend_args)
        self.suffixes = self.layout.suffixes
        super().__init__(data_root=data_root, ann_file=ann_file, frame_skip=frame_skip,
                         encoding=encoding, source=source, skip_incomplete=skip_incomplete,
                         skip_bad_frames=skip_bad_frames, backend_args=backend_args, **kwargs)

    # ---- helpers -------------------------------------------------------------------------------
    def _needed_intrinsics(self) -> Dict[str, str]:
        """Camera ('color' / 'depth') -> who needs its intrinsics (``required`` or a pipeline
        transform with ``required_intrinsics``)."""
        needed = {}
        for key in self.required:
            for cam in INTRINSICS_REQUIRED.get(key, ()):
                needed[cam] = f'required={self.required}'
        for t in getattr(getattr(self, 'pipeline', None), 'transforms', []):
            for cam in getattr(t, 'required_intrinsics', ()):
                needed.setdefault(cam, f"the pipeline's {t!r}")
        return needed

    # ---- RGBDFramesDataset API ----------------------------------------------------------------
    def scan(self) -> List[dict]:
        """Scan the scene folders (see :class:`~mask3d_mm.datasets.scannet_layout.ScanNetLayout`);
        ``frame_skip`` is applied here, per scene, before frames are checked for their files.

        Returns:
            list[dict]: one frame per kept frame.
        """
        layout = self.layout
        scenes = layout.scene_names(self.ann_file, self.scenes)
        needed = self._needed_intrinsics()
        cameras = {scene: layout.read_cameras(scene, needed) for scene in scenes}
        optional = [m for m in MODALITIES if m not in self.required]
        frames = layout.scan(scenes, self.required, optional, self.frame_skip,
                             self.skip_incomplete, owner=self.__class__.__name__)
        data_list = []
        for frame in frames:
            info = dict(scene=frame['scene'], frame_id=frame['frame_id'])
            for m, path in frame['files'].items():
                if m == 'pose':
                    path = read_matrix(path, backend_args=self.backend_args)
                info[MODALITIES[m][2]] = path
            info.update(cameras[frame['scene']])
            data_list.append(info)
        return data_list

    def _repr_fields(self) -> List[str]:
        return [f'Scene list: {self.ann_file or self.scenes or "all scene folders"}',
                *super()._repr_fields(), f'Required modalities: {self.required}']
