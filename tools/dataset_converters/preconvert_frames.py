"""Pre-convert RGB-D frames for fast pre-training data loading: colour warped once into the
depth camera (JPEG at the depth size), depth as ``.npy`` with the values unchanged (see
``mask3d_mm/converters/preconvert_frames.py`` for the files, docs/benchmarks.md for the gain).
The source is a ScanNet frames root, or any RGB-D reader of the package
(``mask3d_mm/converters/preconvert_dataset.py``), given by its type and arguments or by a
dataset of a config; the output is the ScanNet frames layout, its marker records the source's
depth encoding.

Usage::

    python tools/dataset_converters/preconvert_frames.py data/scannet/scannet_frames_25k \
        data/scannet/scannet_frames_25k_preconverted --workers 8
    python tools/train.py configs/mask3d/vit-b_scannet_preconverted.py
    # any reader: its data root, type and arguments
    python tools/dataset_converters/preconvert_frames.py data/sunrgbd/SUNRGBD \
        data/sunrgbd_preconverted --dataset-type mask3d_mm.SUNRGBDDataset \
        --dataset-args "sensors=['kv2']"
    # or a dataset of a config (here the second source of a mixture)
    python tools/dataset_converters/preconvert_frames.py data/tum_preconverted \
        --config configs/mask3d/vit-b_mixed-rgbd.py \
        --dataset-key train_dataloader.dataset.datasets.4

DST must be new, empty, or an output of this tool: its ``preconverted.json`` (written first)
records the source and the settings (--quality, --interpolation, --encoding, --depth-suffix). A
rerun continues only the same source and settings; anything else is refused naming the
difference, unless ``--overwrite`` (rewrites the frames). A non-empty DST without the marker is
refused, and nothing is written there.
"""
import argparse
import time

from mmengine.config import Config, DictAction

from mask3d_mm.converters.preconvert_frames import preconvert_frames


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Pre-convert RGB-D frames (a ScanNet root or any reader) to the ScanNet '
        'layout: colour in the depth camera, depth values unchanged as .npy')
    parser.add_argument('paths', nargs='+', metavar='SRC DST',
                        help='the ScanNet frames root (or the data root of --dataset-type) and '
                        'the output root; with --config: the output root only')
    parser.add_argument('--dataset-type', default=None,
                        help='an RGB-D reader, e.g. mask3d_mm.SUNRGBDDataset: SRC is its data '
                        'root')
    parser.add_argument('--dataset-args', nargs='+', action=DictAction, default={},
                        metavar='KEY=VALUE',
                        help='arguments of --dataset-type (values as in --cfg-options)')
    parser.add_argument('--config', default=None,
                        help='a config whose dataset (--dataset-key) is converted')
    parser.add_argument('--dataset-key', default='train_dataloader.dataset',
                        help='the dataset of --config (default: train_dataloader.dataset; '
                        'a source of a mixture: train_dataloader.dataset.datasets.N)')
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
    args = parser.parse_args(argv)
    want = 1 if args.config else 2
    if len(args.paths) != want:
        parser.error('give SRC DST' if want == 2 else 'with --config give the output root only')
    if args.config and args.dataset_type:
        parser.error('give --config or --dataset-type, not both')
    if args.dataset_args and not args.dataset_type:
        parser.error('--dataset-args go with --dataset-type')
    if (args.dataset_type or args.config) and (args.scenes or args.encoding
                                               or args.depth_suffix != '.png'):
        parser.error("--scenes, --encoding and --depth-suffix are for a ScanNet root; give a "
                     "reader's own arguments (e.g. encoding=tum) in --dataset-args or the config")
    return args


def dataset_cfg(args: argparse.Namespace) -> dict:
    """The reader config of --dataset-type / --config (None: a ScanNet frames root)."""
    if args.dataset_type:
        return dict(type=args.dataset_type, data_root=args.paths[0], **args.dataset_args)
    if args.config:
        node = Config.fromfile(args.config)
        for key in args.dataset_key.split('.'):
            node = node[int(key)] if isinstance(node, (list, tuple)) else node[key]
        return node.to_dict() if hasattr(node, 'to_dict') else dict(node)
    return None


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    dataset = dataset_cfg(args)
    dst = args.paths[-1]
    if dataset is not None:
        from mask3d_mm.converters.preconvert_dataset import preconvert_dataset
        done = preconvert_dataset(dataset, dst, args.quality, args.interpolation,
                                  args.overwrite, args.workers)
        counts = done['scene_frames']
        print(f'pre-converted {sum(counts.values())} frames of {len(counts)} scene(s) of '
              f'{dataset["type"]} ({dataset["data_root"]}) to {dst} in '
              f'{time.perf_counter() - start:.1f} s; train with '
              f"ScanNetRGBDDataset(data_root='{dst}', suffixes=dict(depth='.npy'), "
              f"encoding='{done['encoding']}', source='{done['source']}')")
        return
    src = args.paths[0]
    counts = preconvert_frames(src, dst, args.scenes, args.quality,
                               args.interpolation, args.overwrite, args.workers,
                               args.depth_suffix, args.encoding)
    print(f'pre-converted {sum(counts.values())} frames of {len(counts)} scene(s) from '
          f'{src} to {dst} in {time.perf_counter() - start:.1f} s; train with '
          "ScanNetRGBDDataset(suffixes=dict(depth='.npy')), e.g. "
          'configs/mask3d/vit-b_scannet_preconverted.py')


if __name__ == '__main__':
    main()
