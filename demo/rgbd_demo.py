"""Run a pre-trained Mask3D model on RGB-D frames: depth reconstruction or hole filling.

    python demo/rgbd_demo.py INPUT [DEPTH] CONFIG [CHECKPOINT] --out-dir OUT
        [--mode reconstruct|fill] [--mask-ratio R] [--rgb-mask-ratio R] [--complementary]
        [--mask PNG] [--rgb-visible all|holes] [--align] [--size config|native|HxW]
        [--encoding NAME] [--batch-size N] [--max-frames N] [--no-ply] [--device cpu]

INPUT: ``colour.jpg,depth.png`` (or the colour and depth files as two arguments), a folder
(ScanNet layout: color/ + depth/ at any depth; or NAME_color.jpg + NAME_depth.png pairs), a list
file (``colour depth [intrinsics]`` per line) or a dataset config (its validation frames).
CHECKPOINT defaults to the config's work dir's ``last_checkpoint``. Writes ``OUT/depth/NAME.png``
(16-bit, the input's encoding), ``OUT/depth/NAME.npy`` (metres), ``OUT/vis/NAME.png`` (panel) and
``OUT/ply/NAME.ply`` (coloured point cloud). See ``mask3d_mm.apis.RGBDInferencer`` and
docs/tools.md.
"""
import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import argparse
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np

from mask3d_mm.apis import RGBDInferencer


def _size(text: str):
    if text in ('config', 'native'):
        return text
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size: 'config', 'native' or HxW, got {text!r}")
    return (h, w)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Mask3D depth reconstruction / hole filling on RGB-D frames',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n')[1])
    parser.add_argument('paths', nargs='+', metavar='INPUT [DEPTH] CONFIG [CHECKPOINT]',
                        help='the input (one path, or colour and depth), the config (.py) '
                        'and optionally the checkpoint')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--mode', choices=['reconstruct', 'fill'], default='reconstruct',
                        help="'reconstruct': masked RGB + masked depth -> depth; 'fill': the "
                        'invalid depth (and --mask) filled, measured depth kept')
    parser.add_argument('--mask-ratio', type=float, default=None,
                        help='reconstruct: masked depth patches (default: the config)')
    parser.add_argument('--rgb-mask-ratio', type=float, default=None,
                        help='reconstruct: masked RGB patches (default: the config)')
    parser.add_argument('--complementary', action='store_true', default=None,
                        help='reconstruct: visible depth drawn among RGB-masked patches first')
    parser.add_argument('--mask', default=None,
                        help='an image, non-zero = region: its depth patches are masked '
                        '(reconstruct) or filled (fill)')
    parser.add_argument('--rgb-visible', choices=['all', 'holes'], default='all',
                        help="fill: RGB visible everywhere or only in the holes")
    parser.add_argument('--align', action='store_true',
                        help='fill: fit the prediction to the kept measured depth (least-squares '
                        'scale and shift) before filling')
    parser.add_argument('--size', type=_size, default='config',
                        help="model input size: 'config' (the frame's aspect at the training "
                        "crop's pixel count, default), 'native' or HxW; outputs are at the "
                        "frame's own size")
    parser.add_argument('--encoding', default=None,
                        help="depth encoding of the input files ('scannet' = uint16 mm, 'tum', "
                        "'scale:4000', ...); default: the dataset's, else 'scannet'")
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--max-frames', type=int, default=None, help='the first N frames only')
    parser.add_argument('--no-ply', action='store_true', help='do not write point clouds')
    parser.add_argument('--device', default=None, help="e.g. 'cpu', 'cuda:0'")
    args = parser.parse_args(argv)
    paths = args.paths
    configs = [i for i, p in enumerate(paths) if p.endswith('.py')]
    if not configs:
        parser.error('no config (.py) among the paths')
    c = configs[-1]  # an input may be a config too: the model's config is the last .py
    if c == 0 or len(paths) - c > 2:
        parser.error('expected INPUT [DEPTH] CONFIG [CHECKPOINT]')
    args.inputs = [tuple(paths[:2])] if c == 2 else paths[0]
    args.config = paths[c]
    args.checkpoint = paths[c + 1] if len(paths) > c + 1 else None
    return args


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    args = parse_args(argv)
    inferencer = RGBDInferencer(args.config, args.checkpoint, device=args.device)
    frames = inferencer._inputs_to_list(args.inputs, encoding=args.encoding)
    if args.max_frames is not None:
        frames = frames[:args.max_frames]
    out = inferencer(frames, batch_size=args.batch_size, out_dir=args.out_dir, mode=args.mode,
                     mask=args.mask, rgb_mask_ratio=args.rgb_mask_ratio,
                     depth_mask_ratio=args.mask_ratio, complementary=args.complementary,
                     rgb_visible=args.rgb_visible, size=args.size, align=args.align,
                     save_ply=not args.no_ply, return_arrays=False)
    preds = out['predictions']
    scores = [p['abs_rel'] for p in preds if p['abs_rel'] is not None]
    summary = f'wrote {len(preds)} frames to {osp.abspath(args.out_dir)} (depth/, vis/'
    summary += ')' if args.no_ply else ', ply/)'
    if scores:
        summary += f'; AbsRel on the hidden measured depth: {np.mean(scores):.4f}'
    print(summary, flush=True)
    return preds


if __name__ == '__main__':
    main()
