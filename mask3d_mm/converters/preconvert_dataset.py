"""Pre-convert the frames of any RGB-D reader (``SUNRGBDDataset``, ``TUMRGBDDataset``,
``ARKitScenesDataset``, ``RGBDFrameListDataset``, ...: any
:class:`~mask3d_mm.datasets.RGBDFramesDataset`) into the pre-converted ScanNet frames layout of
:mod:`mask3d_mm.converters.preconvert_frames`::

    OUT/<scene>/color/NNNNNN.jpg     colour warped into the depth camera (intrinsics known) or
                                     resized onto the depth grid, at the depth size
    OUT/<scene>/depth/NNNNNN.npy     the depth file's values as stored, in the source's encoding
    OUT/<scene>/intrinsics_color.txt, intrinsics_depth.txt    the written images' camera(s)
    OUT/<scene>/frames.txt           NNNNNN and the source's colour and depth files
    OUT/preconverted.json            the marker: the reader and its arguments, the source, the
                                     depth encoding, the settings, what was converted

``<scene>`` is the reader's scene with ``/`` as ``__`` (``.`` as ``_root``); frames are numbered
in the reader's order (``frame_skip`` applied). The depth values are copied unchanged, so the
output is read in the source's encoding, recorded in the marker:
``ScanNetRGBDDataset(data_root=OUT, suffixes=dict(depth='.npy'), encoding=<encoding>,
source=<source>)``. Confidence maps are not copied (the depth is as stored: apply
``min_confidence`` on the source instead).

Resuming, refusing and overwriting follow the marker as for a ScanNet root (the reader's type
and arguments are settings too).
"""
import os
import os.path as osp
from collections import OrderedDict
from multiprocessing import Pool
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from mask3d_mm.atomic_write import write_file_atomic
from mask3d_mm.datasets.scannet_layout import INTRINSICS_FILES, write_matrix
from mask3d_mm.datasets.transforms.align import AlignColorToDepth
from mask3d_mm.datasets.transforms.loading import LoadDepthFromFile
from .preconvert_frames import _homogeneous, _jpeg, _npy
from .preconvert_marker import check_resume, clear_scene, run_settings, write_marker

__all__ = ['build_reader', 'scene_folder', 'preconvert_dataset']


def build_reader(dataset: dict):
    """The reader a dataset config builds, without a pipeline, its frames listed.

    Raises:
        TypeError: the config builds no ``RGBDFramesDataset`` (e.g. a ``ConcatDataset``:
            convert each of its datasets).
    """
    from mmengine.registry import DATASETS, DefaultScope

    from mask3d_mm.datasets import RGBDFramesDataset

    def refuse(name: str) -> TypeError:
        return TypeError(f'{dataset.get("type")} builds {name}, not an RGB-D frames reader '
                         '(mask3d_mm.RGBDFramesDataset): give one dataset (of a mixture: each '
                         'of its datasets in turn)')

    if 'datasets' in dataset or 'dataset' in dataset:  # ConcatDataset, RepeatDataset, ...
        raise refuse(str(dataset.get('type')).split('.')[-1])
    cfg = dict(dataset, pipeline=[], lazy_init=False)
    cfg.pop('skip_bad_frames', None)  # every frame is read here, none skipped
    with DefaultScope.overwrite_default_scope('mask3d_mm'):
        reader = DATASETS.build(cfg)
    if not isinstance(reader, RGBDFramesDataset):
        raise refuse(type(reader).__name__)
    return reader


def scene_folder(scene: str) -> str:
    """The output folder of a reader's scene: ``kv2/kinect2data/x`` -> ``kv2__kinect2data__x``,
    ``'.'`` -> ``'_root'``."""
    name = '__'.join(p for p in str(scene).replace('\\', '/').split('/') if p not in ('', '.'))
    return name or '_root'


def _convert_scene(args: Tuple) -> Tuple[str, int]:
    """Write the frames of one scene (``(dst_root, folder, infos, quality, interpolation,
    overwrite)``); returns ``(folder, frames)``."""
    dst_root, folder, infos, quality, interpolation, overwrite = args
    reader = LoadDepthFromFile(max_depth=None, allow_all_invalid=True, on_implausible='ignore')
    align = AlignColorToDepth(interpolation=interpolation)
    out_dir = osp.join(dst_root, folder)
    for sub in ('color', 'depth'):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)

    def aligned(info: dict) -> Tuple[dict, np.ndarray]:
        img = cv2.imread(info['img_path'], cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'cannot decode colour file {info["img_path"]} (corrupt, empty or '
                             'not an image)')
        raw = reader.read_raw(info['depth_path'], info.get('depth_encoding'))
        results = dict(img=img, depth=raw, img_path=info['img_path'],
                       depth_path=info['depth_path'],
                       **{k: np.array(info[k]) for k in ('color_intrinsics', 'depth_intrinsics')
                          if info.get(k) is not None})
        return align(results), raw

    results, lines = None, []
    for index, info in enumerate(infos):
        fid = f'{index:06d}'
        lines.append(f'{fid} {info["img_path"]} {info["depth_path"]}\n')
        out = dict(color=osp.join(out_dir, 'color', fid + '.jpg'),
                   depth=osp.join(out_dir, 'depth', fid + '.npy'))
        if not overwrite and all(osp.exists(p) for p in out.values()):
            continue
        results, raw = aligned(info)
        write_file_atomic(out['color'], _jpeg(results['img'], quality, out['color']))
        write_file_atomic(out['depth'], _npy(raw))
    if results is None and infos:  # every frame was there already: the cameras of one
        results, _ = aligned(infos[0])
    for cam in ('color', 'depth'):  # the cameras of the written images (preconvert_scene's)
        k = None if results is None else results.get(f'{cam}_intrinsics')
        if k is not None:
            write_matrix(osp.join(out_dir, *INTRINSICS_FILES[cam][0]), _homogeneous(k))
    write_file_atomic(osp.join(out_dir, 'frames.txt'),
                      ('# frame colour depth (the source files)\n' + ''.join(lines)).encode())
    return folder, len(infos)


