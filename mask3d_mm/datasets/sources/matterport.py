"""Matterport3D, the undistorted images of each scan, read where ``download_mp.py`` puts them."""
import re
from typing import Dict, List, Optional, Sequence, Set, Tuple

import mmengine.fileio as fileio
import numpy as np
from mmengine.logging import MMLogger

from mask3d_mm.registry import DATASETS
from ..rgbd_frames import RGBDFramesDataset
from .native_common import Incomplete, list_dirs, list_files, select_scenes

__all__ = ['Matterport3DDataset', 'read_undistorted_conf']

COLOR_DIR, DEPTH_DIR = 'undistorted_color_images', 'undistorted_depth_images'
CAMERA_DIR = 'undistorted_camera_parameters'
MATTERPORT_SIZE = (1280, 1024)  # (W, H) of the undistorted images the .conf intrinsics are for
_COLOR = re.compile(r'^(?P<uuid>[0-9a-zA-Z]+)_i(?P<cam>\d+)_(?P<yaw>\d+)\.jpg$')


def read_undistorted_conf(path: str, backend_args: Optional[dict] = None
                          ) -> List[Tuple[str, str, np.ndarray, np.ndarray]]:
    """The images of an ``undistorted_camera_parameters/<scan>.conf`` file, in its order.

    The format (niessner/Matterport ``data_organization.md``): header lines (``dataset``,
    ``n_images``, ``depth_directory``, ``color_directory``), then ``intrinsics_matrix fx 0 cx
    0 fy cy 0 0 1`` lines, each followed by the ``scan <depth file> <color file> <16 numbers:
    camera-to-world, row-major>`` lines of the images taken with those intrinsics.

    Returns:
        list: ``(depth file name, color file name, (3, 3) float32 intrinsics, (4, 4) float32
        camera-to-world)`` per ``scan`` line.

    Raises:
        ValueError: a malformed line, or a ``scan`` line before any ``intrinsics_matrix``
            (naming the file and the line number).
    """
    text = fileio.get_text(path, backend_args=backend_args)
    k: Optional[np.ndarray] = None
    images = []
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            if parts[0] == 'intrinsics_matrix':
                values = np.array(parts[1:], np.float64)
                if values.size != 9:
                    raise ValueError(f'{values.size} numbers, expected 9')
                k = values.reshape(3, 3).astype(np.float32)
                if not (np.isfinite(k).all() and k[0, 0] > 0 and k[1, 1] > 0):
                    raise ValueError(f'not a camera matrix: {k.tolist()}')
            elif parts[0] == 'scan':
                if k is None:
                    raise ValueError('scan line before any intrinsics_matrix line')
                if len(parts) != 19:
                    raise ValueError(f'{len(parts) - 1} fields, expected <depth> <color> and '
                                     '16 numbers')
                pose = np.array(parts[3:], np.float64).reshape(4, 4).astype(np.float32)
                images.append((parts[1], parts[2], k, pose))
        except ValueError as e:
            raise ValueError(f'Matterport camera file {path}, line {n}: {e}') from e
    return images


