"""Find every frame that a run would fail to read, or would read as implausible depth, before
the run.

    python tools/misc/verify_dataset.py CONFIG [--phase train] [--num-process 4]
        [--out-path bad_frames.txt] [--cfg-options key=value ...]

Options are merged and checked as by ``tools/train.py``: ``--cfg-options`` then the environment
variable ``MASK3D_MM_CFG_OPTIONS``; an unknown top-level key (``train_dataloder.*``) is an error.

Builds the dataset of ``--phase`` (its own checks run first: missing files, empty data root, ...),
then reads every frame through its pipeline up to the last file-loading transform and the
pipeline's later ``mask3d_mm.AlignImageTo`` steps (a label or depth map whose size does not fit
its image; without an ``AlignImageTo``, label maps are checked against the image's aspect ratio
all the same). Every loading transform of that part runs: those this tool knows
(``LoadImageFromFile``, ``LoadAnnotations`` / ``mask3d_mm.LoadSegLabels``,
``mask3d_mm.LoadDepthFromFile``, with all their checks: corrupt files, 8-bit or all-invalid
depth, colour/depth aspect mismatch, label maps whose ids do not fit the dataset, ...) and any
other ``Load*`` transform (e.g. mmseg's ``LoadDepthAnnotation``), which is run with its own
checks only and named in a warning. The transforms not run (those after the last loader) are
named in a warning and in the summary. A depth map that ``LoadDepthFromFile``'s plausibility
check flags (wrong scale, bit rotation, disparity; see docs/data_preparation.md) is reported
too, with the likely cause, unless the config sets ``on_implausible='ignore'``.

Works on every dataset with a pipeline (``mask3d_mm.RGBDFramesDataset`` readers, ScanNet, the
segmentation datasets) and on mmengine's ``ConcatDataset`` / ``RepeatDataset`` of them
(mixtures: each frame of each source is read once, through its own pipeline). Prints one line
per bad frame (its file and the problem), writes them to ``--out-path``, prints the summary
(bad frames and implausible depth maps per source, the frame's ``source`` or its dataset's
class) and exits with status 1 when there is any. See docs/robustness.md.
"""
import argparse
import bisect
import itertools
import sys
from typing import Dict, List, NamedTuple, Optional, Tuple

import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, init_default_scope

# the file-loading transforms: those that skip_bad_frames may skip in training
from mask3d_mm.datasets.scannet_layout import FILE_LOADERS
from mask3d_mm.datasets.transforms.align import AlignImageTo, check_aspect
from mask3d_mm.datasets.transforms.loading import ImplausibleDepthError, LoadDepthFromFile
from mask3d_mm.tooling import apply_cfg_options, parse_cfg_options

_FILE_KEYS = ('img_path', 'depth_path', 'confidence_path', 'seg_map_path', 'instance_path',
              'depth_map_path')
_LOADER_PREFIX = 'Load'  # other transforms named Load*: file loaders this tool does not know


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


def _is_loader(t) -> bool:
    return isinstance(t, FILE_LOADERS) or type(t).__name__.startswith(_LOADER_PREFIX)


class PipelinePlan(NamedTuple):
    """What the tool runs of one pipeline."""
    run: List[str]  # the transforms run, in order
    not_run: List[str]  # the transforms after the last loader (augmentation, packing, ...)
    unknown_loaders: List[str]  # loaders run with their own checks only


def cut_pipeline(dataset) -> PipelinePlan:
    """Cut ``dataset``'s pipeline after its last loading transform, keep its later
    ``AlignImageTo`` steps (or, without any, the label-size check); turn ``skip_bad_frames``
    off and implausible depth into an error (reported per frame, not warned)."""
    transforms = list(dataset.pipeline.transforms)
    last = max((i for i, t in enumerate(transforms) if _is_loader(t)), default=-1)
    if last < 0:
        raise ValueError(f'the pipeline of {type(dataset).__name__} reads no file '
                         f'({", ".join(type(t).__name__ for t in transforms)})')
    aligners = [t for t in transforms[last + 1:] if isinstance(t, AlignImageTo)]
    run = transforms[:last + 1] + aligners
    dataset.pipeline.transforms = transforms[:last + 1] + (aligners or [_check_label_size])
    if getattr(dataset, 'skip_bad_frames', False):
        dataset.skip_bad_frames = False
    for t in dataset.pipeline.transforms:  # report implausible depth per file, not warn
        if isinstance(t, LoadDepthFromFile) and t.on_implausible == 'warn':
            t.on_implausible = 'error'
    return PipelinePlan([type(t).__name__ for t in run],
                        [type(t).__name__ for t in transforms[last + 1:] if t not in aligners],
                        [type(t).__name__ for t in run
                         if _is_loader(t) and not isinstance(t, FILE_LOADERS)])


