"""Any RGB-D collection, e.g. a user's own captures: frames given by a list file or by glob
patterns, with the depth encoding, intrinsics and confidence maps stated in the config."""
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmengine.fileio as fileio
import numpy as np
from mmengine.logging import MMLogger

from mask3d_mm.registry import DATASETS
from ..intrinsics import intrinsics_from, read_intrinsics
from ..rgbd_frames import RGBDFramesDataset
from ..transforms.depth_encoding import scale_encoding_name

__all__ = ['RGBDFrameListDataset', 'glob_to_regex', 'natural_key']

IntrinsicsArg = Union[None, str, dict, Sequence[Sequence[float]]]


def natural_key(path: str) -> list:
    """Sort key with numbers compared as numbers (``frame_10`` after ``frame_9``)."""
    return [(0, int(p), '') if p.isdigit() else (1, 0, p) for p in re.split(r'(\d+)', path)]


def glob_to_regex(pattern: str) -> 're.Pattern':
    """A glob pattern (paths relative to ``data_root``, ``/`` separated) as a regex whose
    groups capture what each wildcard matched: ``*`` any name part (not ``/``), ``**`` any
    path (``/`` included), ``?`` one character, ``[...]`` a character class."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith('**/', i):
            out.append('((?:.*/)?)')  # zero or more folders
            i += 3
            continue
        if pattern.startswith('**', i):
            out.append('(.*)')
            i += 2
            continue
        if c == '*':
            out.append('([^/]*)')
        elif c == '?':
            out.append('([^/])')
        elif c == '[':
            j = pattern.find(']', i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j].replace('\\', '\\\\')
                out.append('([' + ('^' + body[1:] if body.startswith('!') else body) + '])')
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile(''.join(out) + r'\Z')


@DATASETS.register_module()
class RGBDFrameListDataset(RGBDFramesDataset):
    """RGB-D frames listed by a file or found by glob patterns: the dataset for own captures.

    Frames come from one of:

    - a list file (``ann_file``), one frame per line: ``colour depth [intrinsics]
      [confidence]``, whitespace separated (no spaces in paths), relative to ``data_root``;
      ``-`` for a column left out (``rgb/1.jpg depth/1.png - conf/1.png``); blank lines and
      lines starting with ``#`` are skipped. The frames keep the file's order. An intrinsics
      column is the depth camera's intrinsics file of that frame (3x3 / 4x4 text or ARKit
      ``.pincam``, see :func:`~mask3d_mm.datasets.intrinsics.read_intrinsics`).
    - glob patterns relative to ``data_root`` (``color_glob='*/color/*.jpg'``,
      ``depth_glob='*/depth/*.png'``, optionally ``confidence_glob``): ``*`` matches within
      a name, ``**/`` any folders, ``?`` and ``[...]`` as usual. ``pair_by='order'`` pairs
      the files in natural sort order (``9`` before ``10``) and requires equal counts;
      ``pair_by='stem'`` pairs files whose wildcards matched the same text (``room1`` and
      ``0007`` for ``room1/color/0007.jpg`` and ``room1/depth/0007.png``; works for
      ``*_color.jpg`` / ``*_depth.png`` too), frames in natural order of the depth files.

    For example, captures laid out as::

        data_root/
            kitchen/rgb/000001.jpg, ...     (colour)
            kitchen/depth/000001.png, ...   (uint16, 1/4 mm: depth_scale=4000)
            kitchen/intrinsics.txt          (3x3, the depth camera)
            office/...

    are read by ``RGBDFrameListDataset(data_root=..., color_glob='*/rgb/*.jpg',
    depth_glob='*/depth/*.png', pair_by='stem', depth_scale=4000,
    intrinsics='intrinsics.txt')``.

    A frame's ``scene`` is the folder its colour and depth files share, relative to
    ``data_root`` (``'kitchen'``; ``'.'`` for files in sibling folders of the root);
    ``frame_id`` is the depth file's path relative to that folder, without suffix
    (``'depth/000001'``); ``frame_skip`` keeps every N-th frame of each scene.

    Args:
        data_root (str): the root the paths are relative to.
        ann_file (str): the list file (relative paths are joined to ``data_root``).
            Defaults to ''.
        color_glob (str, optional): glob of the colour files, instead of ``ann_file``.
        depth_glob (str, optional): glob of the depth files (with ``color_glob``).
        confidence_glob (str, optional): glob of the confidence maps (paired as the depth
            files; read by ``LoadDepthFromFile(min_confidence=...)``).
        pair_by (str): ``'order'`` or ``'stem'`` (globs only). Defaults to 'order'.
        depth_scale (float, optional): uint16 file value / ``depth_scale`` = metres (encoding
            ``'scale:<depth_scale>'``), instead of ``encoding``.
        encoding (str, optional): a depth encoding name (``'scannet'``: uint16 mm, ``'tum'``,
            ``'float_m'``, ...). None and no ``depth_scale``: ``'scannet'`` (uint16 mm).
        intrinsics (str | dict | list, optional): the depth camera's intrinsics: a file name
            looked up in the depth file's folder, then its parents up to ``data_root`` (one
            file per scene or per folder), or ``dict(fx=, fy=, cx=, cy=)`` / a 3x3 matrix for
            every frame. A per-frame column of the list file wins. Defaults to None.
        color_intrinsics (str | dict | list, optional): the colour camera's, in the same
            forms, for captures whose colour is not registered to the depth (then
            ``AlignColorToDepth`` warps through both). Defaults to None.
        source (str, optional): source name of the frames. Defaults to 'frames'.
        skip_incomplete (bool): skip list lines whose colour or depth file is missing (counted
            in a warning) instead of raising ``FileNotFoundError``. Defaults to False.
        **kwargs: the arguments of :class:`~mask3d_mm.datasets.RGBDFramesDataset`
            (``frame_skip``, ``skip_bad_frames``, ``backend_args``, ``pipeline``, ...).
    """

    DEPTH_ENCODING = 'scannet'
    SOURCE = 'frames'
    LAYOUT = ('a list file of "colour depth [intrinsics] [confidence]" lines, or colour and '
              'depth files matching color_glob / depth_glob, relative to data_root')
    METAINFO: dict = dict(dataset_name='RGB-D frames (list or globs)')

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 color_glob: Optional[str] = None,
                 depth_glob: Optional[str] = None,
                 confidence_glob: Optional[str] = None,
                 pair_by: str = 'order',
                 depth_scale: Optional[float] = None,
                 encoding: Optional[str] = None,
                 intrinsics: IntrinsicsArg = None,
                 color_intrinsics: IntrinsicsArg = None,
                 **kwargs) -> None:
        name = type(self).__name__
        if bool(ann_file) == bool(color_glob or depth_glob):
            raise ValueError(f'{name}: give either ann_file (a list of frames) or color_glob '
                             'and depth_glob, one of the two')
        if (color_glob is None) != (depth_glob is None):
            raise ValueError(f'{name}: color_glob and depth_glob go together')
        if confidence_glob and not depth_glob:
            raise ValueError(f'{name}: confidence_glob goes with color_glob and depth_glob')
        if pair_by not in ('order', 'stem'):
            raise ValueError(f"{name}: pair_by must be 'order' or 'stem', got {pair_by!r}")
        if depth_scale is not None:
            if encoding is not None:
                raise ValueError(f'{name}: give either encoding or depth_scale, not both')
            encoding = scale_encoding_name(depth_scale)
        self.globs = dict(color=color_glob, depth=depth_glob, confidence=confidence_glob)
        self.pair_by = pair_by
        self.intrinsics = intrinsics
        self.color_intrinsics = color_intrinsics
        self._fixed = {cam: self._fixed_intrinsics(arg, cam)
                       for cam, arg in (('depth', intrinsics), ('color', color_intrinsics))}
        super().__init__(data_root=data_root, ann_file=ann_file, encoding=encoding, **kwargs)

    # ---- intrinsics ----------------------------------------------------------------------------
    @staticmethod
    def _fixed_intrinsics(arg: IntrinsicsArg, cam: str) -> Optional[np.ndarray]:
        """A dict or matrix argument as (3, 3) float32; None for a file name or None."""
        if arg is None or isinstance(arg, str):
            return None
        if isinstance(arg, dict):
            keys = {'fx', 'fy', 'cx', 'cy'}
            if set(arg) != keys:
                raise ValueError(f'{cam} intrinsics dict needs exactly the keys {sorted(keys)}, '
                                 f'got {sorted(arg)}')
            return intrinsics_from(**{k: float(v) for k, v in arg.items()})
        k = np.asarray(arg, dtype=np.float64)
        if k.shape != (3, 3):
            raise ValueError(f'{cam} intrinsics must be a file name, dict(fx=, fy=, cx=, cy=) or '
                             f'a 3x3 matrix, got shape {k.shape}')
        return k.astype(np.float32)

    def _lookup(self, folder: str, file_name: str, cache: Dict[str, Optional[str]]
                ) -> Optional[str]:
        """``file_name`` in ``folder`` (relative to data_root) or its parents up to data_root."""
        parts = [p for p in folder.split('/') if p and p != '.']
        looked = []
        for n in range(len(parts), -1, -1):
            rel = '/'.join(parts[:n])
            if rel not in cache:
                path = self.join(self.data_root, rel, file_name) if rel else self.join(
                    self.data_root, file_name)
                cache[rel] = path if self.exists(path) else None
            looked.append(rel or '.')
            if cache[rel] is not None:
                return cache[rel]
        raise FileNotFoundError(
            f'{type(self).__name__}: no intrinsics file {file_name} for the frames of '
            f'{self.join(self.data_root, folder)}: looked in {", ".join(looked)} (relative to '
            f'{self.data_root})')

    # ---- frames --------------------------------------------------------------------------------
    def _rel(self, path: str) -> str:
        return path.replace('\\', '/').lstrip('/')

    def _list_lines(self) -> List[Dict[str, str]]:
        """The list file's frames: dict(color, depth[, intrinsics][, confidence]) relative."""
        path = self.ann_file
        if not self.exists(path):
            raise FileNotFoundError(f'{type(self).__name__}: frame list {path} does not exist')
        rows = []
        for n, line in enumerate(fileio.get_text(path, backend_args=self.backend_args)
                                 .splitlines(), 1):
            cols = line.split()
            if not cols or cols[0].startswith('#'):
                continue
            if not 2 <= len(cols) <= 4:
                raise ValueError(
                    f'{path} line {n}: expected "colour depth [intrinsics] [confidence]" '
                    f'(2-4 columns), got {len(cols)}: {line.strip()!r}')
            keys = ('color', 'depth', 'intrinsics', 'confidence')
            rows.append(dict(line=str(n), **{k: self._rel(c) for k, c in zip(keys, cols)
                                              if c != '-'}))
        if not rows:
            raise ValueError(f'{type(self).__name__}: frame list {path} lists no frame')
        return rows

    def _glob(self, kind: str) -> List[Tuple[str, tuple]]:
        """(relative path, wildcard matches) of the files matching the glob of ``kind``."""
        regex = glob_to_regex(self.globs[kind])
        found = []
        for rel in fileio.list_dir_or_file(self.data_root, list_dir=False, recursive=True,
                                           backend_args=self.backend_args):
            rel = rel.replace('\\', '/')
            m = regex.match(rel)
            if m:
                found.append((rel, m.groups()))
        found.sort(key=lambda f: natural_key(f[0]))
        if not found:
            raise self.layout_error(self.data_root,
                                    f'has no file matching {kind}_glob={self.globs[kind]!r}')
        return found

    def _glob_rows(self) -> List[Dict[str, str]]:
        kinds = [k for k in ('color', 'depth', 'confidence') if self.globs[k]]
        found = {k: self._glob(k) for k in kinds}
        depth = found['depth']
        rows = []
        if self.pair_by == 'order':
            for k in kinds:
                if len(found[k]) != len(depth):
                    raise ValueError(
                        f"{type(self).__name__}: pair_by='order' needs as many {k} files as "
                        f'depth files under {self.data_root}: {len(found[k])} match '
                        f'{k}_glob={self.globs[k]!r}, {len(depth)} match '
                        f"depth_glob={self.globs['depth']!r} (pair_by='stem' pairs by name)")
            for i in range(len(depth)):
                rows.append({k: found[k][i][0] for k in kinds})
            return rows
        by_key = {k: {} for k in kinds}
        for k in kinds:
            for rel, key in found[k]:
                if key in by_key[k]:
                    raise ValueError(
                        f"{type(self).__name__}: pair_by='stem': {by_key[k][key]} and {rel} "
                        f'match {k}_glob={self.globs[k]!r} with the same wildcard text {key}')
                by_key[k][key] = rel
        unpaired = [rel for rel, key in depth if key not in by_key['color']]
        unpaired += [rel for rel, key in found['color'] if key not in by_key['depth']]
        if unpaired and not self.skip_incomplete:
            raise FileNotFoundError(
                f"{type(self).__name__}: pair_by='stem': {len(unpaired)} file(s) under "
                f'{self.data_root} have no partner (first: {", ".join(unpaired[:3])}); the '
                'wildcards of color_glob and depth_glob must match the same text (set '
                'skip_incomplete=True to skip them)')
        for rel, key in depth:
            if key not in by_key['color']:
                continue
            row = dict(color=by_key['color'][key], depth=rel)
            if 'confidence' in by_key and key in by_key['confidence']:
                row['confidence'] = by_key['confidence'][key]
            rows.append(row)
        self._num_skipped = len(unpaired)
        return rows

    @staticmethod
    def _scene_and_id(color: str, depth: str) -> Tuple[str, str]:
        a, b = color.split('/')[:-1], depth.split('/')[:-1]
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        scene = '/'.join(a[:n]) or '.'
        rest = depth.split('/')[n:]
        stem = rest[-1].rsplit('.', 1)[0] if '.' in rest[-1] else rest[-1]
        return scene, '/'.join(rest[:-1] + [stem])

    def scan(self) -> List[dict]:
        """The frames of the list file or the globs (see the class docstring)."""
        self._num_skipped = 0
        rows = self._list_lines() if self.ann_file else self._glob_rows()
        caches: Dict[str, Dict[str, Optional[str]]] = dict(depth={}, color={})
        read: Dict[str, np.ndarray] = {}

        def intrinsics_file(path: str) -> np.ndarray:
            if path not in read:
                read[path] = read_intrinsics(path, self.backend_args)
            return read[path]

        frames, missing = [], []
        for row in rows:
            paths = {k: self.join(self.data_root, row[k])
                     for k in ('color', 'depth', 'confidence') if k in row}
            if self.ann_file:
                lacking = [p for k, p in paths.items() if not self.exists(p)]
                if lacking:
                    if not self.skip_incomplete:
                        raise FileNotFoundError(
                            f'{self.ann_file} line {row["line"]}: {", ".join(lacking)} not '
                            'found (set skip_incomplete=True to skip such frames)')
                    missing.append(lacking)
                    continue
            scene, frame_id = self._scene_and_id(row['color'], row['depth'])
            frame = dict(img_path=paths['color'], depth_path=paths['depth'], scene=scene,
                         frame_id=frame_id)
            if 'confidence' in paths:
                frame['confidence_path'] = paths['confidence']
            folder = row['depth'].rsplit('/', 1)[0] if '/' in row['depth'] else ''
            for cam, arg in (('depth', self.intrinsics), ('color', self.color_intrinsics)):
                if cam == 'depth' and 'intrinsics' in row:
                    k = intrinsics_file(self.join(self.data_root, row['intrinsics']))
                elif self._fixed[cam] is not None:
                    k = self._fixed[cam].copy()
                elif isinstance(arg, str):
                    cfolder = folder if cam == 'depth' else (
                        row['color'].rsplit('/', 1)[0] if '/' in row['color'] else '')
                    k = intrinsics_file(self._lookup(cfolder, arg, caches[cam]))
                else:
                    continue
                frame[f'{cam}_intrinsics'] = k
            frames.append(frame)
        skipped = len(missing) + self._num_skipped
        if skipped:
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__}: skipped {skipped} frame(s) lacking a file under '
                f'{self.data_root} (skip_incomplete=True)')
        return frames
