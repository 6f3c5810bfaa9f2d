"""Hypersim (Apple), read where its per-scene zips unpack."""
import csv
import io
import re
from typing import Dict, List, Optional, Sequence, Set, Tuple

import mmengine.fileio as fileio
import numpy as np
from mmengine.logging import MMLogger

from mask3d_mm.registry import DATASETS
from ..rgbd_frames import RGBDFramesDataset
from ..transforms.depth_io import HYPERSIM_SIZE, hypersim_intrinsics
from .native_common import Incomplete, list_dirs, list_files

__all__ = ['HypersimDataset', 'intrinsics_from_m_cam_from_uv', 'read_camera_parameters',
           'read_split']

_GEOMETRY_DIR = re.compile(r'^scene_(?P<cam>cam_\d+)_geometry_hdf5$')
_DEPTH_FILE = re.compile(r'^frame\.(?P<frame>\d+)\.depth_meters\.hdf5$')
CAMERA_PARAMETERS = 'metadata_camera_parameters.csv'
_M_COLUMNS = [f'M_cam_from_uv_{i}{j}' for i in range(3) for j in range(3)]


def intrinsics_from_m_cam_from_uv(m: np.ndarray, wh: Tuple[int, int]) -> np.ndarray:
    """Pinhole intrinsics of a Hypersim camera from its ``M_cam_from_uv`` matrix.

    ``M_cam_from_uv`` (``metadata_camera_parameters.csv``, contrib/mikeroberts3000) maps
    ``[u, v, 1]`` of a pixel centre (u, v in [-1, 1], v up) to its camera-space ray (x right,
    y up, looking down -z). With pixel centres at integer coordinates ``(px, py)`` (OpenCV),
    ``u = (2 px + 1) / W - 1``, ``v = 1 - (2 py + 1) / H``; the matrix taking ``[px, py, 1]``
    to the ray in OpenCV axes (x right, y down, z forward) is ``A = diag(1, -1, -1) M S``. Its
    inverse, RQ-decomposed as ``K R`` (K upper triangular, R a rotation), gives the
    intrinsics: the image is a pinhole projection through ``K`` of a camera rotated by ``R``
    (identity for Hypersim's default camera and for plain lens shifts; a few degrees for the
    scenes whose V-Ray camera tilts the image plane). Planar depth with these intrinsics is the
    depth along that rotated camera's axis, consistent with ``K``: back-projected points keep
    the distances Hypersim stores.

    Args:
        m (np.ndarray): (3, 3) ``M_cam_from_uv``.
        wh (tuple): (W, H) of the images (``settings_output_img_width``, ``..._height``).

    Returns:
        np.ndarray: (3, 3) float32 intrinsics, ``K[2, 2] = 1`` (``K[0, 1]`` holds the skew of
        tilted image planes, 0 otherwise). Default camera at 1024x768: fx = fy = 886.81,
        (cx, cy) = (511.5, 383.5).
    """
    import scipy.linalg
    w, h = wh
    s = np.array([[2 / w, 0, 1 / w - 1], [0, -2 / h, 1 - 1 / h], [0, 0, 1]])
    a = np.diag([1.0, -1.0, -1.0]) @ np.asarray(m, np.float64) @ s
    k, r = scipy.linalg.rq(np.linalg.inv(a))
    k = k @ np.diag(np.sign(np.diag(k)))  # positive diagonal (R absorbs the signs)
    k = k / k[2, 2]
    if not (np.isfinite(k).all() and k[0, 0] > 0 and k[1, 1] > 0):
        raise ValueError(f'M_cam_from_uv {np.asarray(m).tolist()} gives no pinhole camera')
    k[1, 0] = k[2, 0] = k[2, 1] = 0.0
    return k.astype(np.float32)


def _csv_rows(path: str, what: str, required: Sequence[str],
              backend_args: Optional[dict] = None) -> List[dict]:
    if not fileio.exists(path, backend_args=backend_args):
        raise FileNotFoundError(f'{what} {path} does not exist')
    rows = list(csv.DictReader(io.StringIO(fileio.get_text(path, backend_args=backend_args))))
    missing = [c for c in required if not rows or c not in rows[0]]
    if missing:
        raise ValueError(f'{what} {path} has no column(s) {missing}'
                         + ('' if rows else ' (no row)'))
    return rows


