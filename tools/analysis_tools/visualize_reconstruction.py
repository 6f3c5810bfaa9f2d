"""Write reconstruction panels of a Mask3D checkpoint: RGB with masked patches greyed | masked
depth input | predicted depth | ground truth | error, one PNG per sample.

    python tools/analysis_tools/visualize_reconstruction.py CONFIG CHECKPOINT \
        [--out-dir DIR] [--num-samples 8] [--cfg-options ...]

Options are merged and checked as by ``tools/train.py`` (``--cfg-options``, then the environment
variable ``MASK3D_MM_CFG_OPTIONS``). Samples come from the config's validation set and pipeline
(fixed masks).
"""
import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import argparse
import os
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import default_collate
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmengine.utils import ProgressBar

from mask3d_mm.evaluation import nearest_visible_fill, nearest_visible_patch_fill
from mask3d_mm.structures import grid_patch_size, patch_to_pixel_mask, valid_depth
from mask3d_mm.tooling import apply_cfg_options
from mask3d_mm.visualization import depth_reconstruction_panel


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Mask3D reconstruction panels')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', default='work_dirs/reconstructions')
    parser.add_argument('--num-samples', type=int, default=8)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def abs_rel(pred: np.ndarray, gt: np.ndarray, sel: np.ndarray) -> float:
    sel = sel & valid_depth(gt)
    return float(np.mean(np.abs(pred[sel] - gt[sel]) / gt[sel])) if sel.any() else float('nan')


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    for note in apply_cfg_options(cfg, args.cfg_options):
        print(note)
    from mmpretrain.registry import DATASETS, MODELS
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmpretrain')):
        model = MODELS.build(cfg.model)
        dataset = DATASETS.build(cfg.val_dataloader.dataset)
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    model.eval()
    os.makedirs(args.out_dir, exist_ok=True)
    num = min(args.num_samples, len(dataset))
    bar = ProgressBar(num)
    scores = []
    for i in range(num):
        batch = default_collate([dataset[i]])
        with torch.no_grad():
            data = model.data_preprocessor(batch, False)
            sample = model.predict(data['inputs'], data['data_samples'])[0]
        img = batch['inputs'][0].numpy().transpose(1, 2, 0).astype(np.uint8)
        depth, pred = sample.depth.numpy(), sample.pred_depth[0].numpy()
        rgb_mask, depth_mask = sample.rgb_mask.numpy(), sample.depth_mask.numpy()
        panel = depth_reconstruction_panel(np.ascontiguousarray(img), rgb_mask, depth,
                                           depth_mask, pred)
        cv2.imwrite(osp.join(args.out_dir, f'reconstruction_{i:03d}.png'), panel)
        masked = patch_to_pixel_mask(depth_mask, grid_patch_size(depth_mask.shape, depth.shape))
        scores.append((abs_rel(pred, depth, masked),
                       abs_rel(nearest_visible_patch_fill(depth, depth_mask), depth, masked),
                       abs_rel(nearest_visible_fill(depth, ~masked), depth, masked)))
        bar.update()
    model, patch, pixel = np.nanmean(np.array(scores), axis=0)
    print(f'\nwrote {num} panels to {args.out_dir}; AbsRel on masked depth patches: '
          f'model {model:.4f}, nearest-visible-patch baseline {patch:.4f}, '
          f'nearest-visible-pixel baseline {pixel:.4f}')


if __name__ == '__main__':
    main()
