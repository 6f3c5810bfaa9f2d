"""Export ScanNet ``.sens`` streams to the ``scannet_frames_25k`` layout
(:mod:`mask3d_mm.datasets.scannet_layout`), read by ``mask3d_mm.ScanNetRGBDDataset``.

For each scene and every ``frame_skip``-th frame (names = frame index in the .sens, 6 digits)::

    OUT/sceneXXXX_XX/color/NNNNNN.jpg   the original JPEG bytes (no re-compression)
    OUT/sceneXXXX_XX/depth/NNNNNN.png   uint16, units of 1/depth_shift m (mm for ScanNet)
    OUT/sceneXXXX_XX/pose/NNNNNN.txt    4x4 camera-to-world
    OUT/sceneXXXX_XX/intrinsics_color.txt, intrinsics_depth.txt   4x4

Every file is written through ``NAME.tmp`` and renamed when complete, so an interrupted export
leaves no truncated frame (and its leftover is no frame of the layout); a rerun resumes, redoing
a frame that lacks a file or whose pose is not a complete 4x4 matrix (what an export of an
earlier version, writing in place, left when killed: the pose is the last file of a frame).
"""
import glob
import os
import os.path as osp
from typing import List

import cv2
from mmengine.utils import ProgressBar

from mask3d_mm.atomic_write import write_file_atomic
from mask3d_mm.datasets.scannet_layout import (INTRINSICS_FILES, MODALITIES, frame_name,
                                               read_matrix, write_matrix)
from .sens_reader import SensReader

__all__ = ['find_sens_files', 'export_scene']


def find_sens_files(path: str) -> List[str]:
    """One ``.sens`` file, or the ``sceneXXXX_XX/sceneXXXX_XX.sens`` files of a folder."""
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path} is neither a .sens file nor a folder')
    files = sorted(
        f for f in glob.glob(osp.join(path, '*', '*.sens'))
        if osp.splitext(osp.basename(f))[0] == osp.basename(osp.dirname(f)))
    if not files:
        files = sorted(glob.glob(osp.join(path, '*.sens')))
    if not files:
        raise FileNotFoundError(f'no sceneXXXX_XX/sceneXXXX_XX.sens file found in {path}')
    return files


def _exported(color_path: str, depth_path: str, pose_path: str) -> bool:
    """A frame's three files are there and its pose (written last) is a 4x4 matrix."""
    if not all(osp.exists(p) for p in (color_path, depth_path, pose_path)):
        return False
    try:
        read_matrix(pose_path)
    except ValueError:
        return False
    return True


def export_scene(sens_path: str, out_dir: str, frame_skip: int = 25,
                 overwrite: bool = False, show_progress: bool = True) -> int:
    """Export one ``.sens`` file to ``out_dir/<scene>/``.

    Args:
        sens_path (str): the ``.sens`` file; the scene name is its file stem.
        out_dir (str): root of the exported scenes.
        frame_skip (int): export frames 0, skip, 2*skip, ... Defaults to 25.
        overwrite (bool): rewrite existing frame files. Defaults to False (complete frames
            are kept, so an interrupted export resumes).
        show_progress (bool): show a progress bar. Defaults to True.

    Returns:
        int: number of frames exported (or already present).
    """
    scene = osp.splitext(osp.basename(sens_path))[0]
    scene_dir = osp.join(out_dir, scene)
    folders = {m: osp.join(scene_dir, MODALITIES[m][0]) for m in ('color', 'depth', 'pose')}
    for folder in folders.values():
        os.makedirs(folder, exist_ok=True)
    with SensReader(sens_path) as reader:
        for cam, k in (('color', reader.intrinsic_color), ('depth', reader.intrinsic_depth)):
            write_matrix(osp.join(scene_dir, *INTRINSICS_FILES[cam][0]), k)
        color_suffix = reader.color_suffix
        num = (reader.num_frames + frame_skip - 1) // frame_skip
        bar = ProgressBar(num) if show_progress and num else None
        count = 0
        for frame in reader.iter_frames(frame_skip):
            name = frame_name(frame.index)
            color_path = osp.join(folders['color'], name + color_suffix)
            depth_path = osp.join(folders['depth'], name + MODALITIES['depth'][1])
            pose_path = osp.join(folders['pose'], name + MODALITIES['pose'][1])
            if overwrite or not _exported(color_path, depth_path, pose_path):
                write_file_atomic(color_path, frame.color_bytes)
                ok, png = cv2.imencode(MODALITIES['depth'][1], reader.decode_depth(frame))
                if not ok:
                    raise OSError(f'cannot encode {depth_path} as PNG')
                write_file_atomic(depth_path, png.tobytes())
                write_matrix(pose_path, frame.camera_to_world)  # last: marks the frame done
            count += 1
            if bar is not None:
                bar.update()
        if bar is not None:
            print()
    return count