@DATASETS.register_module()
class Matterport3DDataset(RGBDFramesDataset):
    """Matterport3D: 90 buildings captured with a Matterport Pro camera (three Primesense
    sensors on a rotating tripod, 18 images per panorama), the undistorted images.

    Layout (niessner/Matterport ``data_organization.md``; ``download_mp.py --type
    undistorted_color_images undistorted_depth_images undistorted_camera_parameters`` then
    unzipping each scan's zips)::

        data_root/                                             (e.g. v1/scans)
            17DRP5sb8fy/                                       a scan (house)
                undistorted_color_images/<uuid>_i<cam>_<yaw>.jpg   colour, 1280x1024
                undistorted_depth_images/<uuid>_d<cam>_<yaw>.png   uint16, 0.25 mm
                undistorted_camera_parameters/17DRP5sb8fy.conf     intrinsics per image

    (``<uuid>`` the panorama, ``<cam>`` 0-2 the sensor, ``<yaw>`` 0-5 the tripod's turn.) A
    scan folder holding a folder of its own name with these folders (zips unpacked into the
    scan's folder) is read as well.

    **Frames.** The ``scan`` lines of the scan's ``.conf`` file, in its order: each names the
    depth and colour image of one shot. Without the ``.conf`` file the colour images are
    paired by name (``_i<cam>_<yaw>.jpg`` with ``_d<cam>_<yaw>.png``), without intrinsics
    (logged). ``scene`` is the scan, ``frame_id`` ``'<uuid>_<cam>_<yaw>'``.

    **Depth** ``'matterport'``: uint16 z-depth (not the Euclidean distance), 0.25 mm per unit
    (/ 4000), 0 = no reading.

    **Intrinsics** per image: the ``intrinsics_matrix fx 0 cx 0 fy cy 0 0 1`` preceding its
    ``scan`` line; colour and depth are undistorted to that camera, so
    ``depth_intrinsics`` = ``color_intrinsics``, as written. The camera-to-world matrix of the
    ``scan`` line is kept as ``pose`` ((4, 4); the canonical camera of the file looks down -z
    with y up, not ScanNet's convention).

    Licence: Matterport3D Terms of Use (non-commercial academic use, signed agreement).

    Args:
        data_root (str): the folder holding the scan folders.
        ann_file (str): optional scan list, one scan per line (e.g. the benchmark's
            ``scenes_train.txt``); relative paths are joined to ``data_root``. Defaults to ''
            (every scan folder).
        scans (Sequence[str], optional): the scans to read, instead of ``ann_file``.
        **kwargs: arguments of :class:`~mask3d_mm.datasets.RGBDFramesDataset` (``frame_skip``,
            ``encoding``, ``skip_incomplete`` (images of the ``.conf`` missing on disk are
            skipped and counted), ``pipeline``, ...).
    """

    DEPTH_ENCODING = 'matterport'
    SOURCE = 'matterport3d'
    LAYOUT = ('scan folders <scan>/undistorted_color_images/<uuid>_i<cam>_<yaw>.jpg, '
              '<scan>/undistorted_depth_images/<uuid>_d<cam>_<yaw>.png and '
              '<scan>/undistorted_camera_parameters/<scan>.conf (Matterport3D)')
    METAINFO: dict = dict(dataset_name='Matterport3D undistorted')

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 scans: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        self.scans = scans
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    # ---- layout --------------------------------------------------------------------------------
    def _scan_dir(self, scan: str) -> Optional[str]:
        """The folder holding the scan's ``undistorted_*`` folders, or None."""
        d = self.join(self.data_root, scan)
        for cand in (d, self.join(d, scan)):
            if self.isdir(self.join(cand, DEPTH_DIR)):
                return cand
        return None

    def _found_scans(self) -> Dict[str, str]:
        root = self.data_root
        if not self.isdir(root):
            raise self.layout_error(root, 'is not a folder')
        found = {}
        for scan in list_dirs(root, self.backend_args):
            d = self._scan_dir(scan)
            if d is not None:
                found[scan] = d
        if not found:
            hint = None
            if self.isdir(self.join(root, DEPTH_DIR)) or self.isdir(self.join(root, COLOR_DIR)):
                hint = ('this looks like one scan folder: point data_root at the folder holding '
                        'the scan folders, and select scans with scans=[...]')
            elif self.isdir(self.join(root, 'v1')) or self.isdir(self.join(root, 'scans')):
                hint = 'point data_root at v1/scans'
            elif any(n.endswith('.zip') for n in list_files(root, self.backend_args,
                                                             recursive=False)):
                hint = 'unzip the downloaded zip files first'
            raise self.layout_error(root, f'holds no scan folder with {DEPTH_DIR}/',
                                    found_hint=hint)
        return found

    def _listing(self, folder: str) -> Set[str]:
        return set(list_files(folder, self.backend_args)) if self.isdir(folder) else set()

    # ---- RGBDFramesDataset API -----------------------------------------------------------------
    def scan(self) -> List[dict]:
        """The frames of the selected scans (see the class docstring).

        Returns:
            list[dict]: per frame ``img_path``, ``depth_path``, ``scene`` (scan), ``frame_id``
            (``'<uuid>_<cam>_<yaw>'``) and, from the ``.conf`` file, ``depth_intrinsics`` /
            ``color_intrinsics`` ((3, 3) float32, 1280x1024) and ``pose``.
        """
        found = self._found_scans()
        scans = select_scenes(list(found), self.ann_file, self.scans, 'Matterport3DDataset',
                              self.backend_args)
        incomplete = Incomplete('Matterport3DDataset', self.skip_incomplete)
        frames, no_conf = [], []
        for scan in scans:
            d = found[scan]
            colour_dir, depth_dir = self.join(d, COLOR_DIR), self.join(d, DEPTH_DIR)
            colours, depths = self._listing(colour_dir), self._listing(depth_dir)
            if not self.isdir(colour_dir):
                raise self.layout_error(d, f'has no {COLOR_DIR}/ folder (the colour images)')
            conf = self.join(d, CAMERA_DIR, f'{scan}.conf')
            if self.exists(conf):
                shots = read_undistorted_conf(conf, self.backend_args)
            else:
                no_conf.append(scan)
                shots = []
                for name in sorted(colours):
                    m = _COLOR.match(name)
                    if m:
                        shots.append((f'{m["uuid"]}_d{m["cam"]}_{m["yaw"]}.png', name, None,
                                      None))
            for depth_name, colour_name, k, pose in shots:
                lacking = [self.join(folder, n) for folder, n, names in (
                    (depth_dir, depth_name, depths), (colour_dir, colour_name, colours))
                    if n not in names]
                if lacking:
                    incomplete.add(f'scan {scan}: {" and ".join(lacking)} not found')
                    continue
                m = _COLOR.match(colour_name)
                frame_id = (f'{m["uuid"]}_{m["cam"]}_{m["yaw"]}' if m else
                            colour_name.rsplit('.', 1)[0])
                frame = dict(img_path=self.join(colour_dir, colour_name),
                             depth_path=self.join(depth_dir, depth_name), scene=scan,
                             frame_id=frame_id)
                if k is not None:
                    frame['depth_intrinsics'] = k
                    frame['color_intrinsics'] = k.copy()
                    frame['depth_intrinsics_wh'] = frame['color_intrinsics_wh'] = MATTERPORT_SIZE
                    frame['pose'] = pose
                frames.append(frame)
        incomplete.log()
        if no_conf:
            MMLogger.get_current_instance().info(
                f'Matterport3DDataset: {len(no_conf)} scan(s) without '
                f'{CAMERA_DIR}/<scan>.conf ({", ".join(no_conf[:5])}'
                f'{", ..." if len(no_conf) > 5 else ""}): colour and depth paired by name, '
                'read without intrinsics')
        return frames
