"""A tiny SUN RGB-D stand-in in the layout of ``SUNRGBD.zip`` (one scene per sensor and set
kind, including SUN3D's nested scenes whose colour and depth files are named differently).

Depth is written as SUN RGB-D stores it: uint16 millimetres rotated LEFT by 3 bits (the toolbox's
``read3dPoints.m`` rotates right by 3 to read it).
"""
import os.path as osp
from typing import List

import numpy as np

from .common import colour_image, room_depth, to_uint16, write_image, write_text

HEIGHT, WIDTH = 48, 64

# (scene folder relative to SUNRGBD/, colour file, depth file): the sets of the real corpus
SCENES = (
    ('kv1/NYUdata/NYU0001', 'NYU0001.jpg', 'NYU0001.png'),
    ('kv1/b3dodata/img_0063', 'img_0063.jpg', 'img_0063.png'),
    ('kv2/kinect2data/000065_2014-05-16_20-14-38_260595134347_rgbf000121-resize',
     '0000121.jpg', '0000121.png'),
    ('kv2/align_kv2/2014-12-16_21-41-56_260595134347', '0000074.jpg', '0000074.png'),
    ('realsense/lg/2014_10_24-11_06_45-1311000073', '0000001.jpg', '0000001.png'),
    ('realsense/sh/2014_10_21-19_04_21-1311000073', '0000031.jpg', '0000031.png'),
    ('xtion/xtion_align_data/2014_12_26-10_18_04-1311000073', '0000097.jpg', '0000097.png'),
    ('xtion/sun3ddata/mit_32_d507/d507_2/2014-10-14_15-09-25_260595134347',
     '0000152-000005072395.jpg', '0000179-000005971095.png'),
)


def rotate_left_3(mm: np.ndarray) -> np.ndarray:
    """SUN RGB-D's storage of millimetres: the 16 bits rotated left by 3."""
    mm = mm.astype(np.uint16)
    return ((mm << np.uint16(3)) | (mm >> np.uint16(13))).astype(np.uint16)


def write_sunrgbd(root: str, seed: int = 0) -> List[dict]:
    """Write ``<root>/SUNRGBD/...``; returns one dict per scene, in the reader's order
    (sensor, then scene path): ``scene``, ``img_path``, ``depth_path``, ``depth_bfx_path``,
    ``metres`` / ``metres_bfx`` (the depth written, after millimetre rounding), ``K``."""
    base = osp.join(root, 'SUNRGBD')
    out = []
    for i, (scene, image, depth) in enumerate(SCENES):
        folder = osp.join(base, scene)
        metres = np.round(room_depth(HEIGHT, WIDTH, seed + i) * 1000) / 1000
        bfx = np.where(metres > 0, metres, 2.5)  # depth_bfx: the holes filled
        write_image(osp.join(folder, 'image', image), colour_image(HEIGHT, WIDTH, seed + i))
        write_image(osp.join(folder, 'depth', depth), rotate_left_3(to_uint16(metres, 1000)))
        write_image(osp.join(folder, 'depth_bfx', depth), rotate_left_3(to_uint16(bfx, 1000)))
        k = np.array([[0.9 * WIDTH, 0, WIDTH / 2 - 0.5], [0, 0.9 * WIDTH, HEIGHT / 2 - 0.5],
                      [0, 0, 1]])
        write_text(osp.join(folder, 'intrinsics.txt'),
                   '\n'.join(' '.join(f'{v:.6f}' for v in row) for row in k) + '\n')
        # the rest of a scene folder, not read
        write_text(osp.join(folder, 'scene.txt'), 'office\n')
        write_text(osp.join(folder, 'extrinsics', '20150118235401.txt'),
                   '1 0 0 0\n0 0 -1 0\n0 1 0 0\n')
        write_text(osp.join(folder, 'annotation2Dfinal', 'index.json'), '{}')
        write_image(osp.join(folder, 'fullres', image), colour_image(2 * HEIGHT, 2 * WIDTH))
        write_text(osp.join(folder, 'fullres', 'intrinsics.txt'), '1 0 0 0 1 0 0 0 1\n')
        out.append(dict(scene=scene, img_path=osp.join(folder, 'image', image),
                        depth_path=osp.join(folder, 'depth', depth),
                        depth_bfx_path=osp.join(folder, 'depth_bfx', depth),
                        metres=metres, metres_bfx=bfx, K=k.astype(np.float32)))
    sensors = ['kv1', 'kv2', 'realsense', 'xtion']
    return sorted(out, key=lambda f: (sensors.index(f['scene'].split('/')[0]), f['scene']))
