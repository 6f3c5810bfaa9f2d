"""Writing scenes in the ScanNet frames layout (:mod:`mask3d_mm.datasets.scannet_layout`),
one process per scene, and ScanNet's split files."""
import os
import os.path as osp
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mask3d_mm.datasets.scannet_layout import (EXTRINSICS_FILES, INTRINSICS_FILES, MODALITIES,
                                               frame_name, write_matrix)
from .camera import camera_pose, scene_cameras
from .render import render_frame
from .scene import make_scene, scene_name

__all__ = ['LAYOUTS', 'generate_scannet_scene', 'generate_scannet_scenes', 'write_scene_splits']

LAYOUTS = ('frames25k', 'sensreader')


def _homogeneous(k: np.ndarray) -> np.ndarray:
    """(4, 4) from (3, 3) intrinsics."""
    out = np.eye(4)
    out[:3, :3] = k
    return out


def generate_scannet_scene(scene_dir: str, index: int = 0, num_frames: int = 25,
                           height: int = 480, width: int = 640,
                           color_size: Optional[Tuple[int, int]] = None, seed: int = 0,
                           frame_step: int = 1, color_camera: str = 'depth',
                           layout: str = 'frames25k', materials: str = 'class') -> str:
    """Render scene ``index`` of ``seed`` into ``scene_dir``.

    Frames are named ``{i * frame_step:06d}`` (``layout='frames25k'``, the default) or
    ``{i * frame_step}`` (``'sensreader'``: ScanNet's ``SensReader`` export, without labels);
    ``color_size`` (h, w) and ``color_camera`` as :func:`scene_cameras`, ``materials`` as
    :func:`make_scene`. Returns ``scene_dir``.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    cv2.setNumThreads(1)
    scene = make_scene(seed, index, materials)
    depth_hw = (int(height), int(width))
    k_depth, k_color, color_hw, k_label = scene_cameras(scene, depth_hw, color_size,
                                                        color_camera)
    official = layout == 'sensreader'
    mods = ('color', 'depth', 'pose') if official else ('color', 'depth', 'label', 'instance',
                                                        'pose')
    for m in mods:
        os.makedirs(osp.join(scene_dir, MODALITIES[m][0]), exist_ok=True)
    # scannet_frames_25k: intrinsics_*.txt; SensReader: intrinsic/{in,ex}trinsic_*.txt
    for cam, k in (('depth', k_depth), ('color', k_color)):
        path = osp.join(scene_dir, *INTRINSICS_FILES[cam][1 if official else 0])
        os.makedirs(osp.dirname(path), exist_ok=True)
        write_matrix(path, _homogeneous(k))
        if official:
            write_matrix(osp.join(scene_dir, *EXTRINSICS_FILES[cam]), np.eye(4))
    for i in range(num_frames):
        rng = np.random.default_rng([seed, index, i])
        pose = camera_pose(scene, i / max(num_frames, 1))
        frame = render_frame(scene, pose, k_depth, depth_hw, k_color, color_hw, rng, k_label)
        name = frame_name(i * frame_step, padded=not official)
        for m in mods:
            folder, suffix, _ = MODALITIES[m]
            path = osp.join(scene_dir, folder, name + suffix)
            if m == 'pose':
                write_matrix(path, pose)
            elif m == 'color':
                cv2.imwrite(path, frame[m], [cv2.IMWRITE_JPEG_QUALITY, 90])
            else:
                cv2.imwrite(path, frame[m])
    return scene_dir


def _scene_job(kwargs: dict) -> str:
    return generate_scannet_scene(**kwargs)


def generate_scannet_scenes(out_dir: str, num_scenes: int = 4, frames_per_scene: int = 25,
                            height: int = 480, width: int = 640,
                            color_size: Optional[Tuple[int, int]] = None, seed: int = 0,
                            frame_step: int = 1, workers: int = 1,
                            progress: Optional[Callable[[str], None]] = None,
                            color_camera: str = 'depth', layout: str = 'frames25k',
                            materials: str = 'class') -> List[str]:
    """Write ``num_scenes`` synthetic scenes ``out_dir/sceneXXXX_00`` in the ScanNet frames
    layout (see the module docstring and :func:`generate_scannet_scene` for ``color_camera``,
    ``layout`` and ``materials``); byte-identical for the same arguments whatever ``workers``. ``progress``
    is called with each finished scene dir. Returns the scene dirs in order."""
    jobs = [dict(scene_dir=osp.join(out_dir, scene_name(i)), index=i,
                 num_frames=frames_per_scene, height=height, width=width,
                 color_size=color_size, seed=seed, frame_step=frame_step,
                 color_camera=color_camera, layout=layout, materials=materials)
            for i in range(num_scenes)]
    if workers <= 1 or num_scenes <= 1:
        results = []
        for job in jobs:
            results.append(_scene_job(job))
            if progress is not None:
                progress(results[-1])
        return results
    with ProcessPoolExecutor(max_workers=min(workers, num_scenes)) as pool:
        results = []
        for scene_dir in pool.map(_scene_job, jobs):
            results.append(scene_dir)
            if progress is not None:
                progress(scene_dir)
    return results


def write_scene_splits(out_dir: str, scene_dirs: Sequence[str],
                       val_fraction: float = 0.25) -> Tuple[str, str]:
    """Write ScanNet's split files ``scannetv2_train.txt`` / ``scannetv2_val.txt`` (one scene
    name per line; the last ``val_fraction`` of the scenes, at least one, for validation), so
    the synthetic set drops into configs written for ScanNet. ``val_fraction=1`` lists every
    scene in ``val`` (a held-out set, e.g. a report split; ``train`` is then empty). Returns
    the two paths."""
    names = [osp.basename(osp.normpath(d)) for d in scene_dirs]
    if not 0 < val_fraction <= 1:
        raise ValueError(f'val_fraction must be in (0, 1], got {val_fraction}')
    if val_fraction == 1:
        num_val = len(names)
    elif len(names) < 2:
        raise ValueError(f'need at least 2 scenes for a train/val split, got {len(names)}')
    else:
        num_val = min(max(1, round(len(names) * val_fraction)), len(names) - 1)
    paths = []
    for split, subset in (('train', names[:len(names) - num_val]),
                          ('val', names[len(names) - num_val:])):
        paths.append(osp.join(out_dir, f'scannetv2_{split}.txt'))
        with open(paths[-1], 'w') as f:
            f.write(''.join(name + '\n' for name in subset))
    return paths[0], paths[1]
