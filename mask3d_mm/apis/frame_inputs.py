"""The frames an :class:`~mask3d_mm.apis.RGBDInferencer` runs on, from what a user names: a
colour/depth pair, a folder, a list file or a dataset config."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

from mmengine.config import Config

from mask3d_mm.datasets.transforms.depth_encoding import get_encoding

__all__ = ['collect_frames', 'frame_name']

COLOR_EXTS = ('.jpg', '.jpeg', '.png', '.bmp')
# folders whose colour and depth frames sit in sibling color/ and depth/ folders (ScanNet's
# layout): the depth camera's intrinsics file names looked up from the depth folder upwards
SCANNET_INTRINSICS = (('intrinsics_depth.txt', 'intrinsics_color.txt'),
                      ('intrinsic/intrinsic_depth.txt', 'intrinsic/intrinsic_color.txt'))
# a flat folder of pairs: NAME<colour suffix>.<ext> + NAME<depth suffix>.png
PAIR_SUFFIXES = (('_color', '_depth'), ('_colour', '_depth'), ('_rgb', '_depth'))

FrameInput = Union[str, dict, Sequence[str]]


def frame_name(frame: dict) -> str:
    """A file-name stem for a frame's outputs: ``scene_frameid`` (``/`` -> ``_``), or the
    depth file's stem."""
    frame_id = frame.get('frame_id')
    if frame_id is not None and str(frame_id).startswith('depth/'):
        frame_id = str(frame_id)[len('depth/'):]
    if frame.get('scene') not in (None, '', '.') and frame_id is not None:
        name = f"{frame['scene']}_{frame_id}"
    elif frame_id is not None:
        name = str(frame_id)
    else:
        name = osp.splitext(osp.basename(frame['depth_path']))[0]
    return name.replace('/', '_').replace('\\', '_').replace(' ', '_')


def _pair(color: str, depth: str, encoding: Optional[str]) -> dict:
    for kind, path in (('colour', color), ('depth', depth)):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{kind} file {path} does not exist')
    return dict(img_path=color, depth_path=depth, depth_encoding=encoding or 'scannet',
                frame_id=osp.splitext(osp.basename(depth))[0])


def _frame_list_dataset(**kwargs) -> List[dict]:
    from mask3d_mm.datasets import RGBDFrameListDataset
    ds = RGBDFrameListDataset(pipeline=[], test_mode=True, **kwargs)
    return [ds.get_data_info(i) for i in range(len(ds))]


def _folder(path: str, encoding: Optional[str]) -> List[dict]:
    """ScanNet layout (``color/`` and ``depth/`` siblings, at any depth: one scene or a root of
    scenes) or a flat folder of ``NAME_color.jpg`` + ``NAME_depth.png`` pairs."""
    exts = {}  # the extension of the colour and of the depth files (the glob's wildcards
    # must match the same text in both: the stem)
    for root, dirs, _files in os.walk(path):
        if 'color' in dirs and 'depth' in dirs:
            for kind in ('color', 'depth'):
                found = sorted(os.listdir(osp.join(root, kind)))
                if found:
                    exts[kind] = osp.splitext(found[0])[1]
            break
    if len(exts) == 2:
        args = dict(data_root=path, color_glob=f"**/color/*{exts['color']}",
                    depth_glob=f"**/depth/*{exts['depth']}", pair_by='stem',
                    encoding=encoding)
        frames = None
        for depth_k, color_k in SCANNET_INTRINSICS:
            for kwargs in (dict(intrinsics=depth_k, color_intrinsics=color_k),
                           dict(intrinsics=depth_k)):
                try:
                    frames = _frame_list_dataset(**kwargs, **args)
                    break
                except FileNotFoundError as e:
                    if 'no intrinsics file' not in str(e):
                        raise
            if frames is not None:
                break
        if frames is None:
            frames = _frame_list_dataset(**args)
        for f in frames:  # a scene folder itself: its name
            if f.get('scene') in (None, '', '.'):
                f['scene'] = osp.basename(osp.normpath(path))
        return frames
    names = sorted(os.listdir(path))
    for c_suffix, d_suffix in PAIR_SUFFIXES:
        frames = []
        for name in names:
            stem, ext = osp.splitext(name)
            if not stem.endswith(d_suffix) or ext.lower() != '.png':
                continue
            base = stem[:-len(d_suffix)]
            for cext in COLOR_EXTS:
                color = osp.join(path, base + c_suffix + cext)
                if osp.isfile(color):
                    frames.append(dict(_pair(color, osp.join(path, name), encoding),
                                       frame_id=base))
                    break
        if frames:
            return frames
    raise FileNotFoundError(
        f'{path}: no RGB-D frames found: expected color/ and depth/ folders (ScanNet layout, '
        'at any depth) or NAME_color.jpg|png + NAME_depth.png pairs (also _colour, _rgb)')


