"""Mask3D train step compiled (``torch.compile``, what ``--cfg-options compile=True`` does) vs
eager, in one run.

Two copies of the Mask3D model (``benchmark_mask3d_vs_mae.py``'s ViT-B/16 build, same
initial weights, each with its own AdamW ``OptimWrapper``) train on the same random batch
(uint8 colour, depth in metres, the recipe's 0.75 / 0.75 masks) through
``model.train_step(data, optim_wrapper)``: data preprocessor, ``loss``, backward, AdamW. The
compiled copy's ``train_step`` is replaced by ``torch.compile(model.train_step)``, as mmengine's
``Runner._maybe_compile('train_step')`` does. Reported:

- the first step of each (compilation included) and the loss of both after it (same weights and
  batch: they agree up to rounding);
- graph breaks of ``model.loss`` (``torch._dynamo.explain``), with where they happen;
- the median step time of each over ``--steps`` steps after ``--warmup``, alternating the two
  (AB BA AB ...) so both see the same machine load, and the ratio compiled / eager (median of
  the medians over ``--repeats`` rounds of timed steps).

Example::

    python tools/analysis_tools/benchmark_compile.py --batch 8 --img-size 224 --threads 2 \\
        --warmup 2 --steps 5 --repeats 3 --json work_dirs/bench_compile.json
    python tools/analysis_tools/benchmark_compile.py --tiny --steps 2 --repeats 1  # smoke

Run as a script it sets ``OMP_WAIT_POLICY=PASSIVE`` unless set (see
``benchmark_mask3d_vs_mae.py``). Results: docs/benchmarks.md.
"""
import os

if __name__ == '__main__':  # before torch loads libgomp
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import mask3d_mm  # noqa: E402,F401,I001  (first: compat patches, registers the modules)

import argparse  # noqa: E402
import copy  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os.path as osp  # noqa: E402
import time  # noqa: E402
from statistics import median  # noqa: E402
from typing import List  # noqa: E402

import torch  # noqa: E402

ARMS = ('eager', 'compiled')


