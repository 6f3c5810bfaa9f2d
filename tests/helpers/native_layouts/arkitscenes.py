"""A tiny ARKitScenes stand-in in the ``raw`` layout (apple/ARKitScenes raw/README.md, DATA.md).

::

    <root>/<split>/<video_id>/
        lowres_wide/<video_id>_<ts>.png              colour, 256x192 (8-bit, 3 channels)
        lowres_depth/<video_id>_<ts>.png             uint16 millimetres, 256x192
        confidence/<video_id>_<ts>.png               uint8 0 (low) .. 2 (high)
        lowres_wide_intrinsics/<video_id>_<ts>.pincam  "w h fx fy cx cy"
    <root>/raw_train_val_splits.csv                  ",video_id,fold"

Timestamps are seconds with 3 decimals (``41069025_3052.107.png``); colour and depth of a frame
share the name, as in the raw download. Quirks of the real data reproduced on request: an
intrinsics file 1 ms off its frame (upstream's ``tenFpsDataLoader`` looks 0.001 s either way),
a colour frame without depth.
"""
import os.path as osp
from typing import Dict, Sequence, Tuple

import numpy as np

from .common import colour_image, room_depth, to_uint16, write_image, write_text

SIZE = (192, 256)  # (H, W) of lowres_wide / lowres_depth / confidence
PINCAM = (212.0, 212.0, 127.6, 95.7)  # fx fy cx cy (an iPad Pro's lowres wide camera)
FPS_STEP = 0.017  # ~60 fps


def ts_name(ts: float) -> str:
    return f'{ts:.3f}'


def write_arkitscenes(root: str, split: str = 'Training',
                      video_ids: Sequence[str] = ('41069025', '41069042'),
                      num_frames: int = 3, t0: float = 3052.107, seed: int = 0,
                      confidence: bool = True, intrinsics_offset_frames: Sequence[int] = (1, ),
                      colour_only_frames: Sequence[int] = (), size: Tuple[int, int] = SIZE
                      ) -> Dict[Tuple[str, str], dict]:
    """Write ``video_ids`` with ``num_frames`` frames each under ``<root>/<split>``.

    Args:
        intrinsics_offset_frames: frame indices whose ``.pincam`` is named 1 ms later.
        colour_only_frames: frame indices written without depth (and confidence).

    Returns:
        dict: ``(video_id, timestamp name)`` -> ``dict(depth=HxW metres (float64, 0 = no
        depth, as stored: millimetres), confidence=HxW uint8 or None, k=3x3)`` of each frame
        with depth.
    """
    h, w = size
    fx, fy, cx, cy = PINCAM
    frames = {}
    for vi, vid in enumerate(video_ids):
        video = osp.join(root, split, vid)
        for i in range(num_frames):
            ts = ts_name(t0 + i * FPS_STEP)
            name = f'{vid}_{ts}.png'
            write_image(osp.join(video, 'lowres_wide', name), colour_image(h, w, seed + i))
            k_ts = ts_name(float(ts) + 0.001) if i in intrinsics_offset_frames else ts
            write_text(osp.join(video, 'lowres_wide_intrinsics', f'{vid}_{k_ts}.pincam'),
                       f'{w} {h} {fx} {fy} {cx} {cy}\n')
            if i in colour_only_frames:
                continue
            depth = room_depth(h, w, seed=seed + 100 * vi + i)
            mm = to_uint16(depth, 1000)
            write_image(osp.join(video, 'lowres_depth', name), mm)
            conf = None
            if confidence:
                rng = np.random.default_rng(seed + 1000 + i)
                conf = rng.choice(np.array([0, 1, 2], np.uint8), size=(h, w), p=[0.1, 0.2, 0.7])
                conf[mm == 0] = 0
                write_image(osp.join(video, 'confidence', name), conf)
            frames[(vid, ts)] = dict(depth=mm / 1000.0, confidence=conf,
                                     k=np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]]))
    return frames


def write_splits_csv(path: str, folds: Dict[str, str]) -> str:
    """ARKitScenes' ``raw_train_val_splits.csv`` format: ``,video_id,fold`` (pandas index)."""
    lines = [',video_id,fold'] + [f'{i},{vid},{fold}' for i, (vid, fold) in
                                  enumerate(folds.items())]
    return write_text(path, '\n'.join(lines) + '\n')
