"""Generate synthetic RGB-D scenes in the ScanNet frames layout read by
``mask3d_mm.ScanNetRGBDDataset`` (the generator: the package ``mask3d_mm/synthetic/``).

Usage::

    python tools/dataset_converters/generate_synthetic_scannet.py data/synthetic_scannet \
        --num-scenes 40 --frames-per-scene 25 --frame-step 25 --workers 2
    # raw ScanNet sizes: color 1296x968, depth 640x480
    python tools/dataset_converters/generate_synthetic_scannet.py data/synthetic_scannet \
        --color-size 968 1296

A non-empty OUT_DIR is refused; ``--overwrite`` replaces the whole set, and only a set this tool
wrote: its marker file ``.mask3d_mm_synthetic.json`` names the generator, and the folder holds
nothing but scene folders and split files. Anything else (a real ScanNet export has the same
layout, but no marker) is refused and nothing is removed.
The set is written to a hidden folder beside OUT_DIR and renamed to OUT_DIR when complete, so
OUT_DIR is always a complete set (old or new); a killed run leaves a ``.NAME.*.part`` folder.
"""
import argparse
import time

import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

from mmengine.utils import ProgressBar  # noqa: E402

from mask3d_mm.synthetic.output import check_target, write_synthetic_set  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate synthetic ScanNet-format RGB-D scenes')
    parser.add_argument('out_dir', help='output root; scenes go to OUT/sceneXXXX_00')
    parser.add_argument('--num-scenes', type=int, default=4)
    parser.add_argument('--frames-per-scene', type=int, default=25)
    parser.add_argument('--height', type=int, default=480, help='depth/label height')
    parser.add_argument('--width', type=int, default=640, help='depth/label width')
    parser.add_argument(
        '--color-size', type=int, nargs=2, metavar=('H', 'W'), default=None,
        help='color image size (default: the depth size)')
    parser.add_argument(
        '--color-camera', choices=('depth', 'scannet'), default='depth',
        help="'depth': colour seen by the depth camera scaled to --color-size (default); "
        "'scannet': ScanNet's own colour and depth cameras (they differ by 1-3 px beyond a "
        'resize), labels in the colour camera')
    parser.add_argument(
        '--layout', choices=('frames25k', 'sensreader'), default='frames25k',
        help="'frames25k': scannet_frames_25k names (000025.jpg, intrinsics_color.txt); "
        "'sensreader': what ScanNet's SensReader exports (25.jpg, intrinsic/*.txt, no labels)")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--frame-step', type=int, default=1,
        help='frame i is named i * frame_step (25 mimics scannet_frames_25k)')
    parser.add_argument('--workers', type=int, default=1, help='processes (one scene each)')
    parser.add_argument('--val-fraction', type=float, default=0.25,
                        help='share of scenes listed in scannetv2_val.txt (the rest: train); '
                        '1: all (a held-out set)')
    parser.add_argument(
        '--materials', choices=('class', 'independent'), default='class',
        help="'class': each class has its own palette, so colour can name it (default); "
        "'independent': the same scenes with materials drawn whatever the class")
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing set written by this tool (its marker '
                        'file names the generator; anything else is refused)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    check_target(args.out_dir, args.overwrite)  # before the progress bar shows
    color_size = tuple(args.color_size) if args.color_size else None
    bar = ProgressBar(args.num_scenes)
    start = time.perf_counter()
    scene_dirs = write_synthetic_set(
        args.out_dir, overwrite=args.overwrite, val_fraction=args.val_fraction,
        record=dict(tool='tools/dataset_converters/generate_synthetic_scannet.py',
                    args={k: v for k, v in vars(args).items() if k != 'overwrite'}),
        progress=lambda _: bar.update(), num_scenes=args.num_scenes,
        frames_per_scene=args.frames_per_scene, height=args.height, width=args.width,
        color_size=color_size, seed=args.seed, frame_step=args.frame_step,
        workers=args.workers, color_camera=args.color_camera, layout=args.layout,
        materials=args.materials)
    elapsed = time.perf_counter() - start
    frames = len(scene_dirs) * args.frames_per_scene
    color = color_size or (
        (round(968 * args.height / 480), round(1296 * args.width / 640))
        if args.color_camera == 'scannet' else (args.height, args.width))
    print(f'\nWrote {len(scene_dirs)} scenes x {args.frames_per_scene} frames = {frames} frames '
          f'(depth {args.height}x{args.width}, color {color[0]}x{color[1]}) to {args.out_dir} '
          f'in {elapsed:.1f} s ({frames / max(elapsed, 1e-9):.2f} frames/s, '
          f'{args.workers} worker(s))')


if __name__ == '__main__':
    main()