def read_camera_parameters(path: str, backend_args: Optional[dict] = None
                           ) -> Dict[str, Tuple[np.ndarray, Tuple[int, int]]]:
    """Hypersim's ``metadata_camera_parameters.csv`` (apple/ml-hypersim
    contrib/mikeroberts3000): scene name -> ((3, 3) float32 intrinsics, (W, H)), see
    :func:`intrinsics_from_m_cam_from_uv`."""
    cols = ['scene_name', 'settings_output_img_width', 'settings_output_img_height'] + _M_COLUMNS
    cameras = {}
    for row in _csv_rows(path, 'camera parameters', cols, backend_args):
        try:
            wh = (int(float(row['settings_output_img_width'])),
                  int(float(row['settings_output_img_height'])))
            m = np.array([float(row[c]) for c in _M_COLUMNS]).reshape(3, 3)
        except ValueError as e:
            raise ValueError(f'camera parameters {path}: scene {row["scene_name"]}: {e}') from e
        cameras[row['scene_name']] = (intrinsics_from_m_cam_from_uv(m, wh), wh)
    return cameras


def read_split(path: str, split: Optional[str] = None, backend_args: Optional[dict] = None
               ) -> List[Tuple[str, str, int]]:
    """The frames of Hypersim's ``metadata_images_split_scene_v1.csv`` in the public release
    (``included_in_public_release``), of ``split`` (``split_partition_name``: 'train', 'val',
    'test'; None: all): ``(scene, camera, frame)`` in the file's order."""
    cols = ['scene_name', 'camera_name', 'frame_id', 'included_in_public_release']
    if split is not None:
        cols.append('split_partition_name')
    frames = []
    for row in _csv_rows(path, 'split file', cols, backend_args):
        if row['included_in_public_release'].strip().lower() != 'true':
            continue
        if split is not None and row['split_partition_name'] != split:
            continue
        frames.append((row['scene_name'], row['camera_name'], int(row['frame_id'])))
    if not frames:
        raise ValueError(f'split file {path} lists no frame of the public release'
                         + (f' in split {split!r}' if split is not None else ''))
    return frames


