"""Throughput of the Mask3D pre-training data pipeline: per worker vs. raw decoding, and a
DataLoader at 1, 2, 4 ... workers.

1. Per worker (one thread, as in a DataLoader worker), frame by frame in alternation:

   - raw: ``cv2.imread`` of the colour jpg + ``cv2.imread(..., IMREAD_UNCHANGED)`` of the depth
     png;
   - pipeline: the ``train_pipeline`` of ``--config`` (default ``configs/mask3d/vit-b_scannet.py``:
     LoadImageFromFile, LoadDepthFromFile, AlignColorToDepth, RGBDRandomResizedCrop, RGBDRandomFlip,
     RGBDMaskGenerator, PackRGBDInputs) on the frames of the config's ``ScanNetRGBDDataset``
     (with their intrinsics, as in training),

   with their ratio (CPU time; target >= 0.9) and the time of each transform.
2. ``--workers 1 2 4``: the config's training dataset in a ``torch.utils.data.DataLoader``
   (``--batch-size``, the config's collate function, fork start, OpenCV threads 0 as mmengine's
   Runner sets them), frames/s after the first batch (worker start-up reported apart), and the
   workers one GPU needs at ``--gpu-frames-per-s`` (docs/benchmarks.md explains the default).

Example::

    python tools/analysis_tools/benchmark_data_pipeline.py data/scannet_frames
    # no data? write a few synthetic 480x640 ScanNet frames first:
    python tools/analysis_tools/benchmark_data_pipeline.py /tmp/bench --generate 2x20
    python tools/analysis_tools/benchmark_data_pipeline.py /tmp/bench --workers 1 2 --rounds 0
"""
import os

if __name__ == '__main__':  # one thread per worker; before numpy / torch load their pools
    for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
        os.environ.setdefault(_var, '1')

import argparse  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import os.path as osp  # noqa: E402
import time  # noqa: E402
from statistics import median  # noqa: E402
from typing import Callable, List, Optional, Sequence  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(REPO, 'configs/mask3d/vit-b_scannet.py')
GENERATOR = osp.join(REPO, 'tools/dataset_converters/generate_synthetic_scannet.py')
RATIO_TARGET = 0.9
# Frames/s one GPU consumes in the ViT-B recipe, when not measured (docs/benchmarks.md,
# "Data loading"): an H100/H200 estimate from Mask3D's FLOPs per frame.
GPU_FRAMES_PER_S = 5000.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root', help='ScanNet frames root (sceneXXXX_XX/color|depth/...)')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='pre-training config whose train pipeline and dataset are timed')
    parser.add_argument('--num-frames', type=int, default=100,
                        help='frames used per round (the first N of the dataset); default 100')
    parser.add_argument('--rounds', type=int, default=5,
                        help='alternating timing rounds of raw decode and pipeline; the median '
                        'is reported (default 5; 0 skips the per-worker comparison)')
    parser.add_argument('--workers', type=int, nargs='*', default=[],
                        help='DataLoader benchmark at these numbers of workers, e.g. 1 2 4')
    parser.add_argument('--batch-size', type=int, default=32, help='DataLoader batch size')
    parser.add_argument('--loader-batches', type=int, default=10,
                        help='batches timed per worker count after the first one (default 10)')
    parser.add_argument('--gpu-frames-per-s', type=float, default=GPU_FRAMES_PER_S,
                        help='frames/s one GPU step consumes, for the workers needed '
                        f'(default {GPU_FRAMES_PER_S:g}, an H100/H200 estimate)')
    parser.add_argument('--generate', metavar='SCENESxFRAMES', default=None,
                        help='first write synthetic 480x640 frames into data_root, e.g. 2x20 '
                        '(skipped when data_root already holds frames)')
    parser.add_argument('--color-size', type=int, nargs=2, metavar=('H', 'W'), default=None,
                        help="with --generate: colour size, e.g. 968 1296 (ScanNet's colour "
                        'camera); default 480x640')
    parser.add_argument('--json', metavar='OUT', help='write the results to this JSON file')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if args.rounds < 0 or args.num_frames < 1 or args.batch_size < 1 or args.loader_batches < 1:
        parser.error('--rounds >= 0, --num-frames, --batch-size, --loader-batches >= 1')
    if any(n < 0 for n in args.workers):
        parser.error('--workers must be >= 0')
    return args


def has_frames(root: str) -> bool:
    return bool(glob.glob(osp.join(root, '*', 'color', '*.jpg')))


