"""Hole filling of a Mask3D checkpoint against the nearest-visible baselines.

    python tools/analysis_tools/benchmark_hole_filling.py CONFIG [CHECKPOINT]
        [--hole-sizes 1 2 4] [--size config|native|HxW] [--rgb-visible all holes]
        [--max-frames N] [--seed 0] [--out FILE.json]

On the config's validation frames, a square of valid depth ``k`` model patches wide (aligned to
the model's patch grid, at a seeded random place) is removed and filled by
``RGBDInferencer(mode='fill')`` (every other patch with at least half its pixels valid is
visible; RGB visible everywhere or in the holes only; with and without ``align``, the
prediction fitted to the kept measured depth by scale and shift), by the nearest visible valid
pixel and by the median of the nearest visible patch
(``mask3d_mm.evaluation``). AbsRel and RMSE are over the removed pixels that had valid depth,
pooled over the frames; a markdown table is printed (docs/results.md). CHECKPOINT defaults to
the work dir's ``last_checkpoint``.
"""
import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import argparse
import json
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from mask3d_mm.apis import RGBDInferencer
from mask3d_mm.evaluation import nearest_visible_fill, nearest_visible_patch_fill


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Mask3D hole filling vs nearest-visible fills')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', default=None)
    parser.add_argument('--hole-sizes', type=int, nargs='+', default=[1, 2, 4],
                        help='hole widths in model patches')
    parser.add_argument('--size', default='config',
                        help="model input size: 'config', 'native' or HxW (RGBDInferencer)")
    parser.add_argument('--rgb-visible', nargs='+', choices=['all', 'holes'],
                        default=['all', 'holes'])
    parser.add_argument('--max-frames', type=int, default=None)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', default=None, help='write the numbers as JSON')
    args = parser.parse_args(argv)
    if args.size not in ('config', 'native'):
        args.size = tuple(int(v) for v in args.size.lower().split('x'))
    return args


class Pool:
    """Sums of |e| / gt, e^2 and the pixel count, pooled over frames."""

    def __init__(self) -> None:
        self.rel = self.sq = 0.
        self.n = 0

    def add(self, pred: np.ndarray, gt: np.ndarray) -> None:
        e = pred.astype(np.float64) - gt
        self.rel += float(np.sum(np.abs(e) / gt))
        self.sq += float(np.sum(e * e))
        self.n += gt.size

    def result(self) -> Dict[str, float]:
        n = max(self.n, 1)
        return dict(abs_rel=self.rel / n, rmse=float(np.sqrt(self.sq / n)), pixels=self.n)


def hole_region(shape: tuple, grid: tuple, k: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W) bool: a k x k block of the (h, w) patch grid at a random place."""
    H, W = shape
    h, w = grid
    r0, c0 = rng.integers(0, h - k + 1), rng.integers(0, w - k + 1)
    region = np.zeros(shape, bool)
    ys = (np.arange(H) * h // H >= r0) & (np.arange(H) * h // H < r0 + k)
    xs = (np.arange(W) * w // W >= c0) & (np.arange(W) * w // W < c0 + k)
    region[np.ix_(ys, xs)] = True
    return region


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    inferencer = RGBDInferencer(args.config, args.checkpoint, device=args.device,
                                show_progress=False)
    frames = inferencer._inputs_to_list(args.config)
    if args.max_frames:
        frames = frames[:args.max_frames]
    # the model's input size per frame (its patch grid) from a first pass without holes
    first = inferencer(frames, mode='fill', size=args.size, draw_panels=False)['predictions']
    p = inferencer.patch_size
    variants = [(v, a) for v in args.rgb_visible for a in (False, True)]
    name = {(v, a): f'Mask3D, RGB {v}' + (', aligned' if a else '') for v, a in variants}
    methods = [name[va] for va in variants] + ['nearest visible pixel', 'nearest visible patch']
    table: Dict[int, Dict[str, Pool]] = {}
    for k in args.hole_sizes:
        pools = {m: Pool() for m in methods}
        rng = np.random.default_rng(args.seed + k)
        holey: List[dict] = []
        for frame, pred in zip(frames, first):
            gh, gw = (s // p for s in pred['model_input_size'])
            if k > min(gh, gw):
                raise ValueError(f'--hole-sizes {k}: larger than the {gh}x{gw} patch grid of '
                                 f'{frame["depth_path"]} at --size {args.size}')
            holey.append(dict(frame, region=hole_region(pred['depth'].shape, (gh, gw), k, rng)))
        for visible, align in variants:
            out = inferencer(holey, mode='fill', rgb_visible=visible, align=align,
                             size=args.size, draw_panels=False)
            for f, r in zip(holey, out['predictions']):
                sel = r['scored']
                pools[name[(visible, align)]].add(r['depth'][sel], r['input_depth'][sel])
                if (visible, align) != variants[0]:
                    continue
                depth, region = r['input_depth'], f['region']
                pools['nearest visible pixel'].add(
                    nearest_visible_fill(depth, ~region)[sel], depth[sel])
                H, W = depth.shape
                gh, gw = (s // p for s in r['model_input_size'])
                rows = ((np.arange(gh) + 0.5) * H / gh).astype(int)
                cols = ((np.arange(gw) + 0.5) * W / gw).astype(int)
                grid_mask = r['depth_mask'][np.ix_(rows, cols)]
                # the patches of the model's grid, p x p pixels each (frame resized nearest)
                small = cv2.resize(depth, (gw * p, gh * p), interpolation=cv2.INTER_NEAREST)
                fill = cv2.resize(nearest_visible_patch_fill(small, grid_mask), (W, H),
                                  interpolation=cv2.INTER_NEAREST)
                pools['nearest visible patch'].add(fill[sel], depth[sel])
        table[k] = {m: pool.result() for m, pool in pools.items() if pool.n}
        print(f'hole {k}x{k} patches: ' + ', '.join(
            f'{m} {v["abs_rel"]:.4f} / {v["rmse"]:.3f} m' for m, v in table[k].items()),
            flush=True)
    size = first[0]['model_input_size']
    lines = [f'| hole (model patches; {size[0]}x{size[1]} input) | '
             + ' | '.join(f'{m}: AbsRel / RMSE (m)' for m in table[args.hole_sizes[0]]) + ' |',
             '|---' * (1 + len(table[args.hole_sizes[0]])) + '|']
    for k, row in table.items():
        best = min(v['abs_rel'] for v in row.values())
        cells = [(f'**{v["abs_rel"]:.3f}**' if v['abs_rel'] == best else f'{v["abs_rel"]:.3f}')
                 + f' / {v["rmse"]:.3f}' for v in row.values()]
        lines.append(f'| {k}x{k} | ' + ' | '.join(cells) + ' |')
    print(f'\n{len(frames)} validation frames of {args.config}\n' + '\n'.join(lines))
    result = dict(config=args.config, checkpoint=inferencer.weights, frames=len(frames),
                  size=args.size, model_input_size=list(size),
                  table={str(k): v for k, v in table.items()})
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
