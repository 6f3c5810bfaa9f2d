"""Throughput of the Mask3D pre-training data pipeline vs. raw decoding, on one thread.

Measures samples/s of one data-loading worker for

- raw: ``cv2.imread`` of the colour jpg + ``cv2.imread(..., IMREAD_UNCHANGED)`` of the depth png;
- pipeline: ``ScanNetRGBDDataset`` item = LoadImageFromFile + mask3d_mm.LoadDepthFromFile +
  AlignColorToDepth + RGBDRandomResizedCrop + RGBDRandomFlip + RGBDMaskGenerator +
  PackRGBDInputs (the pre-training pipeline of the configs),

and prints their ratio (target: >= 0.75, i.e. the transforms cost at most a third of the
decoding) and the time of each step. Threads are limited to 1 (cv2, torch, BLAS/OpenMP), as in
a DataLoader worker.

Example::

    python tools/analysis_tools/benchmark_data_pipeline.py data/scannet_frames
    # no data? write a few synthetic 480x640 ScanNet frames first:
    python tools/analysis_tools/benchmark_data_pipeline.py /tmp/bench --generate 2x20
"""
import os

for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

import argparse  # noqa: E402
import glob  # noqa: E402
import os.path as osp  # noqa: E402
import time  # noqa: E402
from statistics import median  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root', help='ScanNet frames root (sceneXXXX_XX/color|depth/...)')
    parser.add_argument('--num-frames', type=int, default=100,
                        help='frames used (the first N found); default 100')
    parser.add_argument('--rounds', type=int, default=5,
                        help='alternating timing rounds of raw decode and pipeline; the median '
                        'is reported (default 5)')
    parser.add_argument('--scale', type=int, nargs='+', default=[224],
                        help='crop output size: H [W] (default 224)')
    parser.add_argument('--patch-size', type=int, default=16)
    parser.add_argument('--generate', metavar='SCENESxFRAMES', default=None,
                        help='first write synthetic 480x640 frames into data_root, e.g. 2x20 '
                        '(skipped when data_root already holds frames)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def find_frames(root: str, limit: int) -> list:
    """(colour jpg, depth png) pairs in the ScanNet layout."""
    pairs = []
    for color in sorted(glob.glob(osp.join(root, '*', 'color', '*.jpg'))):
        scene_dir, name = osp.dirname(osp.dirname(color)), osp.basename(color)[:-4]
        depth = osp.join(scene_dir, 'depth', name + '.png')
        if osp.exists(depth):
            pairs.append((color, depth))
    return pairs[:limit]


def generate(root: str, spec: str, seed: int) -> None:
    """Synthetic frames: mask3d_mm's generator, else smooth random images."""
    num_scenes, num_frames = (int(x) for x in spec.lower().split('x'))
    try:
        from mask3d_mm.synthetic import generate_scannet_scenes
    except ImportError:
        generate_scannet_scenes = None
    if generate_scannet_scenes is not None:
        generate_scannet_scenes(root, num_scenes=num_scenes, frames_per_scene=num_frames,
                                height=480, width=640, seed=seed)
        return
    rng = np.random.default_rng(seed)
    for s in range(num_scenes):
        scene = osp.join(root, f'scene{s:04d}_00')
        os.makedirs(osp.join(scene, 'color'), exist_ok=True)
        os.makedirs(osp.join(scene, 'depth'), exist_ok=True)
        for f in range(num_frames):
            small = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
            color = cv2.resize(small, (640, 480), interpolation=cv2.INTER_CUBIC)
            depth = cv2.resize(rng.uniform(500, 5000, (15, 20)).astype(np.float32), (640, 480))
            depth = depth.astype(np.uint16)
            depth[rng.random((480, 640)) < 0.05] = 0
            cv2.imwrite(osp.join(scene, 'color', f'{f:06d}.jpg'), color)
            cv2.imwrite(osp.join(scene, 'depth', f'{f:06d}.png'), depth)


def build_pipeline(scale, patch_size: int, seed: int) -> list:
    from mask3d_mm.registry import TRANSFORMS
    cfgs = [
        dict(type='LoadImageFromFile'),
        dict(type='mask3d_mm.LoadDepthFromFile'),
        dict(type='mask3d_mm.AlignColorToDepth'),
        dict(type='mask3d_mm.RGBDRandomResizedCrop', scale=scale),
        dict(type='mask3d_mm.RGBDRandomFlip', prob=0.5),
        dict(type='mask3d_mm.RGBDMaskGenerator', patch_size=patch_size, seed=seed),
        dict(type='mask3d_mm.PackRGBDInputs'),
    ]
    return [TRANSFORMS.build(cfg) for cfg in cfgs]


def raw_decode(color: str, depth: str) -> None:
    img = cv2.imread(color, cv2.IMREAD_COLOR)
    dep = cv2.imread(depth, cv2.IMREAD_UNCHANGED)
    assert img is not None and dep is not None, (color, depth)


def run_pipeline(color: str, depth: str, pipeline: list, step_times: np.ndarray,
                 clock) -> None:
    results = dict(img_path=color, depth_path=depth)
    for i, t in enumerate(pipeline):
        t0 = clock()
        results = t(results)
        step_times[i] += clock() - t0


def measure(pairs: list, pipeline: list, rounds: int, clock) -> tuple:
    """Seconds per round of raw decode and of the pipeline, interleaved frame by frame.

    Each frame is decoded raw and run through the pipeline back to back (alternating which
    goes first), so that both see the same machine load and file-cache state.
    """
    raw_times, pipe_times = [], []
    steps = np.zeros(len(pipeline))
    for _ in range(rounds):
        raw = pipe = 0.
        for i, (color, depth) in enumerate(pairs):
            for which in ((0, 1) if i % 2 == 0 else (1, 0)):
                t0 = clock()
                if which == 0:
                    raw_decode(color, depth)
                    raw += clock() - t0
                else:
                    run_pipeline(color, depth, pipeline, steps, clock)
                    pipe += clock() - t0
        raw_times.append(raw)
        pipe_times.append(pipe)
    return raw_times, pipe_times, steps / (rounds * len(pairs))


def main() -> None:
    args = parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    import mask3d_mm  # noqa: F401  (compat patches, registries)
    import mask3d_mm.datasets  # noqa: F401

    pairs = find_frames(args.data_root, args.num_frames)
    if not pairs and args.generate:
        print(f'writing synthetic frames ({args.generate}) into {args.data_root} ...')
        generate(args.data_root, args.generate, args.seed)
        pairs = find_frames(args.data_root, args.num_frames)
    if not pairs:
        raise SystemExit(f'no sceneXXXX_XX/color/*.jpg + depth/*.png pairs under '
                         f'{args.data_root}; pass --generate 2x20 to write synthetic ones')
    scale = tuple(args.scale) if len(args.scale) == 2 else args.scale[0]
    pipeline = build_pipeline(scale, args.patch_size, args.seed)
    np.random.seed(args.seed)

    img0 = cv2.imread(pairs[0][0])
    dep0 = cv2.imread(pairs[0][1], cv2.IMREAD_UNCHANGED)
    print(f'{len(pairs)} frames from {args.data_root}: colour {img0.shape[1]}x{img0.shape[0]}, '
          f'depth {dep0.shape[1]}x{dep0.shape[0]} {dep0.dtype}; output {scale}; '
          f'cv2 {cv2.__version__}, threads 1')

    measure(pairs, pipeline, 1, time.perf_counter)  # warm page cache and decoders
    n = len(pairs)
    ratios = {}
    for name, clock in (('wall time', time.perf_counter), ('CPU time', time.process_time)):
        raw_t, pipe_t, steps = measure(pairs, pipeline, args.rounds, clock)
        raw_fps, pipe_fps = n / median(raw_t), n / median(pipe_t)
        ratios[name] = pipe_fps / raw_fps
        print(f'[{name}] raw cv2 decode (jpg + png): {raw_fps:7.1f} samples/s; '
              f'pre-training pipeline: {pipe_fps:7.1f} samples/s; '
              f'ratio {ratios[name]:.3f}')
        print('    per sample: ' + ', '.join(
            f'{t.__class__.__name__} {ms:.3f} ms' for t, ms in zip(pipeline, steps * 1e3)))
    ratio = ratios['CPU time']
    print(f'ratio pipeline / raw decode (CPU time, median of {args.rounds} rounds): '
          f'{ratio:.3f} (target >= 0.75: {"met" if ratio >= 0.75 else "NOT met"})')

if __name__ == '__main__':
    main()
