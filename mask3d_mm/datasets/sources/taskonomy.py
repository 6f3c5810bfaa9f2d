"""Taskonomy (Stanford / Berkeley), read where its archives or the Omnidata downloader put it."""
import csv
import io
import json
import math
import re
from typing import Dict, List, Optional, Sequence, Tuple

import mmengine.fileio as fileio
from mmengine.logging import MMLogger

from mask3d_mm.registry import DATASETS
from ..intrinsics import intrinsics_from
from ..rgbd_frames import RGBDFramesDataset
from .native_common import Incomplete, list_dirs, list_files, read_scene_list

__all__ = ['TaskonomyDataset', 'read_buildings']

_FRAME = re.compile(r'^point_(?P<point>\d+)_view_(?P<view>\d+)_domain_(?P<domain>[a-z_0-9]+)\.'
                    r'(?P<ext>png|json)$')
RGB, DEPTH, POINT_INFO = 'rgb', 'depth_zbuffer', 'point_info'
DEFAULT_RESOLUTION = 512  # Taskonomy's rgb / depth_zbuffer images are 512x512


def read_buildings(path: str, split: Optional[str] = None,
                   backend_args: Optional[dict] = None) -> List[str]:
    """Buildings of a list file: Taskonomy's split CSVs (``train_val_test_<subset>.csv``:
    ``id,train,val,test`` with 0/1 flags; with ``split``, the buildings flagged for it) or one
    building per line.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a CSV without ``id`` (or the ``split`` column), or no building.
    """
    if not fileio.exists(path, backend_args=backend_args):
        raise FileNotFoundError(f'building list {path} does not exist')
    text = fileio.get_text(path, backend_args=backend_args)
    first = text.lstrip().split('\n', 1)[0]
    if ',' not in first:
        if split is not None:
            raise ValueError(f'split={split!r} needs a split CSV (id,train,val,test), but '
                             f'{path} is a plain list')
        return read_scene_list(path, backend_args)
    rows = list(csv.DictReader(io.StringIO(text)))
    need = ['id'] + ([split] if split is not None else [])
    if not rows or any(c not in rows[0] for c in need):
        raise ValueError(f'building list {path} is a CSV without the column(s) {need} (its '
                         f'header: {first.strip()}); expected Taskonomy\'s split file '
                         '"id,train,val,test" or one building per line')
    names = [r['id'].strip() for r in rows
             if r['id'].strip() and (split is None or r[split].strip() == '1')]
    if not names:
        raise ValueError(f'building list {path} names no building'
                         + (f' of split {split!r}' if split is not None else ''))
    return names


