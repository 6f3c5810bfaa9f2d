"""Pre-convert a ScanNet frames root for fast loading in pre-training.

A pre-training worker spends most of a frame on decoding: the uint16 PNG depth map (zlib,
~3.4 ms at 640x480) and, for raw ScanNet, a 1296x968 JPEG that ``AlignColorToDepth`` then warps
into the depth camera (docs/benchmarks.md). This writes, once, a frames root of the same layout
(:mod:`mask3d_mm.datasets.scannet_layout`) where every frame is already what the pipeline makes
of it before its random crop::

    OUT/sceneXXXX_XX/color/NNNNNN.jpg    colour warped into the depth camera, at the depth size
    OUT/sceneXXXX_XX/depth/NNNNNN.npy    the depth file's values as stored (uint16 for ScanNet)
    OUT/sceneXXXX_XX/pose/NNNNNN.txt     copied when the frame has one
    OUT/sceneXXXX_XX/intrinsics_color.txt, intrinsics_depth.txt    both the depth camera's
    OUT/*.txt                            the source root's scene lists (scannetv2_train.txt, ...)
    OUT/preconverted.json                the source, the settings, what was converted

Read it with ``ScanNetRGBDDataset(suffixes=dict(depth='.npy'))``
(``configs/mask3d/vit-b_scannet_preconverted.py``): ``LoadDepthFromFile`` decodes the ``.npy``
values with the same encoding as the PNG's, and ``AlignColorToDepth`` finds one camera and
passes the colour through. The colour is re-encoded (JPEG, ``quality``); the depth is exact.
Label and instance maps are not converted (pre-training reads colour and depth only).

The marker ``preconverted.json`` is written first (``complete: false``) and completed at the
end, so every output folder says where its frames came from and how they were made. A run into
a non-empty folder continues it only when the marker records the same source (real path) and
the same settings (:data:`SETTINGS`); another source or other settings are refused naming the
difference, unless ``overwrite`` (the frames of the converted scenes are removed first, then
rewritten; scenes of the old output that this run does not convert are refused). A non-empty
folder without the marker is refused, even with ``overwrite``. Every file is written through
``NAME.tmp`` and a rename, so an interrupted run leaves no half frame.
"""
import io
import os
import os.path as osp
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from mask3d_mm.atomic_write import write_file_atomic as _write_atomic
from mask3d_mm.datasets.scannet_layout import (INTRINSICS_FILES, MODALITIES, ScanNetLayout,
                                               write_matrix)
from mask3d_mm.datasets.transforms.align import AlignColorToDepth
from mask3d_mm.datasets.transforms.loading import LoadDepthFromFile
from .preconvert_marker import (MARKER, SETTINGS, check_resume, clear_scene, run_settings,
                                write_marker)

__all__ = ['preconvert_scene', 'preconvert_frames', 'MARKER', 'SETTINGS']