def generate(root: str, spec: str, seed: int, color_size: Optional[Sequence[int]] = None,
             workers: int = 1) -> None:
    """Synthetic 480x640 ScanNet frames, by the documented generator (a subprocess)."""
    from mask3d_mm.tooling import run_script
    num_scenes, num_frames = (int(x) for x in spec.lower().split('x'))
    args = [GENERATOR, osp.abspath(root), '--num-scenes', str(num_scenes),
            '--frames-per-scene', str(num_frames), '--height', '480', '--width', '640',
            '--seed', str(seed), '--workers', str(workers)]
    if color_size:
        args += ['--color-size', *map(str, color_size), '--color-camera', 'scannet']
    run_script(REPO, *args, echo=False, quiet=True)


def load_config(path: str, data_root: str):
    """The config, its training dataset pointed at ``data_root``."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    ds = cfg.train_dataloader.dataset
    ds.data_root = data_root
    if not osp.exists(osp.join(data_root, ds.get('ann_file', '') or '.')):
        ds.ann_file = ''  # no scene list: every scene of data_root
    return cfg


def build_dataset(cfg, pipeline: bool = True):
    from mmengine.registry import DefaultScope

    from mask3d_mm.registry import DATASETS
    ds_cfg = cfg.train_dataloader.dataset.copy()
    if not pipeline:
        ds_cfg.pipeline = []
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmpretrain')):
        return DATASETS.build(ds_cfg)


def build_pipeline(cfg) -> list:
    from mmengine.registry import DefaultScope

    from mask3d_mm.registry import TRANSFORMS
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmpretrain')):
        return [TRANSFORMS.build(t) for t in cfg.train_dataloader.dataset.pipeline]


def read_depth(path: str) -> np.ndarray:
    """The depth file's values: ``numpy.load`` of a ``.npy`` (pre-converted frames), else
    ``cv2.imread(..., IMREAD_UNCHANGED)``."""
    return np.load(path) if path.endswith('.npy') else cv2.imread(path, cv2.IMREAD_UNCHANGED)


def raw_decode(info: dict) -> None:
    img = cv2.imread(info['img_path'], cv2.IMREAD_COLOR)
    dep = read_depth(info['depth_path'])
    assert img is not None and dep is not None, (info['img_path'], info['depth_path'])


def run_pipeline(info: dict, pipeline: list, step_times: np.ndarray, clock: Callable) -> None:
    results = dict(info)
    for i, t in enumerate(pipeline):
        t0 = clock()
        results = t(results)
        step_times[i] += clock() - t0


def measure(infos: list, pipeline: list, rounds: int, clock: Callable) -> tuple:
    """Seconds per round of raw decode and of the pipeline, interleaved frame by frame.

    Each frame is decoded raw and run through the pipeline back to back (alternating which
    goes first), so that both see the same machine load and file-cache state.
    """
    raw_times, pipe_times = [], []
    steps = np.zeros(len(pipeline))
    for _ in range(rounds):
        raw = pipe = 0.
        for i, info in enumerate(infos):
            for which in ((0, 1) if i % 2 == 0 else (1, 0)):
                t0 = clock()
                if which == 0:
                    raw_decode(info)
                    raw += clock() - t0
                else:
                    run_pipeline(info, pipeline, steps, clock)
                    pipe += clock() - t0
        raw_times.append(raw)
        pipe_times.append(pipe)
    return raw_times, pipe_times, steps / max(rounds * len(infos), 1)


def per_worker(cfg, num_frames: int, rounds: int) -> dict:
    """Raw decode vs. the pipeline on one thread (part 1 of the module docstring)."""
    cv2.setNumThreads(1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        dataset = build_dataset(cfg, pipeline=False)
        infos = [dataset.get_data_info(i) for i in range(min(num_frames, len(dataset)))]
        pipeline = build_pipeline(cfg)
        measure(infos, pipeline, 1, time.perf_counter)  # warm page cache and decoders
        out = dict(frames=len(infos))
        for name, clock in (('wall', time.perf_counter), ('cpu', time.process_time)):
            raw_t, pipe_t, steps = measure(infos, pipeline, rounds, clock)
            raw_fps, pipe_fps = len(infos) / median(raw_t), len(infos) / median(pipe_t)
            out[name] = dict(raw_frames_per_s=raw_fps, pipeline_frames_per_s=pipe_fps,
                             ratio=pipe_fps / raw_fps,
                             step_ms={type(t).__name__: ms for t, ms in
                                      zip(pipeline, steps * 1e3)})
    finally:
        torch.set_num_threads(threads)
    out['ratio'] = out['cpu']['ratio']
    out['target'] = RATIO_TARGET
    return out


def dataloader_rates(cfg, workers: Sequence[int], batch_size: int, num_batches: int,
                     gpu_frames_per_s: float, seed: int = 0) -> List[dict]:
    """Frames/s of the config's training dataset through a DataLoader per worker count."""
    from mmengine.dataset import default_collate
    from torch.utils.data import DataLoader, RandomSampler

    cv2.setNumThreads(0)  # as mmengine's Runner (env_cfg.mp_cfg.opencv_num_threads=0)
    dataset = build_dataset(cfg)
    rows = []
    for n in workers:
        g = torch.Generator().manual_seed(seed)
        sampler = RandomSampler(dataset, replacement=True,
                                num_samples=batch_size * (num_batches + 1), generator=g)
        loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=n,
                            collate_fn=default_collate, persistent_workers=False,
                            multiprocessing_context='fork' if n else None)
        t0 = time.perf_counter()
        it = iter(loader)
        next(it)
        first = time.perf_counter() - t0
        t1 = time.perf_counter()
        frames = sum(len(batch['data_samples']) for batch in it)
        fps = frames / (time.perf_counter() - t1)
        per = fps / max(n, 1)
        rows.append(dict(workers=n, frames_per_s=fps, frames_per_s_per_worker=per,
                         first_batch_s=first, gpu_frames_per_s=gpu_frames_per_s,
                         workers_needed=int(np.ceil(gpu_frames_per_s / per))))
    return rows


