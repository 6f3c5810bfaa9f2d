"""Generate synthetic RGB-D scenes in the ScanNet frames layout read by
``mask3d_mm.ScanNetRGBDDataset`` (see ``mask3d_mm/synthetic/``).

Usage::

    python tools/dataset_converters/generate_synthetic_scannet.py data/synthetic_scannet \
        --num-scenes 40 --frames-per-scene 25 --frame-step 25 --workers 2
    # raw ScanNet sizes: color 1296x968, depth 640x480
    python tools/dataset_converters/generate_synthetic_scannet.py data/synthetic_scannet \
        --color-size 968 1296

A non-empty OUT_DIR is refused; ``--overwrite`` replaces the whole set, and only a set this tool
wrote (its marker file ``.mask3d_mm_synthetic.json``, or only scene folders and split files).
The set is written to a hidden folder beside OUT_DIR and renamed to OUT_DIR when complete, so
OUT_DIR is always a complete set (old or new); a killed run leaves a ``.NAME.*.part`` folder.
"""
import argparse
import json
import os
import os.path as osp
import re
import shutil
import sys
import time
import uuid

try:
    import mask3d_mm  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.utils import ProgressBar  # noqa: E402

from mask3d_mm.synthetic import (generate_scannet_scenes,  # noqa: E402
                                 write_scene_splits)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


MARKER = '.mask3d_mm_synthetic.json'
SPLIT_FILES = ('scannetv2_train.txt', 'scannetv2_val.txt')
SCENE_ENTRIES = {'color', 'depth', 'label', 'instance', 'pose', 'intrinsic',
                 'intrinsics_color.txt', 'intrinsics_depth.txt'}


def unexpected_entries(root: str) -> list:
    """Entries of ``root`` that a set of this tool does not have (empty: ``root`` looks like
    one); a set without the marker (written before it existed) must hold scenes."""
    entries = os.listdir(root)
    scenes = [e for e in entries if re.fullmatch(r'scene\d{4}_00', e)
              and osp.isdir(osp.join(root, e)) and not osp.islink(osp.join(root, e))]
    odd = sorted(set(entries) - set(scenes) - {MARKER, *SPLIT_FILES})
    odd += [f'{s}/{e}' for s in scenes for e in os.listdir(osp.join(root, s))
            if e not in SCENE_ENTRIES]
    if MARKER not in entries and not scenes:
        odd.append(f'(no {MARKER} and no scene folder)')
    return odd


def check_target(out_dir: str, overwrite: bool) -> None:
    """Refuse a non-empty ``out_dir`` unless ``overwrite`` and it looks like a set of ours."""
    if not osp.exists(out_dir) or (osp.isdir(out_dir) and not os.listdir(out_dir)):
        return
    if not osp.isdir(out_dir):
        raise NotADirectoryError(f'{out_dir} exists and is not a folder')
    real = osp.realpath(out_dir)
    protected = {osp.realpath(p) for p in ('/', osp.expanduser('~'), os.getcwd(), REPO)}
    if real in protected or any(p.startswith(real + os.sep) for p in protected):
        raise ValueError(f'{out_dir} is {real}, which holds the repository, the home or the '
                         'working folder: give a folder of its own')
    if not overwrite:
        raise FileExistsError(f'{out_dir} is not empty: pass --overwrite to replace the whole '
                              'set (the old frames are removed), or choose another folder')
    odd = unexpected_entries(out_dir)
    if odd:
        raise ValueError(f'{out_dir} does not look like a set written by this tool (found '
                         f'{odd[:5]}), so --overwrite does not remove it; delete it yourself '
                         'or choose another folder')


def replace_dir(part: str, out_dir: str) -> None:
    """Rename the finished ``part`` to ``out_dir`` (the real folder if a symlink), removing
    the old set once the new one is in place."""
    target = osp.realpath(out_dir) if osp.exists(out_dir) else osp.abspath(out_dir)
    old = part[:-len('.part')] + '.old'
    if osp.isdir(target) and os.listdir(target):
        os.rename(target, old)
    elif osp.isdir(target):
        os.rmdir(target)
    os.rename(part, target)
    if osp.isdir(old):
        shutil.rmtree(old)


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
                        help='share of scenes listed in scannetv2_val.txt (the rest: train)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing set written by this tool')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    check_target(args.out_dir, args.overwrite)
    color_size = tuple(args.color_size) if args.color_size else None
    bar = ProgressBar(args.num_scenes)
    start = time.perf_counter()
    target = osp.realpath(args.out_dir) if osp.exists(args.out_dir) else osp.abspath(
        args.out_dir)
    part = osp.join(osp.dirname(target),
                    f'.{osp.basename(target)}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part')
    try:
        scene_dirs = generate_scannet_scenes(
            part, num_scenes=args.num_scenes, frames_per_scene=args.frames_per_scene,
            height=args.height, width=args.width, color_size=color_size, seed=args.seed,
            frame_step=args.frame_step, workers=args.workers, progress=lambda _: bar.update(),
            color_camera=args.color_camera, layout=args.layout)
        if len(scene_dirs) > 1:
            write_scene_splits(part, scene_dirs, args.val_fraction)
        with open(osp.join(part, MARKER), 'w') as f:
            json.dump(dict(tool='tools/dataset_converters/generate_synthetic_scannet.py',
                           args={k: v for k, v in vars(args).items() if k != 'overwrite'}),
                      f, indent=1)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    replace_dir(part, args.out_dir)
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
