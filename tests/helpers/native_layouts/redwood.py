"""A tiny Redwood stand-in: scan folders as the Redwood object-scan zips unpack, plus the
plain-name layout of Open3D's reconstruction system and a scan paired by a match file.

- ``00033/``: ``rgb/<frame>-<microseconds>.jpg`` and ``depth/<frame>-<microseconds>.png`` on
  separate clocks, one depth frame more than colour frames (nearest-in-time pairing needed).
- ``livingroom/``: ``image/000000.jpg`` ... and ``depth/000000.png`` ... (pairs by order).
- ``matched/``: ``rgb/`` and ``depth/`` named independently, ``match.txt`` lines
  ``depth/<file> rgb/<file>``.

Depth: uint16 PNG millimetres, 0 = no depth.
"""
import os.path as osp
from typing import Dict

import numpy as np

from .common import colour_image, room_depth, to_uint16, write_image, write_text

HEIGHT, WIDTH = 480, 640  # the sensor's size: its published intrinsics fit it


def _depth(path: str, seed: int) -> np.ndarray:
    raw = to_uint16(room_depth(HEIGHT, WIDTH, seed), 1000)
    write_image(path, raw)
    return raw / 1000.0


def write_redwood(root: str, seed: int = 0) -> Dict[str, dict]:
    """Write the scans under ``root``; returns per scan ``pairs`` (colour path -> depth path,
    relative to the scan, in colour order) and ``metres`` (depth path -> metres written)."""
    out = {}
    # 00033: colour at 30 Hz from t=0.0167 s, depth at 30 Hz from t=0 with one more frame
    scan = osp.join(root, '00033')
    info = dict(pairs={}, metres={}, times={})
    depth_names = []
    for i in range(5):
        t = int(round(i * 33366 + (i % 2) * 2100))
        name = f'depth/{i + 1:07d}-{t:012d}.png'
        info['metres'][name] = _depth(osp.join(scan, name), seed + i)
        info['times'][name] = t / 1e6
        depth_names.append(name)
    for i in range(4):
        t = 16000 + i * 33366 + (9000 if i == 2 else 0)
        name = f'rgb/{i + 1:07d}-{t:012d}.jpg'
        write_image(osp.join(scan, name), colour_image(HEIGHT, WIDTH, seed + i))
        info['times'][name] = t / 1e6
        best = min(depth_names, key=lambda d: (abs(info['times'][d] - t / 1e6),
                                               -depth_names.index(d)))
        info['pairs'][name] = best
    out['00033'] = info
    # livingroom: Open3D reconstruction-system names, paired by order
    scan = osp.join(root, 'livingroom')
    info = dict(pairs={}, metres={})
    for i in range(3):
        color, depth = f'image/{i:06d}.jpg', f'depth/{i:06d}.png'
        write_image(osp.join(scan, color), colour_image(HEIGHT, WIDTH, seed + i))
        info['metres'][depth] = _depth(osp.join(scan, depth), seed + 10 + i)
        info['pairs'][color] = depth
    out['livingroom'] = info
    # matched: a match file pairs independently named files
    scan = osp.join(root, 'matched')
    info = dict(pairs={}, metres={})
    lines = ['# depth colour']
    for i, (c, d) in enumerate([('a.jpg', 'z.png'), ('b.jpg', 'y.png')]):
        color, depth = f'rgb/{c}', f'depth/{d}'
        write_image(osp.join(scan, color), colour_image(HEIGHT, WIDTH, seed + i))
        info['metres'][depth] = _depth(osp.join(scan, depth), seed + 20 + i)
        info['pairs'][color] = depth
        lines.append(f'{depth} {color}')
    write_text(osp.join(scan, 'match.txt'), '\n'.join(lines) + '\n')
    out['matched'] = info
    return out
