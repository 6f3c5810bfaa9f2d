"""Export ScanNet ``.sens`` streams to the ``scannet_frames_25k`` layout read by
``mask3d_mm.ScanNetRGBDDataset`` (see ``mask3d_mm/converters/export_sens.py`` for the files).

Usage::

    python tools/dataset_converters/export_sens.py scans/ --out-dir data/scannet/frames
    python tools/dataset_converters/export_sens.py scans/scene0000_00/scene0000_00.sens \
        --out-dir data/scannet/frames --frame-skip 25
"""
import argparse

from mask3d_mm.converters.export_sens import export_scene, find_sens_files


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export ScanNet .sens files to color/depth/pose frames')
    parser.add_argument('input', help='a .sens file or a folder of sceneXXXX_XX/sceneXXXX_XX.sens')
    parser.add_argument('--out-dir', required=True, help='output root (one folder per scene)')
    parser.add_argument('--frame-skip', type=int, default=25,
                        help='export every N-th frame (default: 25, as Pri3D)')
    parser.add_argument('--overwrite', action='store_true',
                        help='rewrite frames already exported (default: keep them, i.e. resume)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.frame_skip < 1:
        raise SystemExit(f'--frame-skip must be >= 1, got {args.frame_skip}')
    files = find_sens_files(args.input)
    total = 0
    for i, path in enumerate(files):
        print(f'[{i + 1}/{len(files)}] {path}')
        total += export_scene(path, args.out_dir, args.frame_skip, args.overwrite)
    print(f'exported {total} frames of {len(files)} scene(s) to {args.out_dir}')


if __name__ == '__main__':
    main()
