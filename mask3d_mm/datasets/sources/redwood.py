"""Redwood RGB-D scans read where their archives unpack (no conversion step)."""
import bisect
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmengine.fileio as fileio

from mask3d_mm.registry import DATASETS
from ..intrinsics import intrinsics_from, read_intrinsics
from ..rgbd_frames import RGBDFramesDataset
from ..scannet_layout import frame_sort_key
from .native_common import Incomplete, list_dirs, list_files, select_scenes, split_name

__all__ = ['RedwoodDataset', 'REDWOOD_INTRINSICS', 'redwood_timestamp', 'pair_by_time']

# the Redwood scans' readme: "The focal length is 525 for both axes and the principal point is
# (319.5, 239.5)" (PrimeSense Carmine, 640x480); (fx, fy, cx, cy)
REDWOOD_SIZE = (640, 480)  # (W, H) of the default intrinsics
REDWOOD_INTRINSICS = (525.0, 525.0, 319.5, 239.5)
COLOR_DIRS = ('rgb', 'image', 'color')  # Redwood scans; Open3D's reconstruction system
PAIRINGS = ('auto', 'order', 'timestamp')
_COLOR_SUFFIXES = ('.jpg', '.jpeg', '.png')
_TIMED_NAME = re.compile(r'^(\d+)-(\d+)$')


def redwood_timestamp(name: str) -> Optional[float]:
    """Seconds of a ``<frame>-<microseconds>`` file name (``'0000012-000000400533.png'`` ->
    0.400533), None for other names."""
    match = _TIMED_NAME.match(split_name(name.rsplit('/', 1)[-1])[0])
    return int(match.group(2)) / 1e6 if match else None


def pair_by_time(color: Sequence[str], depth: Sequence[str]) -> List[Tuple[str, str, float]]:
    """Each colour frame with the depth frame nearest in time (the later on a tie).

    Returns:
        list[tuple]: ``(color_name, depth_name, time_difference)`` in colour time order.
    """
    depth = sorted(depth, key=redwood_timestamp)
    times = [redwood_timestamp(d) for d in depth]
    pairs = []
    for c in sorted(color, key=redwood_timestamp):
        t = redwood_timestamp(c)
        j = bisect.bisect_left(times, t)
        near = [k for k in (j - 1, j) if 0 <= k < len(times)]
        best = min(near, key=lambda k: (abs(times[k] - t), -k))
        pairs.append((c, depth[best], abs(times[best] - t)))
    return pairs


