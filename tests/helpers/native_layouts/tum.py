"""A tiny TUM RGB-D stand-in: sequence folders as the benchmark's ``.tgz`` files unpack.

``rgb.txt`` / ``depth.txt`` with the benchmark's header comments and ``timestamp filename``
lines; colour and depth on their own clocks (jitter), some colour frames without a depth frame
within 0.02 s, extra depth frames, and a pair of colour frames competing for one depth frame
(the greedy smallest-difference rule decides). Depth: uint16 PNG, metres x 5000.
"""
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np

from .common import colour_image, room_depth, to_uint16, write_image, write_text

HEIGHT, WIDTH = 480, 640  # the sensor's size: its published intrinsics fit it
SEQUENCES = ('rgbd_dataset_freiburg1_xyz', 'rgbd_dataset_freiburg3_long_office_household')


def _header(kind: str, sequence: str) -> str:
    what = 'color images' if kind == 'rgb' else 'depth maps'
    return f"# {what}\n# file: '{sequence}.bag'\n# timestamp filename\n"


def write_tum(root: str, seed: int = 0) -> Dict[str, dict]:
    """Write the sequences under ``root``; returns per sequence ``rgb`` and ``depth``
    (timestamp string -> file name relative to the sequence) and ``metres`` (depth file ->
    the metres written, rounded to the 1/5000 m of the files)."""
    rng = np.random.default_rng(seed)
    out = {}
    for s, seq in enumerate(SEQUENCES):
        folder = osp.join(root, seq)
        t0 = 1305031102.175304 + 1000 * s
        rgb_t = [t0 + i / 30 + rng.uniform(-0.001, 0.001) for i in range(8)]
        depth_t = [t + rng.uniform(-0.005, 0.005) for t in rgb_t]
        del depth_t[5]  # colour frame 5 has no depth frame near it ...
        depth_t[3] = rgb_t[3] - 0.015  # ... colour 3 only a far one (0.015 s) ...
        rgb_t.insert(4, rgb_t[3] + 0.010)  # ... and a new colour frame 3b between them
        depth_t.insert(4, rgb_t[3] + 0.006)  # with a depth frame both 3 and 3b are near:
        # greedy by difference: 3b takes it (0.004), 3 keeps its far one (0.015)
        depth_t.append(rgb_t[-1] + 0.5)  # a depth frame after the last colour frame
        rgb_t.append(rgb_t[-1] + 1.0)  # a colour frame long after the last depth frame
        info = dict(rgb={}, depth={}, metres={})
        for kind, times in (('rgb', rgb_t), ('depth', depth_t)):
            lines = []
            for i, t in enumerate(times):
                stamp = f'{t:.6f}'
                name = f'{kind}/{stamp}.png'
                if kind == 'rgb':
                    write_image(osp.join(folder, name), colour_image(HEIGHT, WIDTH, seed + i))
                else:
                    metres = room_depth(HEIGHT, WIDTH, seed + 100 * s + i)
                    raw = to_uint16(metres, 5000)
                    write_image(osp.join(folder, name), raw)
                    info['metres'][name] = raw / 5000.0
                info[kind][stamp] = name
                lines.append(f'{stamp} {name}')
            write_text(osp.join(folder, f'{kind}.txt'), _header(kind, seq) + '\n'.join(lines)
                       + '\n')
        write_text(osp.join(folder, 'groundtruth.txt'),
                   '# ground truth trajectory\n# timestamp tx ty tz qx qy qz qw\n'
                   f'{t0:.4f} 1.3 0.6 1.6 0.6 0.6 -0.3 -0.3\n')
        write_text(osp.join(folder, 'accelerometer.txt'),
                   '# accelerometer data\n# timestamp ax ay az\n'
                   f'{t0:.6f} -0.07 -9.8 -0.4\n')
        out[seq] = info
    return out


def associate_reference(rgb: List[float], depth: List[float], offset: float = 0.0,
                        max_difference: float = 0.02) -> List[Tuple[float, float]]:
    """``associate.py``'s own loop (all pairs, greedy by difference): the test oracle."""
    first_keys, second_keys = list(rgb), list(depth)
    potential = [(abs(a - (b + offset)), a, b) for a in first_keys for b in second_keys
                 if abs(a - (b + offset)) < max_difference]
    potential.sort()
    matches = []
    for _, a, b in potential:
        if a in first_keys and b in second_keys:
            first_keys.remove(a)
            second_keys.remove(b)
            matches.append((a, b))
    matches.sort()
    return matches
