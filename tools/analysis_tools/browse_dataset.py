"""The frames of a config as its pipeline delivers them, one panel PNG each: colour, colour with
the masked RGB patches grey, depth in metres (colour map, range in the title), validity, depth
with the masked depth patches black, labels (segmentation configs).

    python tools/analysis_tools/browse_dataset.py CONFIG [--output-dir DIR]
        [--phase train|val|test] [--max-frames N] [--cfg-options key=value ...]

The mmseg / mmdet tool of that name for RGB-D frames: see what a new data source turns into
(encoding, alignment, crops, masks) before training on it. Works with pre-training configs
(``mask3d_mm`` datasets) and mmseg segmentation / depth-estimation configs. Default output:
``work_dirs/browse/<config name>/<phase>/``.
"""
import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import argparse
import os
import os.path as osp
from typing import List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, DefaultScope
from mmengine.utils import ProgressBar, import_modules_from_strings

from mask3d_mm.engine.hooks.depth_reconstruction_vis_hook import panel_name
from mask3d_mm.structures import grid_patch_size, patch_to_pixel_mask
from mask3d_mm.tooling import apply_cfg_options, parse_cfg_options
from mask3d_mm.visualization import colorize_depth, labelled_row, mask_overlay


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Browse the frames of a config as its '
                                     'pipeline delivers them')
    parser.add_argument('config')
    parser.add_argument('--output-dir', default=None,
                        help='default: work_dirs/browse/<config name>/<phase>')
    parser.add_argument('--phase', choices=['train', 'val', 'test'], default='train')
    parser.add_argument('--max-frames', type=int, default=8)
    parser.add_argument('--cfg-options', nargs='+', action='extend', metavar='KEY=VALUE')
    return parser.parse_args(argv)


def _np(x) -> np.ndarray:
    if hasattr(x, 'data') and not isinstance(x, (torch.Tensor, np.ndarray)):
        x = x.data  # mmengine PixelData
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _pixels(grid_mask: np.ndarray, shape: tuple) -> np.ndarray:
    return patch_to_pixel_mask(grid_mask.astype(bool), grid_patch_size(grid_mask.shape, shape))


def label_colors(labels: np.ndarray, ignore: int = 255) -> np.ndarray:
    """(H, W) class ids -> (H, W, 3) uint8 BGR, a fixed colour per id, ``ignore`` black."""
    palette = np.random.default_rng(0).integers(40, 256, (256, 3)).astype(np.uint8)
    out = palette[np.clip(labels, 0, 255).astype(np.int64)]
    out[labels == ignore] = 0
    return out


def frame_panel(packed: dict) -> np.ndarray:
    """The panel (title bar + views, uint8 BGR) of one packed sample ``dict(inputs,
    data_samples)`` of a pre-training or mmseg pipeline."""
    ds = packed['data_samples']
    img = _np(packed['inputs'])
    img = np.ascontiguousarray(img.transpose(1, 2, 0)[..., :3].clip(0, 255).astype(np.uint8))
    views: List[np.ndarray] = [img]
    titles = [f'colour {img.shape[0]}x{img.shape[1]}']
    if ds.get('rgb_mask') is not None:
        views.append(mask_overlay(img, _pixels(_np(ds.rgb_mask), img.shape)))
        titles.append('RGB mask (grey)')
    depth = ds.get('depth')
    if depth is None and ds.get('gt_depth_map') is not None:
        depth = ds.gt_depth_map
    if depth is not None:
        depth = _np(depth).astype(np.float32).reshape(img.shape[:2])
        valid = depth > 0
        lo, hi = (float(depth[valid].min()), float(depth[valid].max())) if valid.any() else (0, 0)
        views.append(colorize_depth(depth, hi or 1.0))
        titles.append(f'depth {lo:.2f}-{hi:.2f} m')
        views.append((valid[..., None] * 255).repeat(3, axis=2).astype(np.uint8))
        titles.append(f'valid {valid.mean():.0%}')
        if ds.get('depth_mask') is not None:
            seen = depth * ~_pixels(_np(ds.depth_mask), depth.shape)
            views.append(colorize_depth(seen, hi or 1.0))
            titles.append('visible depth patches')
    if ds.get('gt_sem_seg') is not None:
        labels = _np(ds.gt_sem_seg).reshape(-1, *_np(ds.gt_sem_seg).shape[-2:])[0]
        views.append(label_colors(labels))
        titles.append(f'labels ({len(np.unique(labels[labels != 255]))} classes)')
    return labelled_row(views, titles)


def main(argv: Optional[Sequence[str]] = None) -> List[str]:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    for note in apply_cfg_options(cfg, parse_cfg_options(args.cfg_options)):
        print(note)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    loader = cfg.get(f'{args.phase}_dataloader')
    if loader is None:
        raise ValueError(f'{args.config} has no {args.phase}_dataloader')
    out_dir = args.output_dir or osp.join(
        'work_dirs', 'browse', osp.splitext(osp.basename(args.config))[0], args.phase)
    os.makedirs(out_dir, exist_ok=True)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmpretrain')):
        dataset = DATASETS.build(loader.dataset)
        num = min(args.max_frames, len(dataset))
        bar = ProgressBar(num)
        written = []
        for i in range(num):
            packed = dataset[i]
            name = f'{i:04d}_{panel_name(packed["data_samples"], i)}.png'
            cv2.imwrite(osp.join(out_dir, name), frame_panel(packed))
            written.append(osp.join(out_dir, name))
            bar.update()
    print(f'\nwrote {num} panels to {out_dir}', flush=True)
    return written


if __name__ == '__main__':
    main()
