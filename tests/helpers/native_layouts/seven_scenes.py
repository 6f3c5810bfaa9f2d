"""A tiny 7-Scenes stand-in: scene folders with their ``seq-XX.zip`` unpacked in place.

Per frame ``frame-NNNNNN.color.png`` (24-bit), ``frame-NNNNNN.depth.png`` (uint16 millimetres,
invalid depth 65535, as the readme states) and ``frame-NNNNNN.pose.txt`` (4x4); per scene
``TrainSplit.txt`` / ``TestSplit.txt`` (``sequence1`` lines).
"""
import os.path as osp
from typing import Dict

import numpy as np

from .common import colour_image, room_depth, to_uint16, write_image, write_text

HEIGHT, WIDTH = 480, 640  # the sensor's size: its published intrinsics fit it
# scene -> (train sequences, test sequences, frames per sequence)
SCENES = {'chess': ([1, 2], [3], 3), 'heads': ([2], [1], 2)}


def write_seven_scenes(root: str, seed: int = 0) -> Dict[str, dict]:
    """Write the scenes under ``root``; returns per ``'<scene>/seq-XX'`` the frames
    (``frame_id`` -> the metres written, 0 where the file holds 65535)."""
    out = {}
    for s, (scene, (train, test, n)) in enumerate(SCENES.items()):
        folder = osp.join(root, scene)
        write_text(osp.join(folder, 'TrainSplit.txt'), ''.join(f'sequence{i}\n' for i in train))
        write_text(osp.join(folder, 'TestSplit.txt'), ''.join(f'sequence{i}\n' for i in test))
        for q in sorted(train + test):
            seq = f'seq-{q:02d}'
            frames = {}
            for i in range(n):
                fid = f'frame-{i:06d}'
                base = osp.join(folder, seq, fid)
                metres = room_depth(HEIGHT, WIDTH, seed + 100 * s + 10 * q + i)
                raw = to_uint16(metres, 1000)
                raw[metres == 0] = 65535  # 7-Scenes marks invalid depth with 65535, not 0
                write_image(base + '.color.png', colour_image(HEIGHT, WIDTH, seed + i))
                write_image(base + '.depth.png', raw)
                pose = np.eye(4)
                pose[:3, 3] = [0.1 * i, 0.0, 0.5]
                write_text(base + '.pose.txt',
                           '\n'.join(' '.join(f'{v:.7e}' for v in row) for row in pose) + '\n')
                frames[fid] = np.where(raw == 65535, 0.0, raw / 1000.0)
            out[f'{scene}/{seq}'] = frames
    return out
