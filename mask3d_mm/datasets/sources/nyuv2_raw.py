"""NYU Depth V2 raw Kinect dumps read in place (no conversion step)."""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.logging import MMLogger

from mask3d_mm.registry import DATASETS
from ..intrinsics import intrinsics_from
from ..rgbd_frames import RGBDFramesDataset
from .native_common import Incomplete, list_files, select_scenes

__all__ = ['NYUv2RawDataset', 'NYU_DEPTH_INTRINSICS', 'NYU_RGB_INTRINSICS', 'nyu_timestamp',
           'sync_frames']

# the NYU Depth V2 toolbox's camera_params.m (calibrated with RGBDemo), 640x480
NYU_SIZE = (640, 480)  # (W, H) the toolbox's camera_params.m are for
NYU_DEPTH_INTRINSICS = (5.8262448167737955e+02, 5.8269103270988637e+02,
                        3.1304475870804731e+02, 2.3844389626620386e+02)  # fx_d, fy_d, cx_d, cy_d
NYU_RGB_INTRINSICS = (5.1885790117450188e+02, 5.1946961112127485e+02,
                      3.2558244941119034e+02, 2.5373616633400465e+02)  # fx_rgb, ..., cy_rgb


def nyu_timestamp(name: str) -> float:
    """The time of a raw dump file, as ``get_synched_frames.m`` parses it:
    ``'d-1315166703.129542-2466101961.pgm'`` -> ``1315166703.129542`` (seconds; the number after
    it is the Kinect's own frame counter)."""
    return float(name[2:].split('-')[0])


def sync_frames(depth_names: Sequence[str], rgb_names: Sequence[str]
                ) -> List[Tuple[str, str, float]]:
    """Pair each depth frame with a colour frame as the toolbox's ``get_synched_frames.m``.

    Both lists are sorted as strings (the toolbox sorts the names of ``ls``; libfreenect's
    ``%f`` times have a fixed width, so this is time order). Every depth frame is kept (depth is
    "primary"); its colour frame is found by a pointer into the colour frames that starts at the
    first and only moves forward: it advances while the next colour frame is not farther in time
    (``abs`` difference; on a tie it advances, i.e. the later colour frame wins). Several depth
    frames may share a colour frame.

    Returns:
        list[tuple]: ``(depth_name, rgb_name, time_difference)`` per depth frame, in order.
    """
    depth_names, rgb_names = sorted(depth_names), sorted(rgb_names)
    if not rgb_names:
        return []
    rgb_times = [nyu_timestamp(n) for n in rgb_names]
    pairs, j = [], 0
    for name in depth_names:
        t = nyu_timestamp(name)
        diff = abs(t - rgb_times[j])
        while j + 1 < len(rgb_times):
            nxt = abs(t - rgb_times[j + 1])
            if nxt > diff:
                break
            diff, j = nxt, j + 1
        pairs.append((name, rgb_names[j], diff))
    return pairs