def _config(path: str, encoding: Optional[str], split: str) -> List[dict]:
    from mmengine.registry import DefaultScope
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(path)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    loader = cfg.get(f'{split}_dataloader') or cfg.get('val_dataloader')
    if loader is None:
        raise ValueError(f'{path} has no {split}_dataloader nor val_dataloader: no frames')
    ds_cfg = loader.dataset.copy()
    ds_cfg.pipeline = []
    if encoding is not None:
        ds_cfg.encoding = encoding
    from mmengine.registry import DATASETS
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmpretrain')):
        ds = DATASETS.build(ds_cfg)
    frames = [ds.get_data_info(i) for i in range(len(ds))]
    missing = [f for f in frames if 'depth_path' not in f]
    if missing:
        raise ValueError(f'{path}: the frames of its {split} dataset have no depth_path '
                         '(not an RGB-D frames dataset)')
    return frames


def collect_frames(inputs: Union[FrameInput, List[FrameInput]], encoding: Optional[str] = None,
                   split: str = 'val') -> List[dict]:
    """The frames (data infos: ``img_path``, ``depth_path``, ``depth_encoding``, and where
    known ``depth_intrinsics``, ``scene``, ``frame_id``) of what a user names.

    Args:
        inputs: one of, or a list of:

            - ``'colour.jpg,depth.png'`` or a ``(colour, depth)`` pair of paths;
            - a folder: ScanNet layout (``color/`` + ``depth/`` siblings at any depth, the
              depth intrinsics from ``intrinsics_depth.txt`` or ``intrinsic/
              intrinsic_depth.txt`` where there), or ``NAME_color.jpg`` + ``NAME_depth.png``
              pairs;
            - a list file (``.txt``: ``colour depth [intrinsics] [confidence]`` per line,
              relative to its folder, as :class:`~mask3d_mm.datasets.RGBDFrameListDataset`);
            - a config (``.py``): the frames of its ``split`` dataset (its encodings kept);
            - a dict with at least ``img_path`` and ``depth_path``.
        encoding (str, optional): the depth files' encoding (``'scannet'``, ``'tum'``,
            ``'scale:4000'``, ...); None: the dataset's, else ``'scannet'`` (uint16 mm).
        split (str): ``'val'``, ``'test'`` or ``'train'``, for a config. Defaults to 'val'.

    Returns:
        list[dict]: one per frame, in the order found.
    """
    if encoding is not None:
        get_encoding(encoding)
    if isinstance(inputs, dict):
        inputs = [inputs]
    elif isinstance(inputs, str):
        inputs = [inputs]
    elif (isinstance(inputs, (list, tuple)) and len(inputs) == 2
          and all(isinstance(x, str) for x in inputs) and all(osp.isfile(x) for x in inputs)
          and not any(x.endswith(('.txt', '.py')) for x in inputs)):
        inputs = [tuple(inputs)]
    frames: List[Dict] = []
    for item in inputs:
        if isinstance(item, dict):
            if 'img_path' not in item or 'depth_path' not in item:
                raise KeyError(f'a frame dict needs img_path and depth_path, got {sorted(item)}')
            frame = dict(item)
            frame.setdefault('depth_encoding', encoding or 'scannet')
            frames.append(frame)
        elif isinstance(item, (list, tuple)):
            if len(item) != 2:
                raise ValueError(f'a frame pair is (colour, depth), got {item!r}')
            frames.append(_pair(item[0], item[1], encoding))
        elif not isinstance(item, str):
            raise TypeError(f'cannot read frames from {item!r}')
        elif ',' in item and not osp.exists(item):
            color, depth = item.split(',', 1)
            frames.append(_pair(color.strip(), depth.strip(), encoding))
        elif osp.isdir(item):
            frames.extend(_folder(item, encoding))
        elif item.endswith('.py'):
            frames.extend(_config(item, encoding, split))
        elif osp.isfile(item):
            frames.extend(_frame_list_dataset(
                data_root=osp.dirname(osp.abspath(item)), ann_file=osp.abspath(item),
                encoding=encoding))
        else:
            raise FileNotFoundError(f'{item}: no such file or folder (expected a colour,depth '
                                    'pair, a folder, a list file or a config)')
    if not frames:
        raise ValueError(f'no frames found in {inputs!r}')
    return frames