def leaf_datasets(dataset) -> list:
    """The datasets that read frames: ``dataset`` itself, or those a ``ConcatDataset``
    (``datasets``) or ``RepeatDataset`` / ``ClassBalancedDataset`` (``dataset``) wraps."""
    if hasattr(dataset, 'pipeline'):
        return [dataset]
    if isinstance(getattr(dataset, 'datasets', None), (list, tuple)):
        return [leaf for d in dataset.datasets for leaf in leaf_datasets(d)]
    if getattr(dataset, 'dataset', None) is not None:
        return leaf_datasets(dataset.dataset)
    raise ValueError(f'{type(dataset).__name__} has no pipeline and wraps no dataset: '
                     'verify_dataset.py reads datasets with a pipeline, and ConcatDataset / '
                     'RepeatDataset of them')


class _ReadFrames(torch.utils.data.Dataset):
    """Item i: ``(file of frame i, its source, None or the error that reading it raises)``,
    over the frames of every leaf dataset (each once).

    Frame i is read by its dataset itself (``dataset.prepare_data``: its own loop and error
    notes), with its pipeline cut by :func:`cut_pipeline`.
    """

    def __init__(self, datasets: list) -> None:
        self.datasets = datasets
        self.plans = [cut_pipeline(d) for d in datasets]
        self.offsets = list(itertools.accumulate(len(d) for d in datasets))

    def __len__(self) -> int:
        return self.offsets[-1] if self.offsets else 0

    def __getitem__(self, i: int) -> Tuple[str, str, Optional[str]]:
        which = bisect.bisect_right(self.offsets, i)
        dataset, plan = self.datasets[which], self.plans[which]
        i -= self.offsets[which - 1] if which else 0
        data = dataset.get_data_info(i)
        name = str(data.get('img_path', f'frame {i}'))
        source = str(data.get('source', type(dataset).__name__))
        files = [str(data[k]) for k in _FILE_KEYS if k in data]
        try:
            if dataset.prepare_data(i) is None:
                return name, source, (f'the pipeline ({", ".join(plan.run)}) returned None (an '
                                      f'unreadable file) [files: {", ".join(files)}]')
        except Exception as e:  # report every problem, whatever raised it
            error = f'{type(e).__name__}: {e}'
            if not any(f in error for f in files):  # e.g. upstream errors without the file
                error += f' [files: {", ".join(files)}]'
            return name, source, error
        return name, source, None


class Report(NamedTuple):
    """What :func:`verify` found."""
    total: int  # frames read
    problems: List[str]  # one line per bad frame
    per_source: Dict[str, Dict[str, int]]  # source -> frames, bad, implausible
    plans: Dict[str, PipelinePlan]  # dataset class -> what was run of its pipeline

    def notes(self) -> List[str]:
        """Warning lines: transforms not run, loaders run with their own checks only."""
        lines = []
        for name, plan in self.plans.items():
            if plan.unknown_loaders:
                lines.append(
                    f'WARNING: {name}: ran {", ".join(plan.unknown_loaders)}, loading '
                    'transform(s) this tool does not know, with their own checks only (no depth '
                    'encoding or plausibility check: read depth with mask3d_mm.LoadDepthFromFile)')
            if plan.not_run:
                lines.append(f'WARNING: {name}: did not run {", ".join(plan.not_run)} (after the '
                             'last loading transform)')
        return lines


def verify(cfg: Config, phase: str, num_process: int = 1) -> Report:
    """Read every frame of ``phase``."""
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    dataset = DATASETS.build(cfg[f'{phase}_dataloader'].dataset)
    frames = _ReadFrames(leaf_datasets(dataset))
    plans = {type(d).__name__: p for d, p in zip(frames.datasets, frames.plans)}
    loader = torch.utils.data.DataLoader(
        frames, batch_size=None, num_workers=num_process if num_process > 1 else 0)
    problems, per_source = [], {}
    for name, source, error in loader:
        counts = per_source.setdefault(source, dict(frames=0, bad=0, implausible=0))
        counts['frames'] += 1
        if error is not None:
            problems.append(f'{name}: {" ".join(error.split())}')  # one line each
            counts['bad'] += 1
            counts['implausible'] += ImplausibleDepthError.__name__ in error
    return Report(len(frames), problems, per_source, plans)


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    for note in apply_cfg_options(cfg, parse_cfg_options(args.cfg_options)):
        print(note)
    if cfg.get(f'{args.phase}_dataloader') is None:
        raise ValueError(f'{args.config} has no {args.phase}_dataloader')
    report = verify(cfg, args.phase, args.num_process)
    for line in report.notes():  # first, loudly: what is not checked
        print(line)
    for line in report.problems:
        print(line)
    if args.out_path:
        with open(args.out_path, 'w') as f:
            f.writelines(line + '\n' for line in report.problems)
    implausible = sum(c['implausible'] for c in report.per_source.values())
    print(f'{len(report.problems)} bad frame(s) out of {report.total} in the {args.phase} set of '
          f'{args.config} ({implausible} with implausible depth)')
    for source, c in sorted(report.per_source.items()):
        print(f'  source {source}: {c["bad"]} bad frame(s) out of {c["frames"]}, '
              f'{c["implausible"]} with implausible depth')
    for line in report.notes():  # and again in the summary
        print(f'  {line}')
    if report.problems:
        sys.exit(1)


if __name__ == '__main__':
    main()
