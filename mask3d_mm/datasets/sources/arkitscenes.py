"""ARKitScenes (Apple), the ``raw`` dataset, read where ``download_data.py raw`` unpacks it."""
import bisect
import csv
import io
import re
from typing import Dict, List, Optional, Sequence

import mmengine.fileio as fileio
from mmengine.logging import MMLogger

from mask3d_mm.registry import DATASETS
from ..intrinsics import read_pincam
from ..rgbd_frames import RGBDFramesDataset
from .native_common import Incomplete, list_dirs, list_files, read_scene_list

__all__ = ['ARKitScenesDataset', 'read_video_ids', 'nearest_within']

# the file names of the raw assets: <video_id>_<timestamp>.<ext>, timestamp in seconds
_FRAME_NAME = re.compile(r'^(?P<video>[^_/]+)_(?P<ts>\d+(?:\.\d+)?)\.(?P<ext>png|pincam)$')
_SPLITS = ('Training', 'Validation')


def read_video_ids(path: str, fold: Optional[str] = None,
                   backend_args: Optional[dict] = None) -> List[str]:
    """Video ids of a list file: ARKitScenes' CSVs (``raw/raw_train_val_splits.csv``,
    ``metadata.csv``: a ``video_id`` column, and a ``fold`` column whose rows of ``fold`` are
    kept when ``fold`` is given), or one id per line.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a CSV without a ``video_id`` column, or no id.
    """
    if not fileio.exists(path, backend_args=backend_args):
        raise FileNotFoundError(f'video list {path} does not exist')
    text = fileio.get_text(path, backend_args=backend_args)
    first = text.lstrip().split('\n', 1)[0]
    if ',' not in first:
        return read_scene_list(path, backend_args)
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or 'video_id' not in rows[0]:
        raise ValueError(f'video list {path} is a CSV without a video_id column (its header: '
                         f'{first.strip()}); expected ARKitScenes\' raw_train_val_splits.csv or '
                         'metadata.csv, or one video id per line')
    if fold is not None and 'fold' in rows[0]:
        rows = [r for r in rows if r['fold'] == fold]
    ids = [str(int(float(r['video_id']))) for r in rows if r['video_id'].strip()]
    if not ids:
        raise ValueError(f'video list {path} names no video'
                         + (f' of fold {fold}' if fold is not None else ''))
    return ids


def nearest_within(times: Sequence[float], t: float, tolerance: float) -> Optional[int]:
    """Index of the element of the sorted ``times`` nearest to ``t`` if within ``tolerance``
    (seconds), else None."""
    i = bisect.bisect_left(times, t)
    best = None
    for j in (i - 1, i):
        if 0 <= j < len(times) and abs(times[j] - t) <= tolerance + 1e-9:
            if best is None or abs(times[j] - t) < abs(times[best] - t):
                best = j
    return best


