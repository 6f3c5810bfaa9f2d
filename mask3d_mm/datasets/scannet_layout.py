"""The ScanNet frames layout: the one place that knows a scene's file names and formats.

::

    data_root/
        scene0000_00/
            color/000000.jpg     (color; ScanNet's SensReader writes unpadded 0.jpg)
            depth/000000.png     (uint16 millimetres)
            label/000000.png     (optional, NYU40 ids)
            instance/000000.png  (optional, uint16 nyu40_id * 1000 + instance id, or uint8 ids)
            pose/000000.txt      (optional, 4x4 camera-to-world)
            intrinsics_color.txt, intrinsics_depth.txt          (4x4 or 3x3; scannet_frames_25k)
            intrinsic/intrinsic_{color,depth}.txt               (4x4; SensReader)
            intrinsic/extrinsic_{color,depth}.txt               (4x4; SensReader)

Used by the datasets (:class:`ScanNetRGBDDataset`, :class:`ScanNetSegDataset`), the converters
(``scannet_to_coco``, ``export_sens``), the synthetic writer and ``tools/misc/verify_dataset.py``.
"""
import io
from typing import Dict, List, Optional, Sequence, Tuple

import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadAnnotations, LoadImageFromFile
from mmengine.logging import MMLogger

from mask3d_mm.atomic_write import write_file_atomic
from .intrinsics import read_intrinsics
from .transforms.loading import LoadDepthFromFile

__all__ = [
    'MODALITIES', 'FILE_LOADERS', 'INTRINSICS_FILES', 'EXTRINSICS_FILES', 'INTRINSICS_REQUIRED',
    'INSTANCE_DIVISOR', 'MATRIX_FORMAT', 'frame_sort_key', 'frame_name', 'read_matrix',
    'write_matrix', 'ScanNetLayout'
]

# modality -> (folder, default suffix, data info key)
MODALITIES: Dict[str, Tuple[str, str, str]] = {
    'color': ('color', '.jpg', 'img_path'),
    'depth': ('depth', '.png', 'depth_path'),
    'label': ('label', '.png', 'seg_map_path'),
    'instance': ('instance', '.png', 'instance_path'),
    'pose': ('pose', '.txt', 'pose'),
}

# the transforms that read a frame's files (what ``skip_bad_frames`` may skip, what
# ``tools/misc/verify_dataset.py`` runs)
FILE_LOADERS = (LoadImageFromFile, LoadAnnotations, LoadDepthFromFile)

# where a scene's camera files are looked for, in order (relative to the scene folder):
# scannet_frames_25k and export_sens, then ScanNet's SensReader
INTRINSICS_FILES: Dict[str, Tuple[Tuple[str, ...], ...]] = {
    cam: ((f'intrinsics_{cam}.txt', ), ('intrinsic', f'intrinsic_{cam}.txt'))
    for cam in ('color', 'depth')
}
EXTRINSICS_FILES = {cam: ('intrinsic', f'extrinsic_{cam}.txt') for cam in ('color', 'depth')}
# ``required`` entries that ask for camera files -> the cameras they need
INTRINSICS_REQUIRED = {'intrinsics': ('color', 'depth'), 'color_intrinsics': ('color', ),
                       'depth_intrinsics': ('depth', )}

INSTANCE_DIVISOR = 1000  # uint16 instance maps: nyu40_id * 1000 + instance id
MATRIX_FORMAT = '%.9g'  # exact for float32 values


def frame_sort_key(frame_id: str) -> tuple:
    """Numeric order for numeric names (``'100'`` after ``'99'``), else lexicographic."""
    return (0, int(frame_id), frame_id) if frame_id.isdigit() else (1, 0, frame_id)


def frame_name(index: int, padded: bool = True) -> str:
    """File stem of frame ``index``: ``'000025'`` (scannet_frames_25k) or ``'25'`` (SensReader)."""
    return f'{index:06d}' if padded else str(index)


def read_matrix(path: str, shape: Tuple[int, int] = (4, 4),
                backend_args: Optional[dict] = None) -> np.ndarray:
    """Read a whitespace separated text matrix (ScanNet's 4x4 pose / intrinsics).

    Returns:
        np.ndarray: ``shape`` float32.
    """
    text = fileio.get_text(path, backend_args=backend_args)
    try:
        values = np.array(text.split(), dtype=np.float64)
        return values.reshape(shape).astype(np.float32)
    except ValueError as e:
        raise ValueError(f'{path} is not a {shape[0]}x{shape[1]} matrix of numbers: {e}') from e