def _jpeg(img: np.ndarray, quality: int, path: str) -> bytes:
    ok, buf = cv2.imencode('.jpg', img, (cv2.IMWRITE_JPEG_QUALITY, int(quality)))
    if not ok:
        raise OSError(f'cannot encode {path} as JPEG')
    return buf.tobytes()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _homogeneous(k: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = k
    return out


def preconvert_scene(src_root: str, dst_root: str, scene: str, quality: int = 95,
                     interpolation: str = 'bilinear', overwrite: bool = False,
                     depth_suffix: str = '.png', encoding: Optional[str] = None) -> int:
    """Pre-convert the colour + depth frames of one scene (see the module docstring); the
    output root is not checked here (:func:`preconvert_frames` does).

    Args:
        src_root (str): the source frames root.
        dst_root (str): the output root.
        scene (str): scene folder name.
        quality (int): JPEG quality of the warped colour. Defaults to 95.
        interpolation (str): colour interpolation of the warp (``AlignColorToDepth``'s).
            Defaults to 'bilinear', the recipe's.
        overwrite (bool): rewrite frames already converted. Defaults to False (resume).
        depth_suffix (str): suffix of the source depth files. Defaults to '.png'.
        encoding (str, optional): ``LoadDepthFromFile`` encoding the files are checked
            against (their values are copied as they are). None: 'scannet'.

    Returns:
        int: frames converted (or already present).
    """
    layout = ScanNetLayout(src_root, dict(depth=depth_suffix))
    frames, _ = layout.scan_scene(scene, ('color', 'depth'), optional=('pose', ))
    cameras = layout.read_cameras(scene)
    # file values only: validated (8-bit, colour image, ... raise naming the file), not decoded
    reader = LoadDepthFromFile(max_depth=None, allow_all_invalid=True, on_implausible='ignore',
                               encoding=encoding)
    align = AlignColorToDepth(interpolation=interpolation)
    out_dir = osp.join(dst_root, scene)
    folders = {m: osp.join(out_dir, MODALITIES[m][0]) for m in ('color', 'depth', 'pose')}
    for m, folder in folders.items():
        if m != 'pose' or any('pose' in f['files'] for f in frames):
            os.makedirs(folder, exist_ok=True)

    def aligned(frame: dict) -> Tuple[dict, np.ndarray]:
        files = frame['files']
        img = cv2.imread(files['color'], cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'cannot decode colour file {files["color"]} (corrupt, empty or '
                             'not an image)')
        raw = reader.read_raw(files['depth'])
        results = dict(img=img, depth=raw, img_path=files['color'], depth_path=files['depth'],
                       **{k: v.copy() for k, v in cameras.items()})
        return align(results), raw

    results = None
    for frame in frames:
        files, fid = frame['files'], frame['frame_id']
        out = dict(color=osp.join(folders['color'], fid + '.jpg'),
                   depth=osp.join(folders['depth'], fid + '.npy'))
        if 'pose' in files:
            out['pose'] = osp.join(folders['pose'], fid + MODALITIES['pose'][1])
        if not overwrite and all(osp.exists(p) for p in out.values()):
            continue
        results, raw = aligned(frame)
        _write_atomic(out['color'], _jpeg(results['img'], quality, out['color']))
        _write_atomic(out['depth'], _npy(raw))
        if 'pose' in out:
            with open(files['pose'], 'rb') as f:
                _write_atomic(out['pose'], f.read())
    if results is None and frames:  # every frame was there already: the cameras of one
        results, _ = aligned(frames[0])
    # the cameras of the written images: after a warp both are the depth camera at the depth
    # size; after a resize (one camera's intrinsics unknown) the known one, scaled
    for cam in ('color', 'depth'):
        k = None if results is None else results.get(f'{cam}_intrinsics')
        if k is not None:
            write_matrix(osp.join(out_dir, *INTRINSICS_FILES[cam][0]), _homogeneous(k))
    return len(frames)


def _convert(args: Tuple) -> Tuple[str, int]:
    return args[2], preconvert_scene(*args)


def preconvert_frames(src_root: str, dst_root: str, scenes: Optional[Sequence[str]] = None,
                      quality: int = 95, interpolation: str = 'bilinear',
                      overwrite: bool = False, workers: int = 1, depth_suffix: str = '.png',
                      encoding: Optional[str] = None,
                      show_progress: bool = True) -> Dict[str, int]:
    """Pre-convert every scene of ``src_root`` (or ``scenes``) into ``dst_root``.

    Args:
        src_root (str): the source frames root (scene folders with ``color/``, ``depth/``).
        dst_root (str): the output root; must not be ``src_root``. New, empty, or an output
            of this converter (its marker; module docstring).
        scenes (Sequence[str], optional): scene names; None: every scene folder.
        quality (int): JPEG quality, 1-100. Defaults to 95.
        interpolation (str): colour interpolation of the warp. Defaults to 'bilinear'.
        overwrite (bool): rewrite the frames of the converted scenes (also an output of
            another source or settings). Defaults to False: continue an output of the same
            source and settings, refuse any other.
        workers (int): processes, one scene each. Defaults to 1.
        depth_suffix (str): suffix of the source depth files. Defaults to '.png'.
        encoding (str, optional): the depth files' ``LoadDepthFromFile`` encoding (checked;
            values copied as they are). None: 'scannet'.
        show_progress (bool): a progress bar over scenes. Defaults to True.

    Returns:
        dict: scene -> frames.

    Raises:
        FileExistsError: ``dst_root`` is not empty and has no marker.
        ValueError: ``dst_root`` was converted from another source or with other settings
            (without ``overwrite``); see :func:`check_resume`.
    """
    if osp.realpath(src_root) == osp.realpath(dst_root):
        raise ValueError(f'the output root must differ from the source root ({src_root})')
    if not 1 <= int(quality) <= 100:
        raise ValueError(f'JPEG quality must be in [1, 100], got {quality}')
    if workers < 1:
        raise ValueError(f'workers must be >= 1, got {workers}')
    AlignColorToDepth(interpolation=interpolation)  # checks the names before any work
    LoadDepthFromFile(encoding=encoding)
    names: List[str] = ScanNetLayout(src_root).scene_names(scenes=scenes)
    settings = run_settings(src_root, quality, interpolation, encoding, depth_suffix)
    kept = check_resume(dst_root, settings, names, overwrite)  # before anything is written
    os.makedirs(dst_root, exist_ok=True)
    if overwrite:  # first, so that no frame made otherwise outlives an interrupted run
        for name in names:
            clear_scene(dst_root, name)
    write_marker(dst_root, settings, kept, complete=False)
    for name in sorted(os.listdir(src_root)):  # scene lists, e.g. scannetv2_train.txt
        if name.endswith('.txt') and osp.isfile(osp.join(src_root, name)):
            with open(osp.join(src_root, name), 'rb') as f:
                _write_atomic(osp.join(dst_root, name), f.read())
    jobs = [(src_root, dst_root, s, quality, interpolation, overwrite, depth_suffix, encoding)
            for s in names]
    bar = ProgressBar(len(jobs)) if show_progress else None
    counts: Dict[str, int] = {}
    if workers == 1:
        results = map(_convert, jobs)
    else:
        pool = Pool(min(workers, len(jobs)))
        results = pool.imap_unordered(_convert, jobs)
    try:
        for scene, n in results:
            counts[scene] = n
            if bar is not None:
                bar.update()
    finally:
        if workers > 1:
            pool.close()
            pool.join()
    if bar is not None:
        print()
    write_marker(dst_root, settings, {**kept, **counts}, complete=True)
    return dict(sorted(counts.items()))
