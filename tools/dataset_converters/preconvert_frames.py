"""Pre-convert ScanNet frames for fast pre-training data loading: colour warped once into the
depth camera (JPEG at the depth size), depth as ``.npy`` (see
``mask3d_mm/converters/preconvert_frames.py`` for the files, docs/benchmarks.md for the gain).

Usage::

    python tools/dataset_converters/preconvert_frames.py data/scannet/scannet_frames_25k \
        data/scannet/scannet_frames_25k_preconverted --workers 8
    python tools/train.py configs/mask3d/vit-b_scannet_preconverted.py

DST must be new, empty, or an output of this tool: its ``preconverted.json`` (written first)
records the source and the settings (--quality, --interpolation, --encoding, --depth-suffix). A
rerun continues only the same source and settings; anything else is refused naming the
difference, unless ``--overwrite`` (rewrites the frames). A non-empty DST without the marker is
refused, and nothing is written there.
"""
import argparse
import time

from mask3d_mm.converters.preconvert_frames import preconvert_frames


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Pre-convert ScanNet frames: colour in the depth camera, depth as .npy')
    parser.add_argument('src', help='ScanNet frames root (sceneXXXX_XX/color|depth/...)')
    parser.add_argument('dst', help='output root (same layout)')
    parser.add_argument('--scenes', nargs='+', default=None,
                        help='scene names (default: every scene folder of src)')
    parser.add_argument('--quality', type=int, default=95,
                        help='JPEG quality of the warped colour (default: 95)')
    parser.add_argument('--interpolation', default='bilinear',
                        help="colour interpolation of the warp (default: 'bilinear', as "
                        'AlignColorToDepth in the recipe)')
    parser.add_argument('--depth-suffix', default='.png',
                        help='suffix of the source depth files (default: .png)')
    parser.add_argument('--encoding', default=None,
                        help="LoadDepthFromFile encoding of the depth files (default: 'scannet'); "
                        'their values are copied unchanged, so train with the same encoding')
    parser.add_argument('--workers', type=int, default=1,
                        help='processes, one scene at a time each (default: 1)')
    parser.add_argument('--overwrite', action='store_true',
                        help='rewrite the frames of DST, also of another source or settings '
                        '(default: continue an output of the same source and settings, refuse '
                        'any other)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    counts = preconvert_frames(args.src, args.dst, args.scenes, args.quality,
                               args.interpolation, args.overwrite, args.workers,
                               args.depth_suffix, args.encoding)
    print(f'pre-converted {sum(counts.values())} frames of {len(counts)} scene(s) from '
          f'{args.src} to {args.dst} in {time.perf_counter() - start:.1f} s; train with '
          "ScanNetRGBDDataset(suffixes=dict(depth='.npy')), e.g. "
          'configs/mask3d/vit-b_scannet_preconverted.py')


if __name__ == '__main__':
    main()