@DATASETS.register_module()
class NYUv2RawDataset(RGBDFramesDataset):
    """NYU Depth V2 raw Kinect dumps, in the scene folders the raw zips unpack to.

    ::

        data_root/
            bedroom_0001/                        (scene folders, at any depth below data_root:
                                                  the per-type zips' folders are fine)
                INDEX.txt                        (the dump's file list, not needed)
                r-1294886363.011060-3164794231.ppm   (colour, 640x480 P6)
                d-1294886362.981013-3163254528.pgm   (raw Kinect depth, 640x480 16-bit P5)
                a-1294886363.017891-3164863495.dump  (accelerometer, not read)
                ...

    Upstream: the raw dump of https://cs.nyu.edu/~silberman/datasets/nyu_depth_v2.html and the
    NYU Depth V2 toolbox (``get_synched_frames.m``, ``camera_params.m``,
    ``depth_rel2depth_abs.m``). The files are libfreenect's ``record`` dump: names
    ``<type>-<seconds, %f>-<Kinect timestamp, %u>.<ext>``; the PGM header states 16-bit (big
    endian by the PGM standard) but the bytes are the Kinect's little-endian values, hence the
    toolbox's ``swapbytes(imread(...))``.

    - **Frame:** one per depth file ``d-*.pgm``, with the colour file ``r-*.ppm`` nearest in time
      as ``get_synched_frames.m`` pairs them (see :func:`sync_frames`: depth is primary, a
      forward-moving pointer over the time-sorted colour frames, ties to the later one; the
      toolbox keeps every depth frame, so does ``max_time_difference=None``). ``scene`` is the
      scene folder relative to ``data_root``, ``frame_id`` the depth file's stem, ``timestamp``
      its time (seconds), ``time_difference`` the gap to its colour frame (seconds).
    - **Encoding:** ``'nyu_raw'``: bytes swapped, then ``351.3 / (1092.5 - v)`` metres
      (``depth_rel2depth_abs.m``); 2047 (no return) and values giving no positive depth are
      invalid. The toolbox clips at 10 m; here ``LoadDepthFromFile(max_depth)`` does.
    - **Intrinsics:** the toolbox's ``camera_params.m``: ``depth_intrinsics`` (fx_d, fy_d,
      cx_d, cy_d) and ``color_intrinsics`` (fx_rgb, ...), both for 640x480. The raw depth is
      NOT registered to the colour camera: the toolbox projects it (``project_depth_map.m``,
      with distortion and the 2.5 cm stereo baseline). ``AlignColorToDepth`` warps the colour
      image through the two intrinsics only (no distortion, no baseline): a close, not exact,
      registration. For exact pixels use the toolbox's projected frames instead.
    - **Licence:** research data without a licence file: cite Silberman et al., ECCV 2012.

    Args:
        data_root (str): the folder holding the unpacked scene folders.
        ann_file (str): optional scene list, one scene folder per line (relative to
            ``data_root``); ``#`` comments. Defaults to ''.
        scenes (Sequence[str], optional): scene folders, instead of ``ann_file``.
        max_time_difference (float, optional): drop depth frames whose colour frame is more
            than this many seconds away (logged). None keeps all, as the toolbox. Defaults to
            None.
        **kwargs: arguments of :class:`~mask3d_mm.datasets.RGBDFramesDataset` (``frame_skip``,
            ``encoding``, ``skip_incomplete``: skip scenes with depth but no colour frames,
            ``skip_bad_frames``: the dumps hold some truncated files, ``backend_args``,
            ``pipeline``, ...).
    """

    DEPTH_ENCODING = 'nyu_raw'
    SOURCE = 'nyuv2_raw'
    LAYOUT = ('NYUv2 raw dump: scene folders (e.g. bedroom_0001/) holding d-<time>-<n>.pgm depth '
              'and r-<time>-<n>.ppm colour files')
    METAINFO = dict(dataset_name='NYU Depth V2 raw')

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 scenes: Optional[Sequence[str]] = None,
                 max_time_difference: Optional[float] = None,
                 **kwargs) -> None:
        if max_time_difference is not None and not max_time_difference > 0:
            raise ValueError(f'max_time_difference must be positive or None, got '
                             f'{max_time_difference!r}')
        self.scenes = scenes
        self.max_time_difference = max_time_difference
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    def _scene_files(self) -> Dict[str, Dict[str, List[str]]]:
        """Scene folder (relative to ``data_root``, ``''`` for data_root itself) ->
        ``{'d': depth names, 'r': colour names}``, from one recursive listing."""
        found: Dict[str, Dict[str, List[str]]] = defaultdict(lambda: defaultdict(list))
        for rel in list_files(self.data_root, self.backend_args, recursive=True):
            folder, _, name = rel.rpartition('/')
            if name.startswith('d-') and name.lower().endswith('.pgm'):
                found[folder]['d'].append(name)
            elif name.startswith('r-') and name.lower().endswith('.ppm'):
                found[folder]['r'].append(name)
        return found

    def scan(self) -> List[dict]:
        """The synchronised frames of each scene folder (sorted by path), in time order."""
        owner = type(self).__name__
        root = self.data_root
        if not self.isdir(root):
            raise self.layout_error(root, 'is not a folder')
        found = self._scene_files()
        if not any(f['d'] for f in found.values()):
            hint = None
            if any(f['r'] for f in found.values()):
                hint = 'colour files r-*.ppm but no depth files d-*.pgm'
            elif found == {} and any(
                    n.lower().endswith('.zip') for n in list_files(root, self.backend_args)):
                hint = 'unzip the raw dump zips first'
            raise self.layout_error(root, 'holds no raw dump scene folder (d-*.pgm files)',
                                    hint)
        names = select_scenes(sorted(s for s in found if found[s]['d']), self.ann_file,
                              self.scenes, owner, self.backend_args)
        k_depth, k_rgb = intrinsics_from(*NYU_DEPTH_INTRINSICS), intrinsics_from(
            *NYU_RGB_INTRINSICS)
        incomplete = Incomplete(owner, self.skip_incomplete)
        frames, dropped = [], 0
        for scene in names:
            folder = self.join(root, scene) if scene else root
            files = found[scene]
            if not files['r']:
                incomplete.add(f'scene {folder} has {len(files["d"])} depth files d-*.pgm '
                               'but no colour file r-*.ppm')
                continue
            for depth, rgb, diff in sync_frames(files['d'], files['r']):
                if self.max_time_difference is not None and diff > self.max_time_difference:
                    dropped += 1
                    continue
                frames.append(dict(img_path=self.join(folder, rgb),
                                   depth_path=self.join(folder, depth),
                                   scene=scene or root.rstrip('/').rsplit('/', 1)[-1],
                                   frame_id=depth[:-len('.pgm')], timestamp=nyu_timestamp(depth),
                                   time_difference=diff, depth_intrinsics=k_depth,
                                   color_intrinsics=k_rgb, depth_intrinsics_wh=NYU_SIZE,
                                   color_intrinsics_wh=NYU_SIZE))
        incomplete.log()
        if dropped:
            MMLogger.get_current_instance().info(
                f'{owner}: dropped {dropped} depth frame(s) whose nearest colour frame is more '
                f'than max_time_difference={self.max_time_difference} s away')
        return frames