def print_per_worker(res: dict, data_root: str) -> None:
    for name in ('wall', 'cpu'):
        r = res[name]
        print(f"[{name} time] raw cv2 decode (jpg + png): {r['raw_frames_per_s']:7.1f} frames/s; "
              f"pre-training pipeline: {r['pipeline_frames_per_s']:7.1f} frames/s; "
              f"ratio {r['ratio']:.3f}")
        print('    per frame: ' + ', '.join(f'{k} {ms:.3f} ms' for k, ms in r['step_ms'].items()))
    ok = res['ratio'] >= RATIO_TARGET
    print(f"ratio pipeline / raw decode (CPU time, {res['frames']} frames of {data_root}): "
          f"{res['ratio']:.3f} (target >= {RATIO_TARGET}: {'met' if ok else 'NOT met'})")


def print_loader(rows: List[dict]) -> None:
    print(f"{'workers':>8}{'frames/s':>10}{'per worker':>12}{'first batch s':>15}"
          f"{'workers for 1 GPU':>19}")
    for r in rows:
        print(f"{r['workers']:8d}{r['frames_per_s']:10.1f}{r['frames_per_s_per_worker']:12.1f}"
              f"{r['first_batch_s']:15.2f}{r['workers_needed']:19d}")
    if rows:
        print(f"(one GPU consuming {rows[0]['gpu_frames_per_s']:g} frames/s; per-worker rate "
              'of each row)')


def main(argv=None) -> dict:
    args = parse_args(argv)
    import mask3d_mm  # noqa: F401  (compat patches, registries)

    if not has_frames(args.data_root) and args.generate:
        print(f'writing synthetic frames ({args.generate}) into {args.data_root} ...')
        generate(args.data_root, args.generate, args.seed, args.color_size)
    if not has_frames(args.data_root):
        raise SystemExit(f'no sceneXXXX_XX/color/*.jpg + depth/*.png frames under '
                         f'{args.data_root}; pass --generate 2x20 to write synthetic ones')
    np.random.seed(args.seed)
    cfg = load_config(args.config, args.data_root)
    info = build_dataset(cfg, pipeline=False).get_data_info(0)
    img0 = cv2.imread(info['img_path'])
    dep0 = read_depth(info['depth_path'])
    print(f'{args.data_root}: colour {img0.shape[1]}x{img0.shape[0]}, depth '
          f'{dep0.shape[1]}x{dep0.shape[0]} {dep0.dtype}; pipeline of {args.config}; '
          f'cv2 {cv2.__version__}')
    res = dict(data_root=args.data_root, config=args.config,
               color_hw=img0.shape[:2], depth_hw=dep0.shape[:2], cpu_count=os.cpu_count())
    if args.rounds:
        res['per_worker'] = per_worker(cfg, args.num_frames, args.rounds)
        print_per_worker(res['per_worker'], args.data_root)
    if args.workers:
        res['dataloader'] = dataloader_rates(cfg, args.workers, args.batch_size,
                                             args.loader_batches, args.gpu_frames_per_s,
                                             args.seed)
        print_loader(res['dataloader'])
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=2)
        print(f'results written to {args.json}')
    return res


if __name__ == '__main__':
    main()