def _bench():
    """benchmark_mask3d_vs_mae.py as a module (model build, optimizer, inputs)."""
    spec = importlib.util.spec_from_file_location(
        'benchmark_mask3d_vs_mae', osp.join(osp.dirname(osp.abspath(__file__)),
                                            'benchmark_mask3d_vs_mae.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=8, help='images per step (default 8)')
    parser.add_argument('--img-size', type=int, default=None,
                        help='square input size (default 224, 64 with --tiny)')
    parser.add_argument('--steps', type=int, default=5, help='timed steps per arm and repeat')
    parser.add_argument('--warmup', type=int, default=2,
                        help='steps per arm before timing, >= 1 (the first compiles)')
    parser.add_argument('--repeats', type=int, default=3, help='rounds of timed steps')
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--tiny', action='store_true', help='2-layer 64-wide ViTs (smoke)')
    parser.add_argument('--mode', default=None,
                        help="torch.compile mode (default: torch's, as compile=True)")
    parser.add_argument('--no-explain', action='store_true',
                        help='skip the graph-break report')
    parser.add_argument('--json', metavar='OUT', help='write the results to this JSON file')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if args.img_size is None:
        args.img_size = 64 if args.tiny else 224
    if args.warmup < 1 or args.steps < 1 or args.repeats < 1:
        parser.error('--warmup, --steps and --repeats must be >= 1')
    return args


def make_data(bench, args) -> dict:
    """A train_step batch: uint8 colour and data samples with depth (metres) and masks."""
    (rgb, depth), samples = bench.make_batch('mask3d', args)
    img = ((rgb - rgb.min()) / (rgb.max() - rgb.min()) * 255).to(torch.uint8)
    for ds, d in zip(samples, depth):
        ds.set_field(d[0], 'depth')
    return dict(inputs=img, data_samples=samples)


def graph_breaks(model, data: dict) -> dict:
    """Graphs and graph breaks of ``model.loss`` on the preprocessed ``data``."""
    import torch._dynamo
    pre = model.data_preprocessor(copy.deepcopy(data), True)
    ex = torch._dynamo.explain(model.loss)(pre['inputs'], pre['data_samples'])
    where = []
    for br in ex.break_reasons:
        stack = ' <- '.join(f'{osp.basename(f.filename)}:{f.lineno}'
                            for f in br.user_stack[::-1][:3])
        where.append(f"{br.reason.splitlines()[0][:90]} @ {stack}")
    torch._dynamo.reset()
    return dict(graphs=ex.graph_count, breaks=ex.graph_break_count, where=where)


def timed_step(model, optim_wrapper, data: dict) -> tuple:
    t0 = time.perf_counter()
    log_vars = model.train_step(copy.copy(data), optim_wrapper)
    return time.perf_counter() - t0, float(log_vars['loss'])


def benchmark(args) -> dict:
    bench = _bench()
    bargs = bench.parse_args(['--batch', str(args.batch), '--img-size', str(args.img_size),
                              '--seed', str(args.seed)] + (['--tiny'] if args.tiny else []))
    data = make_data(bench, bargs)
    torch.manual_seed(args.seed)
    model, ow = bench.build('mask3d', bargs)
    arms = {'eager': (model, ow)}
    model_c = copy.deepcopy(model)
    ow_c = bench.build_optim_wrapper(model_c, dict(optimizer=dict(
        type='AdamW', lr=1.5e-4, betas=(0.9, 0.95), weight_decay=0.05)))
    res = dict(setup=dict(batch=args.batch, img_size=args.img_size, tiny=args.tiny,
                          threads=torch.get_num_threads(), mode=args.mode,
                          omp_wait_policy=os.environ.get('OMP_WAIT_POLICY'),
                          torch=torch.__version__, cpu_count=os.cpu_count(),
                          load_avg_start=os.getloadavg()))
    if not args.no_explain:
        res['graph_breaks'] = graph_breaks(model_c, data)
    kwargs = {} if args.mode is None else dict(mode=args.mode)
    model_c.train_step = torch.compile(model_c.train_step, **kwargs)
    arms['compiled'] = (model_c, ow_c)
    first = {arm: timed_step(*arms[arm], data) for arm in ARMS}
    res['first_step_s'] = {arm: first[arm][0] for arm in ARMS}
    res['first_loss'] = {arm: first[arm][1] for arm in ARMS}
    for _ in range(args.warmup - 1):
        for arm in ARMS:
            timed_step(*arms[arm], data)
    times = {arm: [] for arm in ARMS}
    ratios: List[float] = []
    for _ in range(args.repeats):
        rep = {arm: [] for arm in ARMS}
        for i in range(args.steps):
            for arm in (ARMS if i % 2 == 0 else ARMS[::-1]):
                rep[arm].append(timed_step(*arms[arm], data)[0])
        ratios.append(median(rep['compiled']) / median(rep['eager']))
        for arm in ARMS:
            times[arm] += rep[arm]
    res.update({arm: dict(step_s=median(times[arm]), all_step_s=times[arm]) for arm in ARMS})
    res['ratio'] = median(ratios)
    res['repeat_ratios'] = ratios
    res['setup']['load_avg_end'] = os.getloadavg()
    return res


def print_report(res: dict) -> None:
    s = res['setup']
    print(f"\nMask3D train_step, compiled vs eager: batch {s['batch']}, {s['img_size']}x"
          f"{s['img_size']}{' (tiny)' if s['tiny'] else ''}, {s['threads']} threads, torch "
          f"{s['torch']}, load average {s['load_avg_start'][0]:.1f} -> "
          f"{s['load_avg_end'][0]:.1f}")
    gb = res.get('graph_breaks')
    if gb:
        print(f"graph breaks of model.loss: {gb['breaks']} ({gb['graphs']} graphs)")
        for w in gb['where']:
            print(f'  {w}')
    print(f"first step (s): eager {res['first_step_s']['eager']:.2f}, compiled "
          f"{res['first_step_s']['compiled']:.2f} (compilation)")
    print(f"loss after the first step: eager {res['first_loss']['eager']:.6f}, compiled "
          f"{res['first_loss']['compiled']:.6f}")
    print(f"median step (s): eager {res['eager']['step_s']:.3f}, compiled "
          f"{res['compiled']['step_s']:.3f}; compiled / eager {res['ratio']:.3f} (per repeat: "
          + ', '.join(f'{r:.3f}' for r in res['repeat_ratios']) + ')')


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    res = benchmark(args)
    print_report(res)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=2)
        print(f'results written to {args.json}')
    return res


if __name__ == '__main__':
    main()
