"""Find every frame that a run would fail to read, or would read as implausible depth, before
the run.

    python tools/misc/verify_dataset.py CONFIG [--phase train] [--num-process 4]
        [--out-path bad_frames.txt] [--cfg-options key=value ...]

Options are merged and checked as by ``tools/train.py``: ``--cfg-options`` then the environment
variable ``MASK3D_MM_CFG_OPTIONS``; an unknown top-level key (``train_dataloder.*``) is an error.

Builds the dataset of ``--phase`` (its own checks run first: missing files, empty data root, ...),
then reads every frame through its pipeline up to the last file-loading transform
(``LoadImageFromFile``, ``LoadAnnotations`` / ``mask3d_mm.LoadSegLabels``,
``mask3d_mm.LoadDepthFromFile``, with all their checks: corrupt files, 8-bit or all-invalid
depth, color/depth aspect mismatch, label maps whose ids do not fit the dataset, ...) and the
pipeline's ``mask3d_mm.AlignImageTo`` steps (a label or depth map whose size does not fit its
image; without an ``AlignImageTo``, label maps are checked against the image's aspect ratio
all the same). A depth map
that ``LoadDepthFromFile``'s plausibility check flags (wrong scale, bit rotation, disparity; see
docs/data_preparation.md) is reported too, with the likely cause, unless the config sets
``on_implausible='ignore'``. Prints one line per bad frame (its file and the problem), writes them
to ``--out-path`` and exits with status 1 when there is any. See docs/robustness.md.
"""
import argparse
import sys
from typing import List, Optional, Tuple

import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, init_default_scope

# the file-loading transforms: those that skip_bad_frames may skip in training
from mask3d_mm.datasets.scannet_layout import FILE_LOADERS
from mask3d_mm.datasets.transforms.align import AlignImageTo, check_aspect
from mask3d_mm.datasets.transforms.loading import ImplausibleDepthError, LoadDepthFromFile
from mask3d_mm.tooling import apply_cfg_options, parse_cfg_options

_FILE_KEYS = ('img_path', 'depth_path', 'seg_map_path', 'instance_path')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Find the frames that fail to load or hold implausible depth. More '
        '--cfg-options can come from the environment variable MASK3D_MM_CFG_OPTIONS.')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--phase', default='train', choices=['train', 'val', 'test'],
                        help='which dataloader of the config to verify (default: train)')
    parser.add_argument('--num-process', type=int, default=1,
                        help='processes reading the files (default: 1)')
    parser.add_argument('--out-path', help='also write the bad frames to this file')
    parser.add_argument('--cfg-options', nargs='+', action='extend', metavar='KEY=VALUE',
                        help='override settings of the config, as key=value pairs')
    return parser.parse_args(argv)


def _check_label_size(results: dict) -> dict:
    """Without an ``AlignImageTo`` in the pipeline: a loaded label map must have the image's
    aspect ratio (as ``AlignImageTo(reference='gt_seg_map')`` would require)."""
    if 'gt_seg_map' in results and 'img' in results:
        check_aspect(results, 'gt_seg_map', results['img'].shape[:2],
                     results['gt_seg_map'].shape[:2], AlignImageTo().max_aspect_change)
    return results


class _ReadFrames(torch.utils.data.Dataset):
    """Item i: ``(file of frame i, None or the error that reading it raises)``.

    Frame i is read by the dataset itself (``dataset.prepare_data``: its own loop and error
    notes), with its pipeline cut after the last file-loading transform, followed by the
    pipeline's later ``AlignImageTo`` steps (their checks: sizes, intrinsics), or, without
    any, a check that a label map has its image's aspect ratio; ``skip_bad_frames`` off (every
    bad frame is reported, none skipped) and implausible depth an error.
    """

    def __init__(self, dataset) -> None:
        self.dataset = dataset
        transforms = list(dataset.pipeline.transforms)
        last = max((i for i, t in enumerate(transforms) if isinstance(t, FILE_LOADERS)),
                   default=-1)
        if last < 0:
            raise ValueError(f'the pipeline of {type(dataset).__name__} reads no file '
                             f'({", ".join(type(t).__name__ for t in transforms)})')
        aligners = [t for t in transforms[last + 1:] if isinstance(t, AlignImageTo)]
        dataset.pipeline.transforms = transforms[:last + 1] + (aligners or [_check_label_size])
        self.loaders = ', '.join(type(t).__name__ for t in transforms[:last + 1] + aligners)
        if getattr(dataset, 'skip_bad_frames', False):
            dataset.skip_bad_frames = False
        for t in dataset.pipeline.transforms:  # report implausible depth per file, not warn
            if isinstance(t, LoadDepthFromFile) and t.on_implausible == 'warn':
                t.on_implausible = 'error'

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> Tuple[str, Optional[str]]:
        data = self.dataset.get_data_info(i)
        name = str(data.get('img_path', f'frame {i}'))
        files = [str(data[k]) for k in _FILE_KEYS if k in data]
        try:
            if self.dataset.prepare_data(i) is None:
                return name, (f'the pipeline ({self.loaders}) returned None (an unreadable '
                              f'file) [files: {", ".join(files)}]')
        except Exception as e:  # report every problem, whatever raised it
            error = f'{type(e).__name__}: {e}'
            if not any(f in error for f in files):  # e.g. upstream errors without the file
                error += f' [files: {", ".join(files)}]'
            return name, error
        return name, None


def verify(cfg: Config, phase: str, num_process: int = 1) -> Tuple[int, List[str]]:
    """Read every frame of ``phase``; returns the number of frames and the problems."""
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    dataset = DATASETS.build(cfg[f'{phase}_dataloader'].dataset)
    loader = torch.utils.data.DataLoader(
        _ReadFrames(dataset), batch_size=None, num_workers=num_process if num_process > 1 else 0)
    problems = [f'{name}: {" ".join(error.split())}' for name, error in loader  # one line each
                if error is not None]
    return len(dataset), problems


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    for note in apply_cfg_options(cfg, parse_cfg_options(args.cfg_options)):
        print(note)
    if cfg.get(f'{args.phase}_dataloader') is None:
        raise ValueError(f'{args.config} has no {args.phase}_dataloader')
    total, problems = verify(cfg, args.phase, args.num_process)
    for line in problems:
        print(line)
    if args.out_path:
        with open(args.out_path, 'w') as f:
            f.writelines(line + '\n' for line in problems)
    implausible = sum(ImplausibleDepthError.__name__ in line for line in problems)
    print(f'{len(problems)} bad frame(s) out of {total} in the {args.phase} set of {args.config}'
          f' ({implausible} with implausible depth)')
    if problems:
        sys.exit(1)


if __name__ == '__main__':
    main()
