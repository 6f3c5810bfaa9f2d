"""ScanNet RGB-D frames for self-supervised pre-training."""
from typing import Any, Dict, List, Optional, Sequence

import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadAnnotations, LoadImageFromFile
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger

from mask3d_mm.registry import DATASETS
from .transforms.loading import LoadDepthFromFile

# transforms that read a frame's files: what ``skip_bad_frames`` may skip
_FILE_LOADERS = (LoadImageFromFile, LoadAnnotations, LoadDepthFromFile)

# modality -> (folder, default suffix, data info key)
_MODALITIES = {
    'color': ('color', '.jpg', 'img_path'),
    'depth': ('depth', '.png', 'depth_path'),
    'label': ('label', '.png', 'seg_map_path'),
    'instance': ('instance', '.png', 'instance_path'),
    'pose': ('pose', '.txt', 'pose'),
}


# where a scene's camera files are looked for, in order (relative to the scene folder):
# scannet_frames_25k and tools/dataset_converters/export_sens.py, then ScanNet's SensReader
_INTRINSICS_FILES = {
    cam: ((f'intrinsics_{cam}.txt', ), ('intrinsic', f'intrinsic_{cam}.txt'))
    for cam in ('color', 'depth')
}
_EXTRINSICS_FILES = {cam: ('intrinsic', f'extrinsic_{cam}.txt') for cam in ('color', 'depth')}
_INTRINSICS_REQUIRED = {'intrinsics': ('color', 'depth'), 'color_intrinsics': ('color', ),
                        'depth_intrinsics': ('depth', )}


def _frame_sort_key(frame_id: str) -> tuple:
    """Numeric order for numeric names (``'100'`` after ``'99'``), else lexicographic."""
    return (0, int(frame_id), frame_id) if frame_id.isdigit() else (1, 0, frame_id)


