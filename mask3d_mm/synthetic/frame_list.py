"""Synthetic frames as a frame list in another depth encoding: a second and third source for the
tiny mixture (configs/mask3d/vit-tiny_synthetic-mixed.py), read by
``mask3d_mm.RGBDFrameListDataset``. Used by
``tools/dataset_converters/generate_synthetic_frame_list.py``.

::

    out_dir/
        frames.txt                       "sceneXXXX_00/rgb/N.jpg sceneXXXX_00/depth/N.png" lines
        train.txt, val.txt               the same lines, the last scene for val (2+ scenes)
        sceneXXXX_00/rgb/NNNNNN.jpg      colour, the depth camera's view at the depth size
        sceneXXXX_00/depth/NNNNNN.png    uint16 in the encoding (or .npy float32 metres)
        sceneXXXX_00/intrinsics.txt      3x3, the depth camera
        .mask3d_mm_synthetic.json        the marker (generator, encoding, arguments)
"""
import json
import os
import os.path as osp
import shutil
import uuid
from typing import Optional

import cv2
import numpy as np

from mask3d_mm.datasets.transforms.depth_encoding import get_encoding
from .output import GENERATOR, MARKER, replace_dir
from .writer import generate_scannet_scenes

__all__ = ['encode_depth', 'write_synthetic_frame_list']


def encode_depth(metres: np.ndarray, encoding: str) -> np.ndarray:
    """Depth in metres (0 = invalid) as the file values of ``encoding``: float32 metres for a
    float encoding; else uint16 ``round(m * depth_scale)`` (0 where invalid or beyond the
    uint16 range), bits rotated left for an encoding that rotates them right (SUN RGB-D).

    Raises:
        ValueError: an encoding these files cannot express (byte swap, Kinect disparity,
            HDF5, ray distances).
    """
    enc = get_encoding(encoding)
    if enc.swap_bytes or enc.kinect_disparity or enc.hdf5_key or enc.ray_distance:
        raise ValueError(f'encoding {encoding!r} is not written by the synthetic frame list '
                         '(byte swap, disparity, HDF5 or ray distances); choose a scale '
                         "encoding ('scannet', 'tum', 'matterport', 'scale:<s>', ...), "
                         "'sunrgbd' or 'float_m'")
    metres = np.asarray(metres, np.float32)
    if enc.file_dtype == 'float':
        return metres.copy()
    values = np.rint(metres.astype(np.float64) * enc.depth_scale)
    values[(metres <= 0) | (values > 65535)] = 0
    values = values.astype(np.uint16)
    r = enc.bit_rotation
    if r:
        values = ((values << r) | (values >> (16 - r))).astype(np.uint16)
    return values


def write_synthetic_frame_list(out_dir: str, encoding: str = 'tum', num_scenes: int = 2,
                               frames_per_scene: int = 16, height: int = 120, width: int = 160,
                               seed: int = 1, record: Optional[dict] = None) -> str:
    """Generate synthetic scenes (:func:`generate_scannet_scenes`, colour at the depth size)
    and write them to ``out_dir`` as a frame list with depth in ``encoding`` (module
    docstring). ``out_dir`` must not exist or be empty; it is written beside and renamed in,
    so it is complete or absent.

    Returns:
        str: the list file, ``out_dir/frames.txt``.
    """
    if osp.exists(out_dir) and (not osp.isdir(out_dir) or os.listdir(out_dir)):
        raise FileExistsError(f'{out_dir} exists and is not an empty folder: choose another '
                              'folder or remove it yourself')
    float_files = get_encoding(encoding).file_dtype == 'float'
    encode_depth(np.ones((1, 1), np.float32), encoding)  # refuse an encoding before any work
    target = osp.abspath(out_dir)
    base = osp.join(osp.dirname(target), f'.{osp.basename(target)}.{os.getpid()}-'
                    f'{uuid.uuid4().hex[:8]}')
    scannet, part = base + '.scannet', base + '.part'
    try:
        scenes = generate_scannet_scenes(scannet, num_scenes=num_scenes,
                                         frames_per_scene=frames_per_scene, height=height,
                                         width=width, seed=seed)
        lines, scene_lines = [], []
        for scene_dir in scenes:
            scene = osp.basename(scene_dir)
            for sub in ('rgb', 'depth'):
                os.makedirs(osp.join(part, scene, sub))
            k = np.loadtxt(osp.join(scene_dir, 'intrinsics_depth.txt'))[:3, :3]
            np.savetxt(osp.join(part, scene, 'intrinsics.txt'), k, fmt='%.6f')
            for name in sorted(os.listdir(osp.join(scene_dir, 'depth'))):
                stem = osp.splitext(name)[0]
                mm = cv2.imread(osp.join(scene_dir, 'depth', name), cv2.IMREAD_UNCHANGED)
                values = encode_depth(mm.astype(np.float32) / 1000.0, encoding)
                depth = f'{scene}/depth/{stem}' + ('.npy' if float_files else '.png')
                if float_files:
                    np.save(osp.join(part, depth), values)
                else:
                    cv2.imwrite(osp.join(part, depth), values)
                rgb = f'{scene}/rgb/{stem}.jpg'
                shutil.copyfile(osp.join(scene_dir, 'color', f'{stem}.jpg'), osp.join(part, rgb))
                lines.append(f'{rgb} {depth}\n')
            scene_lines.append(lines[-frames_per_scene:])
        lists = dict(frames=lines)
        if len(scenes) > 1:
            lists.update(train=sum(scene_lines[:-1], []), val=scene_lines[-1])
        for name, content in lists.items():
            with open(osp.join(part, f'{name}.txt'), 'w') as f:
                f.write('# colour depth, relative to this folder\n' + ''.join(content))
        with open(osp.join(part, MARKER), 'w') as f:
            json.dump(dict(record or {}, generator=GENERATOR, layout='frame list',
                           encoding=encoding), f, indent=1)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(scannet, ignore_errors=True)
    replace_dir(part, out_dir)
    return osp.join(out_dir, 'frames.txt')