@DATASETS.register_module()
class RedwoodDataset(RGBDFramesDataset):
    """Redwood RGB-D scans (PrimeSense Carmine, 640x480), each scan's archive unpacked.

    ::

        data_root/
            00033/                               (a scan; data_root may be one scan folder)
                rgb/0000001-000000000000.jpg     (colour; also image/ or color/)
                depth/0000001-000000000000.png   (uint16 millimetres, 0 = no depth)

    Upstream: "A Large Dataset of Object Scans" (http://redwood-data.org/3dscan,
    github.com/isl-org/redwood-3dscan readme, "File Format": colour JPG and 16-bit PNG depth
    in millimetres, "the first part of a file name indicates the frame number and the second
    part provides a time stamp in microseconds", the intrinsics, depth registered to colour).
    Other Redwood-style captures (Open3D's reconstruction system: ``image/`` or ``color/``
    next to ``depth/``, plain names ``000000.jpg``) read the same way.

    - **Frame:** a colour frame and its depth frame, paired by ``pairing``: ``'timestamp'``
      (each colour frame with the depth frame nearest in time, from the
      ``<frame>-<microseconds>`` names; colour and depth run on separate clocks, and the
      counts may differ), ``'order'`` (the n-th colour file with the n-th depth file, sorted;
      equal counts required) or ``'auto'`` (``'timestamp'`` when every name is
      ``<frame>-<microseconds>``, else ``'order'``); or by a ``match_file``. ``scene`` is the
      scan folder name, ``frame_id`` the colour file's stem, ``timestamp`` (timed names) its
      time in seconds.
    - **Encoding:** ``'redwood'``: uint16 / 1000 = metres, 0 = no depth.
    - **Intrinsics:** the readme's (fx = fy = 525, cx = 319.5, cy = 239.5) unless
      ``intrinsics`` says otherwise, as ``depth_intrinsics`` and ``color_intrinsics`` (depth
      registered to colour).
    - **Licence:** the object scans are in the public domain (cite Choi et al.,
      arXiv:1602.02481); check the terms of other Redwood collections.

    Args:
        data_root (str): a folder of scan folders, or one scan folder.
        ann_file (str): optional scan list, one folder name per line; ``#`` comments.
            Defaults to ''.
        scenes (Sequence[str], optional): scan folder names, instead of ``ann_file``.
        color_dir (str, optional): the colour folder's name. None: the first of ``rgb``,
            ``image``, ``color`` a scan holds. Defaults to None.
        pairing (str): ``'auto'``, ``'order'`` or ``'timestamp'`` (see above). Defaults to
            ``'auto'``.
        match_file (str, optional): a file in each scan folder (or a path) listing the pairs,
            one per line: two file paths relative to the scan folder, the one under the depth
            folder being the depth map (else the first; extra fields such as TUM-style
            timestamps are ignored; ``#`` comments). Overrides ``pairing``. Defaults to None.
        max_time_difference (float, optional): ``'timestamp'`` pairing: drop colour frames
            whose nearest depth frame is farther (seconds). Defaults to None (keep all).
        intrinsics (Sequence[float] | str, optional): ``(fx, fy, cx, cy)``, or the name of a
            3x3 / 4x4 text file in each scan folder (or a path). None: the readme's values.
        **kwargs: arguments of :class:`~mask3d_mm.datasets.RGBDFramesDataset` (``frame_skip``,
            ``encoding``, ``skip_incomplete``: skip frames of a match file whose files are
            missing, ``skip_bad_frames``, ``backend_args``, ``pipeline``, ...).
    """

    DEPTH_ENCODING = 'redwood'
    SOURCE = 'redwood'
    LAYOUT = ('Redwood: scan folders holding rgb/ (or image/, color/) colour and depth/ uint16 '
              'millimetre PNG files')
    METAINFO = dict(dataset_name='Redwood')

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 scenes: Optional[Sequence[str]] = None,
                 color_dir: Optional[str] = None,
                 pairing: str = 'auto',
                 match_file: Optional[str] = None,
                 max_time_difference: Optional[float] = None,
                 intrinsics: Union[Sequence[float], str, None] = None,
                 **kwargs) -> None:
        if pairing not in PAIRINGS:
            raise ValueError(f'pairing must be one of {PAIRINGS}, got {pairing!r}')
        if max_time_difference is not None and not max_time_difference > 0:
            raise ValueError(f'max_time_difference must be positive or None, got '
                             f'{max_time_difference!r}')
        if intrinsics is not None and not isinstance(intrinsics, str):
            intrinsics = tuple(float(v) for v in intrinsics)
            if len(intrinsics) != 4:
                raise ValueError(f'intrinsics must be (fx, fy, cx, cy) or a file name, got '
                                 f'{intrinsics}')
        self.scenes = scenes
        self.color_dir = color_dir
        self.pairing = pairing
        self.match_file = match_file
        self.max_time_difference = max_time_difference
        self.intrinsics = intrinsics
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    def _color_dir(self, folder: str) -> Optional[str]:
        for name in ((self.color_dir, ) if self.color_dir else COLOR_DIRS):
            if self.isdir(self.join(folder, name)):
                return name
        return None

    def _is_scan(self, folder: str) -> bool:
        return self.isdir(self.join(folder, 'depth')) and self._color_dir(folder) is not None

    def _find_scans(self) -> Dict[str, str]:
        root = self.data_root.rstrip('/')
        if not self.isdir(root):
            raise self.layout_error(root, 'is not a folder')
        if self._is_scan(root):
            return {root.rsplit('/', 1)[-1]: root}
        found = {d: self.join(root, d) for d in list_dirs(root, self.backend_args)
                 if self._is_scan(self.join(root, d))}
        if not found:
            zips = [f for f in list_files(root, self.backend_args) if f.endswith('.zip')]
            colour = self.color_dir or '/'.join(COLOR_DIRS)
            hint = (f'unzip {", ".join(zips[:3])} first' if zips else
                    f'a scan folder holds depth/ and {colour}/')
            raise self.layout_error(root, 'holds no scan folder', hint)
        return found

    def _path(self, folder: str, name: str) -> str:
        return name if name.startswith('/') or '://' in name else self.join(folder, name)

    def _scan_intrinsics(self, folder: str):
        if isinstance(self.intrinsics, str):
            return read_intrinsics(self._path(folder, self.intrinsics), self.backend_args)
        return intrinsics_from(*(self.intrinsics or REDWOOD_INTRINSICS))

    def _match_file_pairs(self, folder: str, colour: str, incomplete: Incomplete
                          ) -> List[Tuple[str, str, Optional[float]]]:
        path = self._path(folder, self.match_file)
        if not self.exists(path):
            raise self.layout_error(folder, f'has no match file {self.match_file}')
        pairs = []
        for n, line in enumerate(fileio.get_text(path, backend_args=self.backend_args)
                                 .splitlines(), 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            files = [f for f in line.replace(',', ' ').split()
                     if split_name(f)[1] in _COLOR_SUFFIXES]
            if len(files) != 2:
                raise ValueError(f'{type(self).__name__}: match file {path} line {n} '
                                 f'{line!r}: expected two image file names (depth and colour)')
            depth, color = files
            if color.split('/', 1)[0] == 'depth' and depth.split('/', 1)[0] != 'depth':
                depth, color = color, depth
            missing = [f for f in (color, depth) if not self.exists(self.join(folder, f))]
            if missing:
                incomplete.add(f'match file {path} line {n}: {self.join(folder, missing[0])} '
                               'does not exist')
                continue
            pairs.append((color, depth, None))
        return pairs

    def _listed_pairs(self, folder: str, colour: str) -> List[Tuple[str, str, Optional[float]]]:
        def listed(sub: str, suffixes: Tuple[str, ...]) -> List[str]:
            names = [n for n in list_files(self.join(folder, sub), self.backend_args)
                     if split_name(n)[1] in suffixes]
            return [f'{sub}/{n}' for n in sorted(names, key=lambda n: frame_sort_key(
                split_name(n)[0]))]  # numeric names in numeric order (10 after 9)

        colors, depths = listed(colour, _COLOR_SUFFIXES), listed('depth', ('.png', ))
        if not colors or not depths:
            raise self.layout_error(self.join(folder, colour if not colors else 'depth'),
                                    'holds no image files')
        pairing = self.pairing
        timed = all(redwood_timestamp(n) is not None for n in colors + depths)
        if pairing == 'auto':
            pairing = 'timestamp' if timed else 'order'
        if pairing == 'timestamp':
            if not timed:
                bad = next(n for n in colors + depths if redwood_timestamp(n) is None)
                raise self.layout_error(folder, f"has {bad}, not a <frame>-<microseconds> name "
                                        "(pairing='timestamp')", error=ValueError)
            return [(c, d, diff) for c, d, diff in pair_by_time(colors, depths)
                    if self.max_time_difference is None or diff <= self.max_time_difference]
        if len(colors) != len(depths):
            raise self.layout_error(
                folder, f'has {len(colors)} colour and {len(depths)} depth files, which cannot '
                "be paired by order (pairing='order'): give a match_file, or "
                "pairing='timestamp' for <frame>-<microseconds> names", error=ValueError)
        return [(c, d, None) for c, d in zip(colors, depths)]

    def scan(self) -> List[dict]:
        """The paired frames of each scan (sorted by name), in colour order."""
        owner = type(self).__name__
        folders = self._find_scans()
        names = select_scenes(sorted(folders), self.ann_file, self.scenes, owner,
                              self.backend_args)
        incomplete = Incomplete(owner, self.skip_incomplete)
        frames = []
        for scan in names:
            folder = folders[scan]
            colour = self._color_dir(folder)
            if self.match_file:
                pairs = self._match_file_pairs(folder, colour, incomplete)
            else:
                pairs = self._listed_pairs(folder, colour)
            k = self._scan_intrinsics(folder)
            for color, depth, _ in pairs:
                frame = dict(img_path=self.join(folder, color), depth_path=self.join(folder, depth),
                             scene=scan, frame_id=split_name(color.rsplit('/', 1)[-1])[0],
                             depth_intrinsics=k, color_intrinsics=k.copy())
                if not isinstance(self.intrinsics, str):  # numbers for the 640x480 sensor
                    frame.update(depth_intrinsics_wh=REDWOOD_SIZE, color_intrinsics_wh=REDWOOD_SIZE)
                t = redwood_timestamp(color)
                if t is not None:
                    frame['timestamp'] = t
                frames.append(frame)
        incomplete.log()
        return frames