@DATASETS.register_module()
class ScanNetRGBDDataset(BaseDataset):
    """ScanNet RGB-D frames in the ``scannet_frames_25k`` or ScanNet ``SensReader`` layout.

    ::

        data_root/
            scene0000_00/
                color/000000.jpg     (color, e.g. 1296x968 or 640x480)
                depth/000000.png     (uint16 millimetres, 640x480)
                label/000000.png     (optional, NYU40 ids)
                instance/000000.png  (optional)
                pose/000000.txt      (optional, 4x4 camera-to-world)
                intrinsics_color.txt (4x4)
                intrinsics_depth.txt (4x4)

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
    camera-to-world; ScanNet writes ``-inf`` for frames where tracking failed, kept as is).

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
        **kwargs: other arguments of :class:`mmengine.dataset.BaseDataset` (``metainfo``,
            ``pipeline``, ``test_mode``, ``lazy_init``, ``indices``, ...).
    """

    METAINFO: dict = dict(dataset_name='ScanNet RGB-D frames')

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
                 **kwargs) -> None:
        if not data_root:
            raise ValueError('ScanNetRGBDDataset needs a data_root')
        if ann_file and scenes is not None:
            raise ValueError('give either ann_file or scenes, not both')
        if not isinstance(frame_skip, int) or frame_skip < 1:
            raise ValueError(f'frame_skip must be a positive int, got {frame_skip!r}')
        required = tuple(required)
        known = set(_MODALITIES) | set(_INTRINSICS_REQUIRED)
        unknown = set(required) - known
        if unknown:
            raise ValueError(f'unknown required modalities {sorted(unknown)}; '
                             f'choose from {sorted(known)}')
        if 'color' not in required or 'depth' not in required:
            raise ValueError(f"required must contain 'color' and 'depth', got {required}")
        self.scenes = list(scenes) if scenes is not None else None
        self.frame_skip = frame_skip
        self.required = required
        self.skip_incomplete = skip_incomplete
        if skip_bad_frames and kwargs.get('test_mode', False):
            raise ValueError('skip_bad_frames is for training only: an evaluation must see every '
                             'frame (test_mode=True)')
        self.skip_bad_frames = skip_bad_frames
        self.num_bad_frames = 0  # skipped by this process (each data loader worker counts its own)
        self.suffixes = {k: v[1] for k, v in _MODALITIES.items()}
        for key, suffix in (suffixes or {}).items():
            if key not in _MODALITIES:
                raise ValueError(f'unknown modality {key!r} in suffixes')
            self.suffixes[key] = suffix
        self.backend_args = backend_args
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    # ---- helpers -------------------------------------------------------------------------------
    def _join(self, *parts: str) -> str:
        return fileio.join_path(*parts, backend_args=self.backend_args)

    def _isdir(self, path: str) -> bool:
        return fileio.isdir(path, backend_args=self.backend_args)

    def _list_files(self, folder: str, suffix: str) -> Dict[str, str]:
        """Map frame id -> file name of the files in ``folder`` ending with ``suffix``."""
        if not self._isdir(folder):
            return {}
        names = fileio.list_dir_or_file(
            folder, list_dir=False, suffix=suffix, backend_args=self.backend_args)
        return {name[:-len(suffix)]: name for name in names}

    def _read_matrix(self, path: str, shape: tuple = (4, 4)) -> np.ndarray:
        """Read a whitespace separated text matrix (e.g. ScanNet's 4x4 pose/intrinsics)."""
        text = fileio.get_text(path, backend_args=self.backend_args)
        try:
            values = np.array(text.split(), dtype=np.float64)
            return values.reshape(shape).astype(np.float32)
        except ValueError as e:
            raise ValueError(f'{path} is not a {shape[0]}x{shape[1]} matrix of numbers: '
                             f'{e}') from e

    def _scene_names(self) -> List[str]:
        root = self.data_root
        if not self._isdir(root):
            raise FileNotFoundError(f'ScanNet data_root {root} does not exist or is not a folder')
        if self.ann_file:
            if not fileio.exists(self.ann_file, backend_args=self.backend_args):
                raise FileNotFoundError(f'scene list {self.ann_file} does not exist')
            text = fileio.get_text(self.ann_file, backend_args=self.backend_args)
            names = [ln.strip() for ln in text.splitlines()]
            names = [n for n in names if n and not n.startswith('#')]
            if not names:
                raise ValueError(f'scene list {self.ann_file} names no scene')
            source = f'scene list {self.ann_file}'
        elif self.scenes is not None:
            names = list(self.scenes)
            if not names:
                raise ValueError('scenes is an empty list')
            source = 'scenes'
        else:
            color = _MODALITIES['color'][0]
            names = sorted(
                d for d in fileio.list_dir_or_file(
                    root, list_file=False, backend_args=self.backend_args)
                if self._isdir(self._join(root, d, color)))
            if not names:
                raise FileNotFoundError(
                    f'no scene found in {root}: expected scene folders like '
                    f'{self._join(root, "scene0000_00", color)}')
            return names
        for name in names:
            if not self._isdir(self._join(root, name)):
                raise FileNotFoundError(
                    f'scene {name} from {source} not found: {self._join(root, name)}')
        return names

    def _needed_intrinsics(self) -> Dict[str, str]:
        """Camera ('color' / 'depth') -> who needs its intrinsics (``required`` or a pipeline
        transform with ``required_intrinsics``)."""
        needed = {}
        for key in self.required:
            for cam in _INTRINSICS_REQUIRED.get(key, ()):
                needed[cam] = f'required={self.required}'
        for t in getattr(getattr(self, 'pipeline', None), 'transforms', []):
            for cam in getattr(t, 'required_intrinsics', ()):
                needed.setdefault(cam, f"the pipeline's {t!r}")
        return needed

    def _read_cameras(self, scene: str, scene_dir: str, needed: Dict[str, str]) -> dict:
        """The scene's ``{color,depth}_intrinsics`` (3x3) and ``_extrinsics`` (4x4) found."""
        out = {}
        for cam, candidates in _INTRINSICS_FILES.items():
            paths = [self._join(scene_dir, *parts) for parts in candidates]
            path = next((p for p in paths if fileio.exists(p, backend_args=self.backend_args)),
                        None)
            if path is not None:
                out[f'{cam}_intrinsics'] = self._read_matrix(path)[:3, :3].copy()
            elif cam in needed:
                raise FileNotFoundError(
                    f'scene {scene} has no {cam} camera intrinsics, needed by {needed[cam]}: '
                    f'looked for {" and ".join(paths)}')
            path = self._join(scene_dir, *_EXTRINSICS_FILES[cam])
            if fileio.exists(path, backend_args=self.backend_args):
                out[f'{cam}_extrinsics'] = self._read_matrix(path)
        return out

    # ---- BaseDataset API -----------------------------------------------------------------------
    def load_data_list(self) -> List[dict]:
        """Scan the scene folders.

        Returns:
            list[dict]: one data info per kept frame.
        """
        logger = MMLogger.get_current_instance()
        data_list = []
        missing: Dict[str, int] = {}
        num_skipped = 0
        needed = self._needed_intrinsics()
        for scene in self._scene_names():
            scene_dir = self._join(self.data_root, scene)
            files = {
                m: self._list_files(self._join(scene_dir, folder), self.suffixes[m])
                for m, (folder, _, _) in _MODALITIES.items()
            }

            intrinsics = self._read_cameras(scene, scene_dir, needed)

            frame_ids = set()
            for m in self.required:
                frame_ids.update(files.get(m, {}))
            frame_ids = sorted(frame_ids, key=_frame_sort_key)[::self.frame_skip]

            for fid in frame_ids:
                lacking = [m for m in self.required if m in files and fid not in files[m]]
                if lacking:
                    paths = [
                        self._join(scene_dir, _MODALITIES[m][0], fid + self.suffixes[m])
                        for m in lacking
                    ]
                    if not self.skip_incomplete:
                        raise FileNotFoundError(
                            f'frame {fid} of scene {scene} lacks required file(s): '
                            f'{", ".join(paths)} (set skip_incomplete=True to skip such frames)')
                    num_skipped += 1
                    for m in lacking:
                        missing[m] = missing.get(m, 0) + 1
                    continue

                info = dict(scene=scene, frame_id=fid)
                for m, (folder, _, key) in _MODALITIES.items():
                    if fid not in files[m]:
                        continue
                    path = self._join(scene_dir, folder, files[m][fid])
                    info[key] = self._read_matrix(path) if m == 'pose' else path
                info.update(intrinsics)
                data_list.append(info)

        if missing:
            logger.warning(
                f'{self.__class__.__name__}: skipped {num_skipped} frame(s) lacking required '
                f'files (missing per modality: {missing}) under {self.data_root}')
        if not data_list:
            raise ValueError(f'no frame found under {self.data_root} '
                             f'(required modalities {self.required})')
        return data_list

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on frame ``idx``.

        An error gets a note naming the frame and its files (some upstream errors, e.g. cv2's
        on an empty color file, name none); with ``skip_bad_frames`` a file-loading error skips
        the frame instead (see the class docstring).
        """
        data = self.get_data_info(idx)
        frame = f"{data['scene']}/{data['frame_id']}"
        files = ', '.join(f'{k}={data[k]}' for k in ('img_path', 'depth_path', 'seg_map_path')
                          if k in data)
        for t in self.pipeline.transforms:
            try:
                data = t(data)
            except Exception as e:
                if self.skip_bad_frames and isinstance(t, _FILE_LOADERS):
                    self.num_bad_frames += 1
                    MMLogger.get_current_instance().warning(
                        f'{self.__class__.__name__}: skipped bad frame {frame} '
                        f'({type(e).__name__}: {e}); {self.num_bad_frames} bad frame(s) skipped '
                        'so far by this process (skip_bad_frames=True)')
                    return None  # BaseDataset.__getitem__ fetches another frame
                if hasattr(e, 'add_note'):  # Python >= 3.11
                    e.add_note(f'{self.__class__.__name__}: in {type(t).__name__} on frame '
                               f'{frame} ({files})')
                raise
            if data is None:
                return None
        return data

    def __repr__(self) -> str:
        size = len(self) if self._fully_initialized else 'not yet loaded (lazy_init)'
        lines = [
            f'Dataset {self.__class__.__name__}',
            f'    Number of frames: {size}',
            f'    Data root: {self.data_root}',
            f'    Scene list: {self.ann_file or self.scenes or "all scene folders"}',
            f'    Frame skip: {self.frame_skip}',
            f'    Required modalities: {self.required}',
            f'    Pipeline: {self.pipeline}',
        ]
        return '\n'.join(lines)