@DATASETS.register_module()
class ARKitScenesDataset(RGBDFramesDataset):
    """ARKitScenes ``raw`` videos: the iPad Pro's low-resolution wide colour and LiDAR depth.

    Layout (apple/ARKitScenes ``DATA.md`` and ``raw/README.md``; ``python download_data.py raw
    --split Training --video_id_csv raw/raw_train_val_splits.csv --download_dir DIR
    --raw_dataset_assets lowres_wide lowres_depth lowres_wide_intrinsics confidence``)::

        DIR/raw/Training/                                   <- data_root (or raw/Validation)
            41069025/                                       one video (video_id)
                lowres_wide/41069025_3052.107.png           colour, 256x192, 8-bit RGB
                lowres_depth/41069025_3052.107.png          uint16 millimetres, 256x192
                confidence/41069025_3052.107.png            optional, uint8 0 low, 1, 2 high
                lowres_wide_intrinsics/41069025_3052.107.pincam
                                                            optional, "w h fx fy cx cy"
                lowres_wide.traj, mov, mesh, ...            (not read)
        DIR/raw/metadata.csv                                (video_id, fold, sky_direction, ...)

    The 3DOD download's per-video ``<video_id>_frames/`` folder (``3dod/Training/<video_id>/
    <video_id>_frames/lowres_wide/...``, same file names) is read as well.

    **Frames.** One per ``lowres_depth`` file, paired with the ``lowres_wide`` image of the same
    name. The raw README states that the 60 fps assets (``lowres_wide``, ``lowres_depth``,
    ``confidence``) are synchronised, with no guarantee that every asset exists for every
    timestamp; upstream's ``TenFpsDataLoader`` reads depth and colour of the same name and
    finds ``.pincam`` files up to 1 ms off the frame's timestamp. So: colour and depth pair by
    name, else by the nearest timestamp within ``max_time_diff`` (2 ms; frames are ~17 ms
    apart); the same for the intrinsics. Depth frames without colour are left out (counted in
    an info log line), as is colour without depth. ``scene`` is the video id, ``frame_id`` the
    timestamp as named (``'3052.107'``), ``timestamp`` its float; frames are in time order.

    **Depth** ``'arkit'``: uint16 millimetres, 0 = no depth (DATA.md). ``confidence_path``
    is set when the video has ``confidence/`` (0 low, 1 medium, 2 high): drop low-confidence
    pixels with ``LoadDepthFromFile(min_confidence=1)`` or ``2``.

    **Intrinsics** from the frame's ``.pincam`` (``width height fx fy cx cy``, 256x192):
    ``depth_intrinsics`` = ``color_intrinsics`` (ARKit's scene depth is registered to the wide
    camera's image). One small file per frame is read at build (``intrinsics=False`` skips
    them). Frames keep the device orientation of the capture (the ``sky_direction`` of
    ``metadata.csv`` is not applied).

    Licence: ARKitScenes data is CC BY-NC-SA 4.0 (non-commercial).

    Args:
        data_root (str): a split folder of the raw download (``.../raw/Training`` or
            ``.../raw/Validation``) holding the video folders.
        ann_file (str): optional video list: ARKitScenes' ``raw/raw_train_val_splits.csv`` or
            ``metadata.csv`` (``video_id`` column; when ``data_root`` is named ``Training`` or
            ``Validation``, the rows of that ``fold``), or one video id per line. Relative
            paths are joined to ``data_root``. Defaults to '' (every video folder).
        video_ids (Sequence[str], optional): the videos to read, instead of ``ann_file``.
        max_time_diff (float): largest timestamp difference (seconds) of colour, depth and
            intrinsics paired without the same name. Defaults to 0.002.
        intrinsics (bool): read the ``.pincam`` files. Defaults to True.
        confidence (bool): set ``confidence_path`` where the confidence map exists. Defaults
            to True.
        **kwargs: arguments of :class:`~mask3d_mm.datasets.RGBDFramesDataset` (``frame_skip``,
            ``encoding``, ``skip_incomplete`` (videos of the list missing under ``data_root``
            are skipped and counted instead of an error), ``pipeline``, ...).
    """

    DEPTH_ENCODING = 'arkit'
    SOURCE = 'arkitscenes'
    LAYOUT = ('video folders <video_id>/lowres_wide/<video_id>_<timestamp>.png and '
              '<video_id>/lowres_depth/<video_id>_<timestamp>.png (ARKitScenes raw; '
              'data_root = raw/Training or raw/Validation)')
    METAINFO: dict = dict(dataset_name='ARKitScenes raw')

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 video_ids: Optional[Sequence[str]] = None,
                 max_time_diff: float = 0.002,
                 intrinsics: bool = True,
                 confidence: bool = True,
                 **kwargs) -> None:
        if ann_file and video_ids is not None:
            raise ValueError('ARKitScenesDataset: give either ann_file or video_ids, not both')
        if isinstance(video_ids, (str, int)):
            video_ids = [video_ids]
        if video_ids is not None and not list(video_ids):
            raise ValueError('ARKitScenesDataset: video_ids is an empty list')
        if not max_time_diff >= 0:
            raise ValueError(f'max_time_diff must be >= 0 seconds, got {max_time_diff}')
        self.video_ids = None if video_ids is None else [str(v) for v in video_ids]
        self.max_time_diff = float(max_time_diff)
        self.read_intrinsics = intrinsics
        self.read_confidence = confidence
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    # ---- layout --------------------------------------------------------------------------------
    def _frames_dir(self, video_dir: str, video_id: str) -> Optional[str]:
        """The folder holding a video's asset folders: the video folder (raw) or its
        ``<video_id>_frames/`` (3DOD); None: neither has ``lowres_depth/``."""
        for d in (video_dir, self.join(video_dir, f'{video_id}_frames')):
            if self.isdir(self.join(d, 'lowres_depth')):
                return d
        return None

    def _videos(self) -> List[str]:
        """The video folders to read (names under ``data_root``)."""
        root = self.data_root
        if not self.isdir(root):
            raise self.layout_error(root, 'is not a folder')
        found = list_dirs(root, self.backend_args)
        if self.video_ids is not None or self.ann_file:
            if self.ann_file:
                base = root.rstrip('/').rsplit('/', 1)[-1]
                wanted = read_video_ids(self.ann_file, base if base in _SPLITS else None,
                                        self.backend_args)
                where = f'video list {self.ann_file}'
            else:
                wanted, where = self.video_ids, 'video_ids'
            known = set(found)
            missing = [v for v in wanted if v not in known]
            if missing:
                msg = (f'{len(missing)} video(s) of {where} not under {root}: '
                       f'{", ".join(missing[:5])}{", ..." if len(missing) > 5 else ""}')
                if not self.skip_incomplete:
                    raise FileNotFoundError(f'ARKitScenesDataset: {msg} (skip_incomplete=True '
                                            'skips them)')
                MMLogger.get_current_instance().warning(
                    f'ARKitScenesDataset: skipped {msg} (skip_incomplete=True)')
            return [v for v in wanted if v in known]
        videos = [v for v in found if self._frames_dir(self.join(root, v), v) is not None]
        if not videos:
            hint = None
            if any(s in found for s in _SPLITS):
                hint = ('this looks like the raw download folder: point data_root at its '
                        'Training/ or Validation/ folder')
            elif self.isdir(self.join(root, 'lowres_depth')) or self.isdir(
                    self.join(root, 'lowres_wide')):
                hint = ('this looks like one video folder: point data_root at the folder '
                        'holding the video folders, and select videos with video_ids')
            raise self.layout_error(root, 'holds no video folder with a lowres_depth/ folder',
                                    found_hint=hint)
        return videos

    def _check_video(self, video_dir: str, video_id: str) -> str:
        frames_dir = self._frames_dir(video_dir, video_id)
        if frames_dir is None:
            hint = None
            if self.isdir(self.join(video_dir, 'highres_depth')) or self.isdir(
                    self.join(video_dir, 'wide')):
                hint = ('this looks like the depth upsampling download (wide/, highres_depth/): '
                        'download the raw assets lowres_wide lowres_depth lowres_wide_intrinsics '
                        'confidence (download_data.py raw --raw_dataset_assets ...)')
            raise self.layout_error(video_dir, 'has no lowres_depth/ folder', found_hint=hint)
        if not self.isdir(self.join(frames_dir, 'lowres_wide')):
            raise self.layout_error(frames_dir, 'has no lowres_wide/ folder (the colour frames)')
        return frames_dir

    def _timed_files(self, folder: str, video_id: str, ext: str) -> Dict[float, str]:
        """timestamp -> file name of ``folder``'s ``<video_id>_<ts>.<ext>`` files ({} when the
        folder does not exist)."""
        if not self.isdir(folder):
            return {}
        out = {}
        for name in list_files(folder, self.backend_args, suffix=f'.{ext}'):
            m = _FRAME_NAME.match(name)
            if m and m['video'] == video_id:
                out[float(m['ts'])] = name
        return out

    def _match(self, files: Dict[float, str], times: List[float], t: float) -> Optional[str]:
        """The file of ``files`` (timestamp -> name; ``times``: its sorted keys) of timestamp
        ``t`` (the same name), else the nearest within ``max_time_diff``."""
        j = nearest_within(times, t, self.max_time_diff)
        return None if j is None else files[times[j]]

    # ---- RGBDFramesDataset API -----------------------------------------------------------------
    def scan(self) -> List[dict]:
        """The frames of the selected videos (see the class docstring).

        Returns:
            list[dict]: per frame ``img_path``, ``depth_path``, ``scene`` (video id),
            ``frame_id`` (timestamp as named), ``timestamp`` and, where the video has them,
            ``depth_intrinsics`` / ``color_intrinsics`` ((3, 3) float32, 256x192) and
            ``confidence_path``.
        """
        logger = MMLogger.get_current_instance()
        incomplete = Incomplete('ARKitScenesDataset', self.skip_incomplete)
        frames: List[dict] = []
        no_colour = no_depth = no_k = 0
        for video_id in self._videos():
            fdir = self._check_video(self.join(self.data_root, video_id), video_id)
            depth = self._timed_files(self.join(fdir, 'lowres_depth'), video_id, 'png')
            colour = self._timed_files(self.join(fdir, 'lowres_wide'), video_id, 'png')
            conf = (self._timed_files(self.join(fdir, 'confidence'), video_id, 'png')
                    if self.read_confidence else {})
            pincams = (self._timed_files(self.join(fdir, 'lowres_wide_intrinsics'), video_id,
                                         'pincam') if self.read_intrinsics else {})
            if not depth:
                incomplete.add(f'video {video_id}: {self.join(fdir, "lowres_depth")} holds no '
                               f'{video_id}_<timestamp>.png file')
                continue
            c_times, k_times = sorted(colour), sorted(pincams)
            used_colour = set()
            for t in sorted(depth):
                name = depth[t]
                img = self._match(colour, c_times, t)
                if img is None:
                    no_colour += 1
                    continue
                used_colour.add(img)
                frame = dict(img_path=self.join(fdir, 'lowres_wide', img),
                             depth_path=self.join(fdir, 'lowres_depth', name),
                             scene=video_id, frame_id=name[len(video_id) + 1:-len('.png')],
                             timestamp=t)
                if t in conf:
                    frame['confidence_path'] = self.join(fdir, 'confidence', conf[t])
                if self.read_intrinsics:
                    pincam = self._match(pincams, k_times, t)
                    if pincam is None:
                        no_k += 1
                    else:
                        k, k_wh = read_pincam(self.join(fdir, 'lowres_wide_intrinsics', pincam),
                                           self.backend_args)
                        frame['depth_intrinsics'] = k
                        frame['color_intrinsics'] = k.copy()
                        frame['depth_intrinsics_wh'] = frame['color_intrinsics_wh'] = k_wh
                frames.append(frame)
            no_depth += len(colour) - len(used_colour)
        incomplete.log()
        if no_colour or no_depth or no_k:
            logger.info(f'ARKitScenesDataset: {len(frames)} frames; left out {no_colour} depth '
                        f'frame(s) without a colour frame within {self.max_time_diff:g} s and '
                        f'{no_depth} colour frame(s) without depth; {no_k} frame(s) without a '
                        '.pincam within that time (read without intrinsics)')
        return frames
