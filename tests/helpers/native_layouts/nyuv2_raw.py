"""A tiny NYU Depth V2 raw dump stand-in: libfreenect ``record`` files as the raw zips hold them.

- ``d-<seconds %f>-<counter %u>.pgm``: header ``P5 W H 65535`` then the 11-bit Kinect disparity
  as LITTLE-endian uint16 (libfreenect writes the host's bytes; the PGM standard says big
  endian, hence the toolbox's ``swapbytes``); 2047 = no return. Disparity from known metres by
  inverting ``depth_rel2depth_abs.m``: ``v = round(1092.5 - 351.3 / m)``.
- ``r-<seconds>-<counter>.ppm``: header ``P6 W H 255`` then RGB bytes.
- ``a-<seconds>-<counter>.dump`` (accelerometer) and ``INDEX.txt`` (the file names in
  recording order), not read.

Colour and depth run on their own clocks: the times are chosen so that nearest-in-time pairing
has work to do (a colour frame before and after, a missing colour frame so that two depth
frames share one, an extra colour frame).
"""
import os
import os.path as osp
from typing import Dict, List

import numpy as np

from .common import colour_image, room_depth, write_text

HEIGHT, WIDTH = 480, 640  # the sensor's size: its published intrinsics fit it
P1, P2 = 351.3, 1092.5  # camera_params.m depthParam1, depthParam2
T0 = 1294886362.981013

# scene folder -> (depth times, colour times) offsets from T0 in seconds
SCENES: Dict[str, tuple] = {
    'bedroom_0001': (
        [0.0, 0.0333, 0.0667, 0.1, 0.1333],
        # before/after depth 0 (nearest: -0.008); depth 1 (+0.004); none near depth 2, whose
        # nearest is depth 1's (0.0293 vs 0.0297 to the next); depth 3 (-0.003) and
        # depth 4 (+0.006); one more colour frame at the end
        [-0.008, 0.021, 0.0373, 0.0964, 0.097, 0.1393, 0.17]),
    'living_rooms_part1/living_room_0002a': (
        [0.5, 0.5333, 0.5667],
        [0.49, 0.512, 0.5301, 0.5685]),
}


def disparity(metres: np.ndarray) -> np.ndarray:
    """Kinect v1 raw values of ``metres`` (0 -> 2047, no return)."""
    with np.errstate(divide='ignore'):
        v = np.round(P2 - P1 / np.where(metres > 0, metres, 1.0))
    return np.where(metres > 0, v, 2047).astype(np.uint16)


def decoded(v: np.ndarray) -> np.ndarray:
    """Metres of raw values, as the toolbox computes them (0 where no return)."""
    return np.where(v == 2047, 0.0, P1 / (P2 - v.astype(np.float64)))


def write_pgm(path: str, values: np.ndarray) -> None:
    h, w = values.shape
    with open(path, 'wb') as f:
        f.write(f'P5 {w} {h} 65535\n'.encode() + values.astype('<u2').tobytes())


def write_ppm(path: str, rgb: np.ndarray) -> None:
    h, w = rgb.shape[:2]
    with open(path, 'wb') as f:
        f.write(f'P6 {w} {h} 255\n'.encode() + rgb.astype(np.uint8).tobytes())


def name(kind: str, t: float, counter: int, ext: str) -> str:
    return f'{kind}-{t:f}-{counter}.{ext}'


def write_nyuv2_raw(root: str, seed: int = 0) -> Dict[str, dict]:
    """Write the scene folders under ``root``; returns, per scene folder, ``depth`` and ``rgb``
    (file names in time order), ``times`` (name -> seconds) and ``metres`` (depth name ->
    the metres its disparity decodes to, HxW) and ``true_metres`` (before quantisation)."""
    out = {}
    rng = np.random.default_rng(seed)
    for s, (scene, (d_off, r_off)) in enumerate(SCENES.items()):
        folder = osp.join(root, scene)
        os.makedirs(folder, exist_ok=True)
        index, info = [], dict(depth=[], rgb=[], times={}, metres={}, true_metres={})
        events = [('d', T0 + o, i) for i, o in enumerate(d_off)]
        events += [('r', T0 + o, i) for i, o in enumerate(r_off)]
        events += [('a', T0 + o + 0.001, i) for i, o in enumerate(d_off)]
        for kind, t, i in sorted(events, key=lambda e: e[1]):
            counter = int(rng.integers(1 << 31))
            if kind == 'd':
                n = name('d', t, counter, 'pgm')
                true = room_depth(HEIGHT, WIDTH, seed + 10 * s + i)
                v = disparity(true)
                write_pgm(osp.join(folder, n), v)
                info['depth'].append(n)
                info['metres'][n] = decoded(v)
                info['true_metres'][n] = true
            elif kind == 'r':
                n = name('r', t, counter, 'ppm')
                write_ppm(osp.join(folder, n), colour_image(HEIGHT, WIDTH, seed + i)[..., ::-1])
                info['rgb'].append(n)
            else:
                n = name('a', t, counter, 'dump')
                with open(osp.join(folder, n), 'wb') as f:
                    f.write(rng.integers(0, 255, 20, dtype=np.uint8).tobytes())
            info['times'][n] = float(f'{t:f}')
            index.append(n)
        write_text(osp.join(folder, 'INDEX.txt'), '\n'.join(index) + '\n')
        out[scene] = info
    return out


def nearest_rgb(depth_name: str, rgb_names: List[str], times: Dict[str, float]) -> str:
    """The colour frame nearest in time to a depth frame, the later one on a tie (brute force:
    the oracle the reader's toolbox-style pointer is checked against)."""
    t = times[depth_name]
    best = min(range(len(rgb_names)), key=lambda j: (abs(times[rgb_names[j]] - t), -j))
    return rgb_names[best]
