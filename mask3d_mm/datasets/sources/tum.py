"""TUM RGB-D benchmark sequences read where their ``.tgz`` unpacks (no conversion step)."""
import bisect
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmengine.fileio as fileio
from mmengine.logging import MMLogger

from mask3d_mm.registry import DATASETS
from ..intrinsics import intrinsics_from
from ..rgbd_frames import RGBDFramesDataset
from .native_common import Incomplete, list_dirs, select_scenes

__all__ = ['TUMRGBDDataset', 'TUM_CAMERAS', 'read_file_list', 'associate']

# TUM RGB-D "File Formats" page, intrinsic calibration of the colour cameras (640x480), and the
# ROS default the page also lists; (fx, fy, cx, cy)
TUM_CAMERAS: Dict[str, Tuple[float, float, float, float]] = {
    'freiburg1': (517.3, 516.5, 318.6, 255.3),
    'freiburg2': (520.9, 521.0, 325.1, 249.7),
    'freiburg3': (535.4, 539.2, 320.1, 247.6),
    'ros_default': (525.0, 525.0, 319.5, 239.5),
}
TUM_SIZE = (640, 480)  # (W, H) TUM's calibrations are for
_CAMERA_IN_NAME = re.compile(r'freiburg([123])')


def read_file_list(text: str) -> Dict[float, List[str]]:
    """Parse ``rgb.txt`` / ``depth.txt`` as the benchmark's ``associate.py`` does: commas and
    tabs are spaces, lines starting with ``#`` are comments, each other line is ``timestamp
    data...`` (lines with a timestamp only are dropped; a repeated timestamp keeps the last).

    Returns:
        dict: timestamp (float seconds) -> the rest of the line's fields.
    """
    entries = {}
    for line in text.replace(',', ' ').replace('\t', ' ').split('\n'):
        if not line or line[0] == '#':
            continue
        fields = [v.strip() for v in line.split(' ') if v.strip()]
        if len(fields) > 1:
            entries[float(fields[0])] = fields[1:]
    return entries


def associate(first: Sequence[float], second: Sequence[float], offset: float = 0.0,
              max_difference: float = 0.02) -> List[Tuple[float, float]]:
    """Match two lists of timestamps as the benchmark's ``associate.py``.

    Candidates are the pairs with ``abs(a - (b + offset)) < max_difference``; they are taken
    greedily in the order of (difference, a, b), each timestamp used at most once; the matches
    are returned sorted by ``a``. Same result as ``associate.py``'s all-pairs loop, with the
    candidates of each ``a`` found by bisection.

    Returns:
        list[tuple]: ``(a, b)`` pairs.
    """
    seconds = sorted(second)
    shifted = [b + offset for b in seconds]
    candidates = []
    for a in first:
        lo = bisect.bisect_left(shifted, a - max_difference)
        hi = bisect.bisect_right(shifted, a + max_difference)
        for b, sb in zip(seconds[lo:hi], shifted[lo:hi]):
            diff = abs(a - sb)
            if diff < max_difference:
                candidates.append((diff, a, b))
    candidates.sort()
    free_a, free_b, matches = set(first), set(seconds), []
    for _, a, b in candidates:
        if a in free_a and b in free_b:
            free_a.remove(a)
            free_b.remove(b)
            matches.append((a, b))
    matches.sort()
    return matches