def preconvert_dataset(dataset: dict, dst_root: str, quality: int = 95,
                       interpolation: str = 'bilinear', overwrite: bool = False,
                       workers: int = 1, show_progress: bool = True) -> Dict[str, object]:
    """Pre-convert every frame of the reader ``dataset`` builds into ``dst_root``.

    Args:
        dataset (dict): a dataset config (``type`` a registered RGB-D reader, e.g.
            ``'mask3d_mm.SUNRGBDDataset'``, with ``data_root`` and its arguments; a
            ``pipeline`` is ignored).
        dst_root (str): the output root: new, empty, or an output of the converter for the same
            reader, arguments and settings (its marker).
        quality (int): JPEG quality, 1-100. Defaults to 95.
        interpolation (str): colour interpolation of the warp. Defaults to 'bilinear'.
        overwrite (bool): rewrite the frames of the converted scenes. Defaults to False.
        workers (int): processes, one scene each. Defaults to 1.
        show_progress (bool): a progress bar over scenes. Defaults to True.

    Returns:
        dict: ``encoding`` and ``source`` (what to read the output with) and ``scene_frames``
        (output scene folder -> frames).

    Raises:
        ValueError: the frames of the reader state more than one depth encoding (convert them
            separately), ``dst_root`` is the data root, or a marker of other settings.
    """
    if not 1 <= int(quality) <= 100:
        raise ValueError(f'JPEG quality must be in [1, 100], got {quality}')
    if workers < 1:
        raise ValueError(f'workers must be >= 1, got {workers}')
    AlignColorToDepth(interpolation=interpolation)  # checks the names before any work
    reader = build_reader(dataset)
    data_root = reader.data_root
    if osp.realpath(data_root) == osp.realpath(dst_root):
        raise ValueError(f'the output root must differ from the data root ({data_root})')
    infos = [reader.get_data_info(i) for i in range(len(reader))]
    encodings = sorted({str(info.get('depth_encoding')) for info in infos})
    if len(encodings) != 1:
        raise ValueError(f'the frames of {type(reader).__name__} under {data_root} state '
                         f'{len(encodings)} depth encodings ({encodings}): the output records '
                         'one; convert the frames of each encoding separately')
    scenes: Dict[str, List[dict]] = OrderedDict()
    owners: Dict[str, str] = {}
    for info in infos:
        folder = scene_folder(info['scene'])
        if owners.setdefault(folder, str(info['scene'])) != str(info['scene']):
            raise ValueError(f'scenes {owners[folder]!r} and {info["scene"]!r} would share the '
                             f'output folder {folder}')
        scenes.setdefault(folder, []).append(info)
    args = {k: v for k, v in dataset.items() if k not in ('type', 'pipeline', 'data_root')}
    settings = dict(run_settings(data_root, quality, interpolation, encodings[0], ''),
                    reader=str(dataset['type']), reader_args=repr(sorted(args.items())),
                    source_name=reader.source)
    kept = check_resume(dst_root, settings, list(scenes), overwrite)
    os.makedirs(dst_root, exist_ok=True)
    if overwrite:
        for folder in scenes:
            clear_scene(dst_root, folder)
    write_marker(dst_root, settings, kept, complete=False)
    jobs = [(dst_root, folder, frames, quality, interpolation, overwrite)
            for folder, frames in scenes.items()]
    bar = ProgressBar(len(jobs)) if show_progress and jobs else None
    counts: Dict[str, int] = {}
    pool: Optional[Pool] = Pool(min(workers, len(jobs))) if workers > 1 and jobs else None
    try:
        for folder, n in (pool.imap_unordered(_convert_scene, jobs) if pool
                          else map(_convert_scene, jobs)):
            counts[folder] = n
            if bar is not None:
                bar.update()
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    if bar is not None:
        print()
    write_marker(dst_root, settings, {**kept, **counts}, complete=True)
    return dict(encoding=encodings[0], source=reader.source,
                scene_frames=dict(sorted(counts.items())))
