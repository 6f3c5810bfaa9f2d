"""Export ScanNet ``.sens`` streams to the ``scannet_frames_25k`` layout read by
``mask3d_mm.ScanNetRGBDDataset``.

For each scene and every ``--frame-skip``-th frame (names = frame index in the .sens, 6 digits)::

    OUT/sceneXXXX_XX/color/NNNNNN.jpg   the original JPEG bytes (no re-compression)
    OUT/sceneXXXX_XX/depth/NNNNNN.png   uint16, units of 1/depth_shift m (mm for ScanNet)
    OUT/sceneXXXX_XX/pose/NNNNNN.txt    4x4 camera-to-world
    OUT/sceneXXXX_XX/intrinsics_color.txt, intrinsics_depth.txt   4x4

Usage::

    python tools/dataset_converters/export_sens.py scans/ --out-dir data/scannet/frames
    python tools/dataset_converters/export_sens.py scans/scene0000_00/scene0000_00.sens \
        --out-dir data/scannet/frames --frame-skip 25
"""
import argparse
import glob
import os
import os.path as osp
from typing import List

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from mask3d_mm.datasets.sens_reader import SensReader


def write_matrix(path: str, matrix: np.ndarray) -> None:
    """Write a 4x4 matrix as text, one row per line (exact for float32 values)."""
    np.savetxt(path, np.asarray(matrix, dtype=np.float64), fmt='%.9g')


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


def export_scene(sens_path: str, out_dir: str, frame_skip: int = 25,
                 overwrite: bool = False, show_progress: bool = True) -> int:
    """Export one ``.sens`` file to ``out_dir/<scene>/``.

    Args:
        sens_path (str): the ``.sens`` file; the scene name is its file stem.
        out_dir (str): root of the exported scenes.
        frame_skip (int): export frames 0, skip, 2*skip, ... Defaults to 25.
        overwrite (bool): rewrite existing frame files. Defaults to False (existing frames are
            kept, so an interrupted export resumes).
        show_progress (bool): show a progress bar. Defaults to True.

    Returns:
        int: number of frames exported (or already present).
    """
    scene = osp.splitext(osp.basename(sens_path))[0]
    scene_dir = osp.join(out_dir, scene)
    for sub in ('color', 'depth', 'pose'):
        os.makedirs(osp.join(scene_dir, sub), exist_ok=True)
    with SensReader(sens_path) as reader:
        write_matrix(osp.join(scene_dir, 'intrinsics_color.txt'), reader.intrinsic_color)
        write_matrix(osp.join(scene_dir, 'intrinsics_depth.txt'), reader.intrinsic_depth)
        color_suffix = reader.color_suffix
        num = (reader.num_frames + frame_skip - 1) // frame_skip
        bar = ProgressBar(num) if show_progress and num else None
        count = 0
        for frame in reader.iter_frames(frame_skip):
            name = f'{frame.index:06d}'
            color_path = osp.join(scene_dir, 'color', name + color_suffix)
            depth_path = osp.join(scene_dir, 'depth', name + '.png')
            pose_path = osp.join(scene_dir, 'pose', name + '.txt')
            done = all(osp.exists(p) for p in (color_path, depth_path, pose_path))
            if overwrite or not done:
                with open(color_path, 'wb') as f:
                    f.write(frame.color_bytes)
                depth = reader.decode_depth(frame)
                if not cv2.imwrite(depth_path, depth):
                    raise OSError(f'cannot write {depth_path}')
                write_matrix(pose_path, frame.camera_to_world)
            count += 1
            if bar is not None:
                bar.update()
        if bar is not None:
            print()
    return count


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export ScanNet .sens files to color/depth/pose frames')
    parser.add_argument('input', help='a .sens file or a folder of sceneXXXX_XX/sceneXXXX_XX.sens')
    parser.add_argument('--out-dir', required=True, help='output root (one folder per scene)')
    parser.add_argument('--frame-skip', type=int, default=25,
                        help='export every N-th frame (default: 25, as Pri3D)')
    parser.add_argument('--overwrite', action='store_true',
                        help='rewrite frames already exported (default: keep them, i.e. resume)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.frame_skip < 1:
        raise SystemExit(f'--frame-skip must be >= 1, got {args.frame_skip}')
    files = find_sens_files(args.input)
    total = 0
    for i, path in enumerate(files):
        print(f'[{i + 1}/{len(files)}] {path}')
        total += export_scene(path, args.out_dir, args.frame_skip, args.overwrite)
    print(f'exported {total} frames of {len(files)} scene(s) to {args.out_dir}')


if __name__ == '__main__':
    main()