@DATASETS.register_module()
class TUMRGBDDataset(RGBDFramesDataset):
    """TUM RGB-D benchmark sequences, as their ``.tgz`` archives unpack.

    ::

        data_root/
            rgbd_dataset_freiburg1_xyz/     (a sequence; data_root may be one sequence too)
                rgb.txt                     ("timestamp filename" lines, "#" comments)
                depth.txt
                rgb/1305031102.175304.png   (colour, 640x480)
                depth/1305031102.160407.png (uint16, 5000 per metre, 0 = no depth)
                groundtruth.txt, accelerometer.txt  (not read)

    Upstream: https://cvg.cit.tum.de/data/datasets/rgbd-dataset/file_formats ("File Formats":
    the lists, "depth images are scaled by a factor of 5000", the intrinsic calibration) and
    the benchmark's ``associate.py`` (tools page).

    - **Frame:** a colour frame of ``rgb.txt`` with the depth frame of ``depth.txt``
      associated as ``associate.py rgb.txt depth.txt`` does (:func:`associate`: pairs closer
      than ``max_difference`` = 0.02 s after adding ``offset`` = 0 to the depth times, taken
      greedily by smallest difference, each frame used once); colour frames without a depth
      frame that close are not frames. In colour time order; ``scene`` is the sequence folder
      name, ``frame_id`` the colour timestamp as written, ``timestamp`` its value (seconds),
      ``depth_timestamp`` the depth's.
    - **Encoding:** ``'tum'``: uint16 / 5000 = metres, 0 = no depth.
    - **Intrinsics:** TUM's published calibration of the sequence's colour camera, from the
      name (``freiburg1``: fx 517.3, fy 516.5, cx 318.6, cy 255.3; ``freiburg2``: 520.9, 521.0,
      325.1, 249.7; ``freiburg3``: 535.4, 539.2, 320.1, 247.6), as ``color_intrinsics`` and
      ``depth_intrinsics``: TUM's depth is pre-registered to the colour camera by the OpenNI
      driver ("the pixels in the color and depth images correspond already 1:1"). The
      published distortion (fr1, fr2) is not applied. ``camera`` overrides the choice (e.g.
      ``'ros_default'``: 525, 525, 319.5, 239.5).
    - **Licence:** CC BY 4.0 (TUM RGB-D benchmark): cite Sturm et al., IROS 2012.

    Args:
        data_root (str): a folder of sequence folders, or one sequence folder.
        ann_file (str): optional sequence list, one folder name per line; ``#`` comments.
            Defaults to ''.
        scenes (Sequence[str], optional): sequence folder names, instead of ``ann_file``.
        max_difference (float): ``associate.py``'s ``--max_difference`` (seconds). Defaults to
            0.02.
        offset (float): ``associate.py``'s ``--offset``, added to the depth times (seconds).
            Defaults to 0.0.
        camera (str | Sequence[float], optional): ``'freiburg1'``, ``'freiburg2'``,
            ``'freiburg3'``, ``'ros_default'`` or ``(fx, fy, cx, cy)`` for every sequence. None:
            from each sequence's name; a name naming no camera gets no intrinsics (logged).
            Defaults to None.
        **kwargs: arguments of :class:`~mask3d_mm.datasets.RGBDFramesDataset` (``frame_skip``,
            ``encoding``, ``skip_incomplete``: skip sequences whose lists are missing,
            ``skip_bad_frames``, ``backend_args``, ``pipeline``, ...).
    """

    DEPTH_ENCODING = 'tum'
    SOURCE = 'tum'
    LAYOUT = ('TUM RGB-D: sequence folders (rgbd_dataset_freiburg1_xyz/) holding rgb.txt, '
              'depth.txt, rgb/*.png and depth/*.png')
    METAINFO = dict(dataset_name='TUM RGB-D')

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 scenes: Optional[Sequence[str]] = None,
                 max_difference: float = 0.02,
                 offset: float = 0.0,
                 camera: Union[str, Sequence[float], None] = None,
                 **kwargs) -> None:
        if not max_difference > 0:
            raise ValueError(f'max_difference must be positive, got {max_difference!r}')
        if isinstance(camera, str) and camera not in TUM_CAMERAS:
            raise ValueError(f'unknown TUM camera {camera!r}; choose from {list(TUM_CAMERAS)} '
                             'or give (fx, fy, cx, cy)')
        if camera is not None and not isinstance(camera, str):
            camera = tuple(float(v) for v in camera)
            if len(camera) != 4:
                raise ValueError(f'camera must be a name or (fx, fy, cx, cy), got {camera}')
        self.scenes = scenes
        self.max_difference = float(max_difference)
        self.offset = float(offset)
        self.camera = camera
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    def _is_sequence(self, folder: str) -> bool:
        return self.exists(self.join(folder, 'rgb.txt')) and self.exists(
            self.join(folder, 'depth.txt'))

    def _intrinsics(self, sequence: str):
        camera = self.camera
        if camera is None:
            match = _CAMERA_IN_NAME.search(sequence)
            if match is None:
                MMLogger.get_current_instance().warning(
                    f'{type(self).__name__}: sequence {sequence} names no camera (freiburg1/2/3):'
                    ' its frames get no intrinsics (set camera=...)')
                return None
            camera = f'freiburg{match.group(1)}'
        return intrinsics_from(*(TUM_CAMERAS[camera] if isinstance(camera, str) else camera))

    def scan(self) -> List[dict]:
        """The associated frames of each sequence (sorted by name), in colour time order."""
        owner = type(self).__name__
        root = self.data_root.rstrip('/')
        if not self.isdir(root):
            raise self.layout_error(root, 'is not a folder')
        if self._is_sequence(root):
            folders = {root.rsplit('/', 1)[-1]: root}
        else:
            subdirs = list_dirs(root, self.backend_args)
            folders = {d: self.join(root, d) for d in subdirs
                       if self._is_sequence(self.join(root, d))}
            if not folders:
                hint = None
                if self.exists(self.join(root, 'rgb')) or self.exists(self.join(root, 'depth')):
                    hint = 'rgb/ and depth/ without rgb.txt and depth.txt: not a TUM sequence'
                raise self.layout_error(root, 'holds no sequence folder (rgb.txt + depth.txt)',
                                        hint)
        names = select_scenes(sorted(folders), self.ann_file, self.scenes, owner,
                              self.backend_args)
        incomplete = Incomplete(owner, self.skip_incomplete)
        frames = []
        for seq in names:
            folder = folders[seq]
            lists = {}
            for kind in ('rgb', 'depth'):
                path = self.join(folder, f'{kind}.txt')
                lists[kind] = read_file_list(fileio.get_text(path,
                                                             backend_args=self.backend_args))
                if not lists[kind]:
                    incomplete.add(f'{path} lists no frame ("timestamp filename" lines)')
            if not (lists['rgb'] and lists['depth']):
                continue
            matches = associate(list(lists['rgb']), list(lists['depth']), self.offset,
                                self.max_difference)
            k = self._intrinsics(seq)
            for t_rgb, t_depth in matches:
                frame = dict(img_path=self.join(folder, lists['rgb'][t_rgb][0]),
                             depth_path=self.join(folder, lists['depth'][t_depth][0]),
                             scene=seq, frame_id=self._stamp(lists['rgb'][t_rgb][0], t_rgb),
                             timestamp=t_rgb, depth_timestamp=t_depth)
                if k is not None:
                    frame.update(depth_intrinsics=k, color_intrinsics=k.copy(),
                                 depth_intrinsics_wh=TUM_SIZE, color_intrinsics_wh=TUM_SIZE)
                frames.append(frame)
        incomplete.log()
        return frames

    @staticmethod
    def _stamp(filename: str, t: float) -> str:
        """The colour timestamp as written in its file name (``rgb/1305031102.175304.png``),
        else ``'%.6f'`` of it."""
        stem = filename.rsplit('/', 1)[-1].rsplit('.', 1)[0]
        try:
            float(stem)
        except ValueError:
            return f'{t:.6f}'
        return stem
