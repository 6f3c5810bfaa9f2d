"""Generate synthetic RGB-D frames as a frame list (``frames.txt`` of ``colour depth`` lines)
with depth in another encoding than ScanNet's millimetres: the other sources of the tiny
mixture (``configs/mask3d/vit-tiny_synthetic-mixed.py``), read by
``mask3d_mm.RGBDFrameListDataset`` (the generator: ``mask3d_mm/synthetic/frame_list.py``).

Usage::

    python tools/dataset_converters/generate_synthetic_frame_list.py data/synthetic_frames_tum \
        --encoding tum --seed 1          # uint16, metres x 5000 (TUM RGB-D)
    python tools/dataset_converters/generate_synthetic_frame_list.py data/synthetic_frames_npy \
        --encoding float_m --seed 2      # .npy float32 metres

OUT_DIR must not exist or be empty (nothing is overwritten); it is written beside and renamed
in when complete.
"""
import argparse

import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

from mask3d_mm.synthetic.frame_list import write_synthetic_frame_list  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate synthetic RGB-D frames as a frame list in a depth encoding')
    parser.add_argument('out_dir', help='output folder (must not exist or be empty)')
    parser.add_argument('--encoding', default='tum',
                        help="depth encoding of the files: 'tum' (uint16 / 5000, default), "
                        "'scannet', 'matterport', 'sunrgbd', 'scale:<s>', 'float_m' (.npy)")
    parser.add_argument('--num-scenes', type=int, default=2)
    parser.add_argument('--frames-per-scene', type=int, default=16)
    parser.add_argument('--height', type=int, default=120, help='depth (and colour) height')
    parser.add_argument('--width', type=int, default=160, help='depth (and colour) width')
    parser.add_argument('--seed', type=int, default=1,
                        help='scenes of another seed than the ScanNet-format set (0) are '
                        'other rooms')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    path = write_synthetic_frame_list(
        args.out_dir, encoding=args.encoding, num_scenes=args.num_scenes,
        frames_per_scene=args.frames_per_scene, height=args.height, width=args.width,
        seed=args.seed,
        record=dict(tool='tools/dataset_converters/generate_synthetic_frame_list.py',
                    args=vars(args)))
    print(f'Wrote {args.num_scenes} scenes x {args.frames_per_scene} frames '
          f'({args.height}x{args.width}, depth encoding {args.encoding!r}) to {args.out_dir}; '
          f'frame list {path}')


if __name__ == '__main__':
    main()