@DATASETS.register_module()
class TaskonomyDataset(RGBDFramesDataset):
    """Taskonomy: real images of ~537 buildings scanned with Matterport cameras, and the depth of
    their reconstructed meshes.

    Layouts (StanfordVL/taskonomy ``data/README.md``; the folder of each task is its domain
    name), found automatically:

    - Omnidata's downloader (``omnitools.download rgb depth_zbuffer point_info --components
      taskonomy ...``: ``<dest>/<domain>/taskonomy/<building>/``)::

          data_root/rgb/taskonomy/allensville/point_0_view_0_domain_rgb.png
          data_root/depth_zbuffer/taskonomy/allensville/point_0_view_0_domain_depth_zbuffer.png
          data_root/point_info/taskonomy/allensville/point_0_view_0_domain_point_info.json

    - per-building folders (the original per-building archives)::

          data_root/allensville/rgb/point_0_view_0_domain_rgb.png
          data_root/allensville/depth_zbuffer/point_0_view_0_domain_depth_zbuffer.png
          data_root/allensville/point_info/point_0_view_0_domain_point_info.json

    - one building folder as ``data_root`` (the sample building, alexsax/
      taskonomy-sample-model-1: ``rgb/``, ``depth_zbuffer/``, ``point_info/``).

    **Frames.** One per ``depth_zbuffer`` image (a camera position ``point`` looking at a point
    ``view``) with the ``rgb`` image of the same ``point``/``view``; ``scene`` is the
    building, ``frame_id`` ``'point_<p>_view_<v>'``; frames in building, point, view order
    (numeric).

    **Depth** ``'taskonomy'``: uint16 z-buffer depth in 1/512 m (max 128 m); 65535 where the
    mesh has no surface (README: "Units of 1/512m with a max range of 128m").

    **Intrinsics** from ``point_info`` where present: ``field_of_view_rads`` over
    ``resolution`` (512) pixels, square images centred: ``f = (res / 2) / tan(fov / 2)``,
    ``c = (res - 1) / 2``; ``depth_intrinsics`` = ``color_intrinsics``. The field of view
    varies per image (mean 61 degrees), so one JSON file per frame is read at build
    (``point_info=False`` skips them: no intrinsics).

    Licence: Taskonomy / Omnidata research terms (non-commercial research and education).

    Args:
        data_root (str): the download folder (one of the layouts above).
        ann_file (str): optional building list: Taskonomy's split CSV
            (``train_val_test_fullplus.csv`` etc., ``id,train,val,test``; select with
            ``split``) or one building per line. Relative paths are joined to ``data_root``.
            Defaults to '' (every building found).
        split (str, optional): ``'train'``, ``'val'`` or ``'test'``: the buildings the split
            CSV flags for it. Defaults to None.
        buildings (Sequence[str], optional): the buildings to read, instead of ``ann_file``.
        point_info (bool): read the ``point_info`` JSON files for intrinsics. Defaults to True.
        component (str): the Omnidata component folder. Defaults to 'taskonomy'.
        **kwargs: arguments of :class:`~mask3d_mm.datasets.RGBDFramesDataset` (``frame_skip``,
            ``encoding``, ``skip_incomplete`` (frames without their rgb image, and buildings of
            the list not found, are skipped and counted), ``pipeline``, ...).
    """

    DEPTH_ENCODING = 'taskonomy'
    SOURCE = 'taskonomy'
    LAYOUT = ('rgb/taskonomy/<building>/point_<p>_view_<v>_domain_rgb.png and '
              'depth_zbuffer/taskonomy/<building>/..._domain_depth_zbuffer.png (Omnidata '
              'download), or <building>/rgb/ and <building>/depth_zbuffer/ (Taskonomy)')
    METAINFO: dict = dict(dataset_name='Taskonomy')

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 split: Optional[str] = None,
                 buildings: Optional[Sequence[str]] = None,
                 point_info: bool = True,
                 component: str = 'taskonomy',
                 **kwargs) -> None:
        if ann_file and buildings is not None:
            raise ValueError('TaskonomyDataset: give either ann_file or buildings, not both')
        if split is not None and split not in ('train', 'val', 'test'):
            raise ValueError(f"split must be 'train', 'val', 'test' or None, got {split!r}")
        if split is not None and not ann_file:
            raise ValueError('TaskonomyDataset: split needs a split CSV as ann_file')
        if isinstance(buildings, str):
            buildings = [buildings]
        if buildings is not None and not list(buildings):
            raise ValueError('TaskonomyDataset: buildings is an empty list')
        self.split = split
        self.buildings = None if buildings is None else [str(b) for b in buildings]
        self.read_point_info = point_info
        self.component = component
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    # ---- layout --------------------------------------------------------------------------------
    def _layout(self) -> Tuple[str, List[str]]:
        """('omnidata' | 'buildings' | 'building', the buildings found)."""
        root = self.data_root
        if not self.isdir(root):
            raise self.layout_error(root, 'is not a folder')
        omni = self.join(root, DEPTH, self.component)
        if self.isdir(omni):
            return 'omnidata', list_dirs(omni, self.backend_args)
        if self.isdir(self.join(root, DEPTH)) and self.isdir(self.join(root, RGB)):
            if list_files(self.join(root, DEPTH), self.backend_args, suffix='.png'):
                return 'building', [root.rstrip('/').rsplit('/', 1)[-1]]
            raise self.layout_error(
                root, f'has {DEPTH}/ but neither {DEPTH}/{self.component}/<building>/ '
                '(Omnidata download) nor *_domain_depth_zbuffer.png files in it')
        found = [b for b in list_dirs(root, self.backend_args)
                 if self.isdir(self.join(root, b, DEPTH))]
        if not found:
            hint = None
            if self.isdir(self.join(root, 'depth')) or self.isdir(self.join(root, 'mist')):
                hint = ('depth/ is the folder name of an early release: the depth_zbuffer '
                        'domain is expected')
            raise self.layout_error(root, f'has no {DEPTH}/ folder', found_hint=hint)
        return 'buildings', found

    def _dir(self, layout: str, building: str, domain: str) -> str:
        if layout == 'omnidata':
            return self.join(self.data_root, domain, self.component, building)
        if layout == 'building':
            return self.join(self.data_root, domain)
        return self.join(self.data_root, building, domain)

    def _select(self, found: List[str]) -> List[str]:
        if self.buildings is None and not self.ann_file:
            return found
        if self.ann_file:
            wanted = read_buildings(self.ann_file, self.split, self.backend_args)
            where = f'building list {self.ann_file}'
        else:
            wanted, where = self.buildings, 'buildings'
        known = set(found)
        missing = [b for b in wanted if b not in known]
        if missing:
            msg = (f'{len(missing)} building(s) of {where} not found under {self.data_root}: '
                   f'{", ".join(missing[:5])}{", ..." if len(missing) > 5 else ""}')
            if not self.skip_incomplete:
                raise FileNotFoundError(f'TaskonomyDataset: {msg} (skip_incomplete=True skips '
                                        'them)')
            MMLogger.get_current_instance().warning(
                f'TaskonomyDataset: skipped {msg} (skip_incomplete=True)')
        return [b for b in wanted if b in known]

    @staticmethod
    def _by_view(names: List[str], domain: str) -> Dict[Tuple[int, int], str]:
        out = {}
        for name in names:
            m = _FRAME.match(name)
            if m and m['domain'] == domain:
                out[(int(m['point']), int(m['view']))] = name
        return out

    def _intrinsics(self, path: str):
        try:
            info = json.loads(fileio.get_text(path, backend_args=self.backend_args))
            fov = float(info['field_of_view_rads'])
            res = int(info.get('resolution', DEFAULT_RESOLUTION))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f'TaskonomyDataset: point_info file {path} has no usable '
                             f'field_of_view_rads / resolution: {e!r}') from e
        if not 0 < fov < math.pi:
            raise ValueError(f'TaskonomyDataset: point_info file {path}: field_of_view_rads '
                             f'{fov} is not in (0, pi)')
        f = res / 2 / math.tan(fov / 2)
        c = (res - 1) / 2
        return intrinsics_from(f, f, c, c), (res, res)

    # ---- RGBDFramesDataset API -----------------------------------------------------------------
    def scan(self) -> List[dict]:
        """The frames of the selected buildings (see the class docstring).

        Returns:
            list[dict]: per frame ``img_path``, ``depth_path``, ``scene`` (building),
            ``frame_id`` (``'point_<p>_view_<v>'``) and, with ``point_info``,
            ``depth_intrinsics`` / ``color_intrinsics`` ((3, 3) float32, 512x512).
        """
        layout, found = self._layout()
        incomplete = Incomplete('TaskonomyDataset', self.skip_incomplete)
        frames, no_info = [], 0
        for building in self._select(found):
            depth_dir = self._dir(layout, building, DEPTH)
            rgb_dir = self._dir(layout, building, RGB)
            info_dir = self._dir(layout, building, POINT_INFO)
            depth = self._by_view(list_files(depth_dir, self.backend_args), DEPTH)
            if not depth:
                incomplete.add(f'building {building}: {depth_dir} holds no '
                               'point_<p>_view_<v>_domain_depth_zbuffer.png file')
                continue
            rgb = (self._by_view(list_files(rgb_dir, self.backend_args), RGB)
                   if self.isdir(rgb_dir) else {})
            infos = (self._by_view(list_files(info_dir, self.backend_args), POINT_INFO)
                     if self.read_point_info and self.isdir(info_dir) else {})
            for key in sorted(depth):
                frame_id = f'point_{key[0]}_view_{key[1]}'
                if key not in rgb:
                    incomplete.add(f'frame {building}/{frame_id} has no rgb image '
                                   f'{self.join(rgb_dir, frame_id + "_domain_rgb.png")}')
                    continue
                frame = dict(img_path=self.join(rgb_dir, rgb[key]),
                             depth_path=self.join(depth_dir, depth[key]), scene=building,
                             frame_id=frame_id)
                if key in infos:
                    k, wh = self._intrinsics(self.join(info_dir, infos[key]))
                    frame['depth_intrinsics'] = k
                    frame['color_intrinsics'] = k.copy()
                    frame['depth_intrinsics_wh'] = frame['color_intrinsics_wh'] = wh
                elif self.read_point_info:
                    no_info += 1
                frames.append(frame)
        incomplete.log()
        if no_info:
            MMLogger.get_current_instance().info(
                f'TaskonomyDataset: {no_info} of {len(frames)} frame(s) have no point_info file '
                '(read without intrinsics)')
        return frames