def write_matrix(path: str, matrix: np.ndarray) -> None:
    """Write a matrix as text, one row per line, ``MATRIX_FORMAT`` numbers (exact for float32);
    atomically (an interrupted write leaves no truncated matrix)."""
    buf = io.BytesIO()
    np.savetxt(buf, np.asarray(matrix, dtype=np.float64), fmt=MATRIX_FORMAT)
    write_file_atomic(path, buf.getvalue())


class ScanNetLayout:
    """Scene discovery, frame scanning and camera files of one ScanNet frames root.

    Args:
        data_root (str): folder holding the scene folders.
        suffixes (dict, optional): overrides of the file suffix per modality, e.g.
            ``dict(color='.png')``. Defaults to None.
        backend_args (dict, optional): file backend arguments (see :mod:`mmengine.fileio`).
    """

    def __init__(self, data_root: str, suffixes: Optional[Dict[str, str]] = None,
                 backend_args: Optional[dict] = None) -> None:
        self.data_root = data_root
        self.backend_args = backend_args
        self.suffixes = {k: v[1] for k, v in MODALITIES.items()}
        for key, suffix in (suffixes or {}).items():
            if key not in MODALITIES:
                raise ValueError(f'unknown modality {key!r} in suffixes')
            self.suffixes[key] = suffix

    # ---- files ---------------------------------------------------------------------------------
    def join(self, *parts: str) -> str:
        return fileio.join_path(*parts, backend_args=self.backend_args)

    def isdir(self, path: str) -> bool:
        return fileio.isdir(path, backend_args=self.backend_args)

    def exists(self, path: str) -> bool:
        return fileio.exists(path, backend_args=self.backend_args)

    def read_matrix(self, path: str, shape: Tuple[int, int] = (4, 4)) -> np.ndarray:
        return read_matrix(path, shape, self.backend_args)

    def list_frames(self, scene: str, modality: str) -> Dict[str, str]:
        """Frame id -> file name of the ``modality`` files of ``scene`` (empty: no folder)."""
        folder = self.join(self.data_root, scene, MODALITIES[modality][0])
        suffix = self.suffixes[modality]
        if not self.isdir(folder):
            return {}
        names = fileio.list_dir_or_file(
            folder, list_dir=False, suffix=suffix, backend_args=self.backend_args)
        return {name[:-len(suffix)]: name for name in names}

    # ---- scenes --------------------------------------------------------------------------------
    def scene_names(self, scene_list: str = '', scenes: Optional[Sequence[str]] = None
                    ) -> List[str]:
        """The scenes of a scene list file (one name per line, ``#`` comments), of ``scenes``,
        or every folder of ``data_root`` with a ``color/`` folder (sorted); each checked to
        exist."""
        root = self.data_root
        if not self.isdir(root):
            raise FileNotFoundError(f'ScanNet data_root {root} does not exist or is not a folder')
        if scene_list:
            if not self.exists(scene_list):
                raise FileNotFoundError(f'scene list {scene_list} does not exist')
            text = fileio.get_text(scene_list, backend_args=self.backend_args)
            names = [ln.strip() for ln in text.splitlines()]
            names = [n for n in names if n and not n.startswith('#')]
            if not names:
                raise ValueError(f'scene list {scene_list} names no scene')
            source = f'scene list {scene_list}'
        elif scenes is not None:
            names = list(scenes)
            if not names:
                raise ValueError('scenes is an empty list')
            source = 'scenes'
        else:
            color = MODALITIES['color'][0]
            names = sorted(
                d for d in fileio.list_dir_or_file(
                    root, list_file=False, backend_args=self.backend_args)
                if self.isdir(self.join(root, d, color)))
            if not names:
                raise FileNotFoundError(
                    f'no scene found in {root}: expected scene folders like '
                    f'{self.join(root, "scene0000_00", color)}')
            return names
        for name in names:
            if not self.isdir(self.join(root, name)):
                raise FileNotFoundError(
                    f'scene {name} from {source} not found: {self.join(root, name)}')
        return names

    def read_cameras(self, scene: str, needed: Optional[Dict[str, str]] = None) -> dict:
        """The scene's ``{color,depth}_intrinsics`` (3x3 float32, as written; the files hold a
        4x4 or a 3x3 matrix, see :func:`~mask3d_mm.datasets.intrinsics.read_intrinsics`) and
        ``{color,depth}_extrinsics`` (4x4, SensReader layout) found.

        Args:
            scene (str): scene name.
            needed (dict, optional): camera ('color' / 'depth') -> who needs it; a needed
                camera without intrinsics raises ``FileNotFoundError`` naming the files.
        """
        needed = needed or {}
        scene_dir = self.join(self.data_root, scene)
        out = {}
        for cam, candidates in INTRINSICS_FILES.items():
            paths = [self.join(scene_dir, *parts) for parts in candidates]
            path = next((p for p in paths if self.exists(p)), None)
            if path is not None:
                # 4x4 as ScanNet writes them, or 3x3
                out[f'{cam}_intrinsics'] = read_intrinsics(path, self.backend_args)
            elif cam in needed:
                raise FileNotFoundError(
                    f'scene {scene} has no {cam} camera intrinsics, needed by {needed[cam]}: '
                    f'looked for {" and ".join(paths)}')
            path = self.join(scene_dir, *EXTRINSICS_FILES[cam])
            if self.exists(path):
                out[f'{cam}_extrinsics'] = self.read_matrix(path)
        return out

    # ---- frames --------------------------------------------------------------------------------
    def scan_scene(self, scene: str, required: Sequence[str], optional: Sequence[str] = (),
                   frame_skip: int = 1, skip_incomplete: bool = False
                   ) -> Tuple[List[dict], List[List[str]]]:
        """The frames of ``scene``: the union of the file names of the ``required`` modalities,
        sorted numerically, every ``frame_skip``-th kept.

        Args:
            scene (str): scene name.
            required (Sequence[str]): modalities a frame must have (other entries, e.g.
                'intrinsics', are ignored here).
            optional (Sequence[str]): modalities added when the frame has them.
            frame_skip (int): keep every N-th frame. Defaults to 1.
            skip_incomplete (bool): skip frames lacking a required file instead of raising
                ``FileNotFoundError``. Defaults to False.

        Returns:
            tuple[list[dict], list[list[str]]]: the frames, each ``dict(scene, frame_id,
            files={modality: path})`` (files in ``MODALITIES`` order), and the lacking
            modalities of each skipped frame.
        """
        required = [m for m in required if m in MODALITIES]
        wanted = [m for m in MODALITIES if m in required or m in optional]
        files = {m: self.list_frames(scene, m) for m in wanted}
        frame_ids = set()
        for m in required:
            frame_ids.update(files[m])
        frames, skipped = [], []
        scene_dir = self.join(self.data_root, scene)
        for fid in sorted(frame_ids, key=frame_sort_key)[::frame_skip]:
            lacking = [m for m in required if fid not in files[m]]
            if lacking:
                if not skip_incomplete:
                    paths = [self.join(scene_dir, MODALITIES[m][0], fid + self.suffixes[m])
                             for m in lacking]
                    raise FileNotFoundError(
                        f'frame {fid} of scene {scene} lacks required file(s): '
                        f'{", ".join(paths)} (set skip_incomplete=True to skip such frames)')
                skipped.append(lacking)
                continue
            paths = {m: self.join(scene_dir, MODALITIES[m][0], files[m][fid])
                     for m in wanted if fid in files[m]}
            frames.append(dict(scene=scene, frame_id=fid, files=paths))
        return frames, skipped

    def scan(self, scenes: Sequence[str], required: Sequence[str], optional: Sequence[str] = (),
             frame_skip: int = 1, skip_incomplete: bool = False, owner: str = 'ScanNetLayout'
             ) -> List[dict]:
        """:meth:`scan_scene` over ``scenes``; skipped frames are counted in one warning naming
        ``owner``, and no frame at all raises ``ValueError``."""
        frames, skipped = [], []
        for scene in scenes:
            kept, lacking = self.scan_scene(scene, required, optional, frame_skip,
                                            skip_incomplete)
            frames += kept
            skipped += lacking
        if skipped:
            missing: Dict[str, int] = {}
            for lacking in skipped:
                for m in lacking:
                    missing[m] = missing.get(m, 0) + 1
            MMLogger.get_current_instance().warning(
                f'{owner}: skipped {len(skipped)} frame(s) lacking required files (missing per '
                f'modality: {missing}) under {self.data_root}')
        if not frames:
            raise ValueError(f'no frame found under {self.data_root} '
                             f'(required modalities {tuple(required)})')
        return frames