@DATASETS.register_module()
class HypersimDataset(RGBDFramesDataset):
    """Hypersim: photorealistic renderings of 461 indoor scenes (77,400 images, 74,619 public).

    Layout (apple/ml-hypersim ``README.md``, "Working with the Hypersim Dataset"; the scene zips
    of ``code/python/tools/dataset_download_images.py`` unpack to)::

        data_root/
            ai_001_001/                                           a scene, ai_VVV_NNN
                images/
                    scene_cam_00_final_preview/frame.0000.tonemap.jpg  colour (tonemapped)
                    scene_cam_00_geometry_hdf5/frame.0000.depth_meters.hdf5
                    scene_cam_00_final_hdf5/frame.0000.color.hdf5      (HDR; not read)
                _detail/ ...                                          (not read)
            metadata_camera_parameters.csv       optional, from contrib/mikeroberts3000
            metadata_images_split_scene_v1.csv   optional, from evermotion_dataset/analysis

    **Frames.** One per ``depth_meters.hdf5`` file (camera trajectory ``cam_XX``, frame
    ``IIII``), with the tonemapped preview of the same frame, ``frame.IIII.tonemap.jpg``
    (``color_suffix``). The lossless HDR colour (``scene_cam_XX_final_hdf5/
    frame.IIII.color.hdf5``, linear radiance) is not supported: ``LoadImageFromFile`` reads no
    HDF5 and tonemapping is left to Hypersim's tools. ``scene`` is the scene name,
    ``frame_id`` ``'cam_00_0000'``; frames are in scene, camera, frame order. With the v1 split
    file as ``ann_file`` the frames are those of the public release in ``split`` (the file
    lists excluded frames with ``included_in_public_release = False``).

    **Depth** ``'hypersim'``: HDF5 dataset ``'dataset'``, float16 metres: the Euclidean
    distance to the camera centre along the pixel's ray, not planar depth (README; issue #9),
    NaN where no surface. ``LoadDepthFromFile`` turns it into planar depth with the frame's
    ``depth_intrinsics``.

    **Intrinsics.** By default Hypersim's camera (README: 60 degrees horizontal field of view,
    square pixels; 1024x768, f = 886.81 px, centred), ``depth_intrinsics`` =
    ``color_intrinsics``. Some scenes use tilt-shift lens settings (contrib/mikeroberts3000
    README): with ``metadata_camera_parameters.csv`` each scene gets its own intrinsics from
    ``M_cam_from_uv`` (:func:`intrinsics_from_m_cam_from_uv`), with a principal point that a
    lens shift moves off-centre. Each frame states the image size its intrinsics are for
    (``depth_intrinsics_wh``), so they are scaled to the files as read, not guessed from the
    principal point. The skew of tilted image planes is not used by the planar conversion.

    Licence: Hypersim is CC BY-SA 3.0.

    Args:
        data_root (str): the folder holding the scene folders.
        ann_file (str): optional ``metadata_images_split_scene_v1.csv`` (relative paths are
            joined to ``data_root``). Defaults to '' (every frame found).
        split (str, optional): ``'train'``, ``'val'`` or ``'test'``: the frames of
            ``ann_file`` in that split. Defaults to None (all of the public release).
        scenes (Sequence[str], optional): read only these scenes. Defaults to None.
        camera_parameters (str, optional): ``metadata_camera_parameters.csv`` (relative paths
            are joined to ``data_root``); ``''`` uses the default camera for every scene.
            Defaults to None: ``data_root/metadata_camera_parameters.csv`` if it exists, else
            the default camera.
        color_suffix (str): the colour file of frame ``IIII`` is
            ``scene_cam_XX_final_preview/frame.IIII<color_suffix>``. Defaults to
            ``'.tonemap.jpg'``.
        **kwargs: arguments of :class:`~mask3d_mm.datasets.RGBDFramesDataset` (``frame_skip``,
            ``encoding``, ``skip_incomplete`` (frames lacking their colour or depth file, and
            scenes of the split file missing under ``data_root``, are skipped and counted),
            ``pipeline``, ...).
    """

    DEPTH_ENCODING = 'hypersim'
    SOURCE = 'hypersim'
    LAYOUT = ('scene folders ai_VVV_NNN/images/scene_cam_XX_geometry_hdf5/'
              'frame.IIII.depth_meters.hdf5 and ai_VVV_NNN/images/scene_cam_XX_final_preview/'
              'frame.IIII.tonemap.jpg (Hypersim)')
    METAINFO: dict = dict(dataset_name='Hypersim')

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 split: Optional[str] = None,
                 scenes: Optional[Sequence[str]] = None,
                 camera_parameters: Optional[str] = None,
                 color_suffix: str = '.tonemap.jpg',
                 **kwargs) -> None:
        if split is not None and split not in ('train', 'val', 'test'):
            raise ValueError(f"split must be 'train', 'val', 'test' or None, got {split!r}")
        if split is not None and not ann_file:
            raise ValueError('HypersimDataset: split needs the split file as ann_file '
                             '(metadata_images_split_scene_v1.csv)')
        if color_suffix.lower().endswith(('.hdf5', '.h5')):
            raise ValueError(
                f'HypersimDataset: color_suffix={color_suffix!r}: the HDR colour '
                '(scene_cam_XX_final_hdf5/frame.IIII.color.hdf5) is not supported: '
                "LoadImageFromFile reads no HDF5; use the tonemapped preview ('.tonemap.jpg')")
        if isinstance(scenes, str):
            scenes = [scenes]
        if scenes is not None and not list(scenes):
            raise ValueError('HypersimDataset: scenes is an empty list')
        self.split = split
        self.scenes = None if scenes is None else [str(s) for s in scenes]
        self.camera_parameters = camera_parameters
        self.color_suffix = color_suffix
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    # ---- cameras -------------------------------------------------------------------------------
    def _cameras(self) -> Dict[str, Tuple[np.ndarray, Tuple[int, int]]]:
        """Scene -> ((3, 3) intrinsics, (W, H) they are for) from the camera parameters file
        ({} without one); tilt-shift scenes keep their off-centre principal point, since each
        frame states the size its intrinsics are for (``*_intrinsics_wh``)."""
        path = self.camera_parameters
        if path == '':
            return {}
        if path is None:
            path = self.join(self.data_root, CAMERA_PARAMETERS)
            if not self.exists(path):
                return {}
        elif not (path.startswith('/') or '://' in path):
            path = self.join(self.data_root, path)
        cameras = read_camera_parameters(path, self.backend_args)
        MMLogger.get_current_instance().info(
            f'HypersimDataset: per-scene intrinsics of {len(cameras)} scene(s) from {path}')
        return cameras

    # ---- layout --------------------------------------------------------------------------------
    def _found_scenes(self) -> List[str]:
        root = self.data_root
        if not self.isdir(root):
            raise self.layout_error(root, 'is not a folder')
        found = [s for s in list_dirs(root, self.backend_args)
                 if self.isdir(self.join(root, s, 'images'))]
        if not found:
            hint = None
            if self.isdir(self.join(root, 'images')):
                hint = ('this looks like one scene folder: point data_root at the folder holding '
                        'the scene folders, and select scenes with scenes=[...]')
            elif any(_GEOMETRY_DIR.match(d) for d in list_dirs(root, self.backend_args)):
                hint = ("this looks like a scene's images/ folder: point data_root at the folder "
                        'holding the scene folders')
            raise self.layout_error(root, 'holds no scene folder with an images/ folder',
                                    found_hint=hint)
        return found

    def _scene_frames(self, scene: str) -> Dict[str, List[int]]:
        """Camera -> frame numbers of a scene's ``depth_meters.hdf5`` files."""
        images = self.join(self.data_root, scene, 'images')
        cams = {}
        for d in list_dirs(images, self.backend_args):
            m = _GEOMETRY_DIR.match(d)
            if m:
                cams[m['cam']] = sorted(
                    int(f.group('frame')) for f in map(
                        _DEPTH_FILE.match, list_files(self.join(images, d), self.backend_args))
                    if f)
        if not cams:
            raise self.layout_error(images, 'has no scene_cam_XX_geometry_hdf5/ folder')
        return cams

    def _listing(self, folder: str, cache: Dict[str, Set[str]]) -> Set[str]:
        if folder not in cache:
            cache[folder] = (set(list_files(folder, self.backend_args))
                             if self.isdir(folder) else set())
        return cache[folder]

    # ---- RGBDFramesDataset API -----------------------------------------------------------------
    def scan(self) -> List[dict]:
        """The frames (see the class docstring).

        Returns:
            list[dict]: per frame ``img_path``, ``depth_path``, ``scene``, ``frame_id``
            (``'cam_00_0000'``), ``depth_intrinsics`` and ``color_intrinsics`` ((3, 3) float32,
            for the 1024x768 images).
        """
        found = self._found_scenes()
        known = set(found)
        incomplete = Incomplete('HypersimDataset', self.skip_incomplete)
        if self.scenes is not None:
            missing = [s for s in self.scenes if s not in known]
            if missing:
                raise FileNotFoundError(
                    f'HypersimDataset: scene(s) {", ".join(missing[:5])} not under '
                    f'{self.data_root} (found {len(found)} scene(s): {", ".join(found[:5])}'
                    f'{", ..." if len(found) > 5 else ""})')
        wanted = set(self.scenes) if self.scenes is not None else None
        if self.ann_file:
            listed = [f for f in read_split(self.ann_file, self.split, self.backend_args)
                      if wanted is None or f[0] in wanted]
            absent = sorted({s for s, _, _ in listed if s not in known})
            if absent:
                incomplete.add(f'{len(absent)} scene(s) of {self.ann_file} not under '
                               f'{self.data_root}: {", ".join(absent[:5])}'
                               f'{", ..." if len(absent) > 5 else ""}')
            todo = [f for f in listed if f[0] in known]
        else:
            todo = []
            for scene in found:
                if wanted is not None and scene not in wanted:
                    continue
                for cam, numbers in sorted(self._scene_frames(scene).items()):
                    todo.extend((scene, cam, i) for i in numbers)
        cameras = self._cameras()
        default_k = hypersim_intrinsics(HYPERSIM_SIZE).astype(np.float32)
        listings: Dict[str, Set[str]] = {}
        frames = []
        for scene, cam, i in todo:
            images = self.join(self.data_root, scene, 'images')
            depth_dir = self.join(images, f'scene_{cam}_geometry_hdf5')
            colour_dir = self.join(images, f'scene_{cam}_final_preview')
            depth_name = f'frame.{i:04d}.depth_meters.hdf5'
            colour_name = f'frame.{i:04d}{self.color_suffix}'
            lacking = [self.join(d, n) for d, n in ((depth_dir, depth_name),
                                                    (colour_dir, colour_name))
                       if n not in self._listing(d, listings)]
            if lacking:
                incomplete.add(f'frame {scene}/{cam}/{i:04d} lacks {" and ".join(lacking)}')
                continue
            k, wh = cameras.get(scene, (default_k, HYPERSIM_SIZE))
            frames.append(dict(img_path=self.join(colour_dir, colour_name),
                               depth_path=self.join(depth_dir, depth_name), scene=scene,
                               frame_id=f'{cam}_{i:04d}', depth_intrinsics=k,
                               color_intrinsics=k.copy(), depth_intrinsics_wh=tuple(wh),
                               color_intrinsics_wh=tuple(wh)))
        incomplete.log()
        return frames
