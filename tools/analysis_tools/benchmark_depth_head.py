"""Cost of DenseDepthHead's loss per depth target: 'standardize' vs 'metric' (and 'log').

A head step is ``head.loss`` (target construction, valid-pixel loss) + ``backward`` on a random
prediction, at the decoder's output shape (B, h * w, p * p) for B x 1 x H x W depth maps in
metres with ~10 % invalid pixels (0) and a few NaN-free far values beyond ``max_depth``. The
targets alternate (ABC ABC ...) so that they see the same machine load; reported: the median
s/step of each and the ratio 'standardize' / 'metric' (target <= 1.5).

Example::

    python tools/analysis_tools/benchmark_depth_head.py --batch 64 --img-size 224 --threads 2

Run as a script it sets ``OMP_WAIT_POLICY=PASSIVE`` unless set (see
``benchmark_mask3d_vs_mae.py``). Results of this machine: docs/benchmarks.md.
"""
import os

if __name__ == '__main__':  # before torch loads libgomp
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import mask3d_mm  # noqa: E402,F401,I001  (first: compat patches, registers the modules)

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from statistics import median  # noqa: E402
from typing import Dict, List, Optional  # noqa: E402

import torch  # noqa: E402

from mask3d_mm.models.heads import DenseDepthHead  # noqa: E402

TARGETS = ('metric', 'log', 'standardize')
RATIO_TARGET = 1.5


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='DenseDepthHead loss cost per target')
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--patch-size', type=int, default=16)
    parser.add_argument('--steps', type=int, default=10, help='timed steps per target')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--json', help='also write the results to this file')
    return parser.parse_args(argv)


def random_depth(batch: int, size: int, device: str, seed: int = 0) -> torch.Tensor:
    """(B, 1, S, S) metres in (0.3, 8) with ~10 % holes (0) and ~1 % beyond 10 m."""
    g = torch.Generator().manual_seed(seed)
    depth = 0.3 + 7.7 * torch.rand(batch, 1, size, size, generator=g)
    u = torch.rand(depth.shape, generator=g)
    depth[u < 0.1] = 0.
    depth[u > 0.99] = 12.
    return depth.to(device)


def benchmark(args: argparse.Namespace) -> Dict[str, float]:
    """Median seconds per ``loss + backward`` of each target, alternating the targets."""
    p, size = args.patch_size, args.img_size
    depth = random_depth(args.batch, size, args.device)
    grid = (size // p)**2
    depth_mask = torch.zeros(args.batch, grid, dtype=torch.bool)
    depth_mask[:, ::4] = True
    heads = {t: DenseDepthHead(patch_size=p, norm_target=t).to(args.device) for t in TARGETS}
    pred = torch.randn(args.batch, grid, p * p, device=args.device, requires_grad=True)

    def step(target: str) -> float:
        sync = torch.cuda.synchronize if args.device.startswith('cuda') else (lambda: None)
        sync()
        start = time.perf_counter()
        heads[target].loss(pred, depth, depth_mask)['loss'].backward()
        sync()
        return time.perf_counter() - start

    times = {t: [] for t in TARGETS}
    for i in range(args.warmup + args.steps):
        for t in TARGETS:
            dt = step(t)
            if i >= args.warmup:
                times[t].append(dt)
    return {t: median(v) for t, v in times.items()}


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = benchmark(args)
    ratio = result['standardize'] / result['metric']
    for t in TARGETS:
        print(f'{t:>12}: {result[t] * 1e3:8.1f} ms / (loss + backward)')
    verdict = 'PASS' if ratio <= RATIO_TARGET else 'FAIL'
    print(f"standardize / metric: {ratio:.2f} (target <= {RATIO_TARGET}) {verdict}")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(vars(args), seconds=result, ratio=ratio), f, indent=2)


if __name__ == '__main__':
    main()
