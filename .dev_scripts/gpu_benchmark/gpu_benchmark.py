"""One-shot GPU benchmark of the Mask3D ViT-B recipe, for a bare CUDA machine.

Needs only Python 3.10-3.12 with a CUDA torch, this repository and the wheels that
``gpu_benchmark_wheels.sh`` (beside this file) downloads (mmengine, mmpretrain, mmcv-lite and
their pure-Python dependencies; numpy, opencv-python, pillow, matplotlib, pyyaml and torchvision
where the machine lacks them). No network, no compiler, no mmcv ops, no mmseg / mmdet: the
pre-training step and data pipeline import none of them. Wheels whose distribution is not
installed are unpacked into ``--site`` (default ``work_dirs/gpu_benchmark/site``) and put first
on ``sys.path``; nothing is installed into the machine's Python.

In one run (well under 8 minutes on an H100/H200; ``--budget-s`` skips the later parts when
time runs out), with pass/fail against the targets of issue 15:

1. eager: the Mask3D vs MMPretrain MAE ViT-B/16 train step
   (``tools/analysis_tools/benchmark_mask3d_vs_mae.py``'s models, optimizer and random inputs)
   at ``--batch`` 64, 224x224, bf16 autocast (``AmpOptimWrapper``): median step time ratio
   (<= 1.05), peak ``torch.cuda.max_memory_allocated`` over the first two steps minus the
   memory before building, ratio (<= 1.10), achieved FLOP/s (``FlopCounterMode``) as a
   fraction of the same run's ``--matmul-size`` bf16 matmul (Mask3D >= 0.4, MAE's beside it);
2. the same with ``torch.compile`` of ``model.loss`` (skipped with ``--no-compile``; a failure
   is reported, not fatal);
3. host synchronisations of one train step per model (``torch.cuda.set_sync_debug_mode``;
   target for Mask3D: none), with where each happened;
3b. ViT-L (``--large-arch l``, the default for ``--arch b`` on CUDA): Mask3D
   (``configs/mask3d/vit-l_scannet.py``'s model) vs MAE with a ViT-L encoder, eager, bf16, at
   ``--large-batch`` (default 64): step time ratio, memory ratio, FLOP/s as a fraction of the
   same bf16 matmul, and the host synchronisations of one step of each;
4. the DataLoader rate of the ScanNet recipe
   (``tools/analysis_tools/benchmark_data_pipeline.py``) on synthetic 480x640 frames with
   1296x968 colour, and on the same frames pre-converted (``preconvert_frames.py``), at 1, 2,
   4 ... up to the machine's cores, and the workers the measured Mask3D step needs.

It prints a table and writes ``--json`` (default ``work_dirs/gpu_benchmark/result.json``).

Example::

    bash .dev_scripts/gpu_benchmark/gpu_benchmark_wheels.sh     # here, with network
    bash .dev_scripts/gpu_benchmark/gpu_benchmark.sh            # there, no network
    python .dev_scripts/gpu_benchmark/gpu_benchmark.py --device cpu --arch tiny --batch 2 \\
        --img-size 64 --steps 1 --no-compile --workers 1        # CPU smoke run
"""
import argparse
import glob
import importlib
import importlib.metadata
import importlib.util
import json
import os
import os.path as osp
import re
import shutil
import sys
import tempfile
import time
import zipfile
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools', 'analysis_tools')  # the benchmarks this one runs
WORK = osp.join(REPO, 'work_dirs', 'gpu_benchmark')
DEFAULT_WHEELS = osp.join(WORK, 'wheels')
TARGETS = dict(time_ratio=('<=', 1.05), memory_ratio=('<=', 1.10),
               flops_fraction=('>=', 0.4))
# distributions whose module is importable under another name (checked by import name: a
# machine's opencv-python-headless serves for opencv-python)
IMPORT_NAMES = {'opencv-python': 'cv2', 'opencv-python-headless': 'cv2', 'pillow': 'PIL',
                'pyyaml': 'yaml', 'mmcv-lite': 'mmcv'}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', choices=['cuda', 'cpu'], default='cuda')
    parser.add_argument('--arch', choices=['b', 'tiny'], default='b',
                        help="'b': ViT-B/16 (the recipe); 'tiny': 2-layer 64-wide ViTs (smoke)")
    parser.add_argument('--batch', type=int, default=64, help='images per step (default 64)')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--steps', type=int, default=20, help='timed steps per model')
    parser.add_argument('--warmup', type=int, default=3, help='warm-up steps per model, >= 1')
    parser.add_argument('--amp', choices=['bf16', 'fp16', 'none'], default=None,
                        help='autocast dtype (default bf16 on cuda, none on cpu)')
    parser.add_argument('--matmul-size', type=int, default=None,
                        help='square reference matmul in the AMP dtype (default 8192 on cuda, '
                        '512 on cpu)')
    parser.add_argument('--no-compile', action='store_true', help='skip the torch.compile run')
    parser.add_argument('--large-arch', choices=['l', 'tiny', 'none'], default=None,
                        help="also time Mask3D vs MAE at ViT-L (default 'l' for --arch b on "
                        "cuda, else 'none'; 'tiny': a CPU smoke run of this part)")
    parser.add_argument('--large-batch', type=int, default=64,
                        help='images per step of the ViT-L part (default 64)')
    parser.add_argument('--build-only', action='store_true',
                        help='build the models of the run (both arms, each arch) on the CPU, '
                        'print their parameters and stop (checks a checkout without a GPU)')
    parser.add_argument('--workers', type=int, nargs='*', default=None,
                        help='DataLoader workers to time (default 1, 2, 4 ... up to the cores); '
                        'none given: skip the DataLoader part')
    parser.add_argument('--loader-batches', type=int, default=10)
    parser.add_argument('--frames', default='8x8',
                        help='synthetic SCENESxFRAMES for the DataLoader (default 8x8)')
    parser.add_argument('--wheels', default=DEFAULT_WHEELS,
                        help='folder of wheels (searched recursively: part1/, part2/) for what '
                        'this Python lacks')
    parser.add_argument('--unpack-only', action='store_true',
                        help='unpack the wheels found, say what is still missing, and stop '
                        '(for wheels carried in several transfers)')
    parser.add_argument('--site', default=osp.join(WORK, 'site'),
                        help='where missing wheels are unpacked')
    parser.add_argument('--budget-s', type=float, default=420,
                        help='skip the compile and DataLoader parts once this much time is '
                        'spent (default 420 s)')
    parser.add_argument('--json', default=osp.join(WORK, 'result.json'))
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if args.amp is None:
        args.amp = 'bf16' if args.device == 'cuda' else 'none'
    if args.amp != 'none' and args.device != 'cuda':
        parser.error('--amp needs --device cuda')
    if args.matmul_size is None:
        args.matmul_size = 8192 if args.device == 'cuda' else 512
    if args.large_arch is None:
        args.large_arch = 'l' if args.device == 'cuda' and args.arch == 'b' else 'none'
    if args.warmup < 1 or args.steps < 1:
        parser.error('--warmup and --steps must be >= 1')
    if args.workers is None:
        cores, n, args.workers = os.cpu_count() or 1, 1, []
        while n <= cores:
            args.workers.append(n)
            n *= 2
    return args


# ---- 1. the environment: unpack the wheels this Python lacks -----------------------------------
def wheel_distribution(path: str) -> str:
    """Normalised distribution name of a wheel file (``opencv_python-5.0...whl`` ->
    ``opencv-python``)."""
    return re.sub(r'[-_.]+', '-', osp.basename(path).split('-')[0]).lower()


def is_installed(dist: str) -> bool:
    """The distribution (or, for those in IMPORT_NAMES, its module) is already available."""
    try:
        importlib.metadata.distribution(dist)
        return True
    except importlib.metadata.PackageNotFoundError:
        pass
    module = IMPORT_NAMES.get(dist)
    if module is None:
        return False
    return importlib.util.find_spec(module) is not None


def unpack_wheel(path: str, site: str) -> None:
    """Install a wheel by unpacking it (what ``pip install --target`` does for these wheels:
    packages at the archive root, ``*.data/purelib|platlib`` moved up, scripts ignored)."""
    with zipfile.ZipFile(path) as zf:
        zf.extractall(site)
    for data in glob.glob(osp.join(site, '*.data')):
        for sub in ('purelib', 'platlib'):
            src = osp.join(data, sub)
            if osp.isdir(src):
                for name in os.listdir(src):
                    dst = osp.join(site, name)
                    if not osp.exists(dst):
                        shutil.move(osp.join(src, name), dst)
        shutil.rmtree(data)


def missing_modules() -> List[str]:
    return [m for m in ('torch', 'numpy', 'cv2', 'mmengine', 'mmcv', 'mmpretrain', 'torchvision')
            if importlib.util.find_spec(m) is None]


def prepare_environment(wheel_dir: str, site: str, check: bool = True) -> List[str]:
    """Unpack the wheels under ``wheel_dir`` whose distribution is missing into ``site``, put
    ``site`` and the repository first on ``sys.path`` (and ``PYTHONPATH`` for subprocesses);
    returns the distributions unpacked. With ``check``, raises SystemExit naming what is
    missing."""
    wheels = sorted(glob.glob(osp.join(wheel_dir, '**', '*.whl'), recursive=True))
    done = osp.join(site, '.unpacked.json')
    unpacked = json.load(open(done)) if osp.exists(done) else []
    todo = [w for w in wheels if wheel_distribution(w) not in unpacked
            and not is_installed(wheel_distribution(w))]
    if todo:
        os.makedirs(site, exist_ok=True)
        for w in todo:
            unpack_wheel(w, site)
            unpacked.append(wheel_distribution(w))
        with open(done, 'w') as f:
            json.dump(unpacked, f)
    for path in (site, REPO):
        if osp.isdir(path) and path not in sys.path:
            sys.path.insert(0, path)
    os.environ['PYTHONPATH'] = os.pathsep.join(
        [p for p in (site, REPO) if osp.isdir(p)] + [os.environ.get('PYTHONPATH', '')])
    importlib.invalidate_caches()
    missing = missing_modules()
    if missing and check:
        raise SystemExit(f'missing Python packages {missing}: run '
                         '.dev_scripts/gpu_benchmark/gpu_benchmark_wheels.sh where there is '
                         f'network and copy its wheels to {wheel_dir} (found {len(wheels)} '
                         'wheels there)')
    return [wheel_distribution(w) for w in todo]


# ---- 2. the train step -------------------------------------------------------------------------
def load_step_tool():
    """benchmark_mask3d_vs_mae.py as a module (models, optimizer, inputs, step)."""
    spec = importlib.util.spec_from_file_location(
        'benchmark_mask3d_vs_mae', osp.join(TOOLS, 'benchmark_mask3d_vs_mae.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def step_args(args, bench, arch: Optional[str] = None,
              batch: Optional[int] = None) -> argparse.Namespace:
    """benchmark_mask3d_vs_mae.py's arguments for ``arch`` (default ``args.arch``)."""
    arch = arch or args.arch
    argv = ['--batch', str(batch or args.batch), '--img-size', str(args.img_size), '--device',
            args.device, '--seed', str(args.seed), '--threads', str(os.cpu_count())]
    argv += ['--tiny'] if arch == 'tiny' else ['--arch', arch]
    argv += ['--amp', args.amp] if args.amp != 'none' else []
    return bench.parse_args(argv)


def check(name: str, value: Optional[float]) -> dict:
    op, target = TARGETS[name]
    if value is None:
        return dict(value=None, target=f'{op} {target}', passed=None)
    ok = value <= target if op == '<=' else value >= target
    return dict(value=value, target=f'{op} {target}', passed=bool(ok))


def matmul_flops_per_s(args, steps: int = 10) -> float:
    import torch
    dtype = dict(bf16=torch.bfloat16, fp16=torch.float16, none=torch.float32)[args.amp]
    n = args.matmul_size
    a, b = (torch.randn(n, n, device=args.device, dtype=dtype) for _ in range(2))
    for _ in range(3):
        torch.mm(a, b)
    sync(args.device)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        sync(args.device)
        times.append(time.perf_counter() - t0)
    times.sort()
    return 2 * n**3 / times[len(times) // 2]


def sync(device: str) -> None:
    if device == 'cuda':
        import torch
        torch.cuda.synchronize()


def run_steps(args, bench, compiled: bool, arch: Optional[str] = None,
              batch: Optional[int] = None) -> Dict[str, dict]:
    """Build both models, measure each one's memory (eager) and FLOPs, then time them
    alternately; ``compiled`` wraps ``model.loss`` in ``torch.compile``."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    sargs = step_args(args, bench, arch, batch)
    arms, out = {}, {}
    for arm in bench.ARMS:
        torch.manual_seed(args.seed)
        if args.device == 'cuda':
            torch.cuda.empty_cache()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
        model, optim_wrapper = bench.build(arm, sargs)
        batch = bench.make_batch(arm, sargs)
        if compiled:
            model.loss = torch.compile(model.loss)
        t0 = time.perf_counter()
        bench.train_step(model, optim_wrapper, *batch)  # compiles when compiled
        sync(args.device)
        first = time.perf_counter() - t0
        bench.train_step(model, optim_wrapper, *batch)
        sync(args.device)
        res = dict(params=sum(p.numel() for p in model.parameters()), first_step_s=first)
        if args.device == 'cuda':
            res['memory_bytes'] = torch.cuda.max_memory_allocated() - base
        if not compiled:
            with FlopCounterMode(display=False, custom_mapping=bench.SDPA_CPU_FLOPS) as fc:
                bench.train_step(model, optim_wrapper, *batch)
            res['train_flops'] = fc.get_total_flops()
        for _ in range(args.warmup - 1):
            bench.train_step(model, optim_wrapper, *batch)
        arms[arm] = (model, optim_wrapper, *batch)
        out[arm] = res
    times = {arm: [] for arm in bench.ARMS}
    for i in range(args.steps):  # AB BA AB ...
        for arm in (bench.ARMS if i % 2 == 0 else bench.ARMS[::-1]):
            sync(args.device)
            t0 = time.perf_counter()
            bench.train_step(*arms[arm])
            sync(args.device)
            times[arm].append(time.perf_counter() - t0)
    for arm in bench.ARMS:
        t = sorted(times[arm])
        out[arm].update(step_s=t[len(t) // 2], all_step_s=times[arm],
                        frames_per_s=sargs.batch / t[len(t) // 2])
    del arms
    if args.device == 'cuda':
        torch.cuda.empty_cache()
    return out


def summarise(res: Dict[str, dict], matmul: float, flops: Optional[dict] = None) -> dict:
    """Add FLOP/s and the checks to one run's results (FLOPs from the eager run)."""
    m, e = res['mask3d'], res['mae']
    for arm in ('mask3d', 'mae'):
        f = (flops or {}).get(arm, res[arm].get('train_flops'))
        res[arm]['train_flops'] = f
        res[arm]['flops_per_s'] = f / res[arm]['step_s']
        res[arm]['flops_fraction'] = res[arm]['flops_per_s'] / matmul
    mem = (m['memory_bytes'] / e['memory_bytes']) if 'memory_bytes' in m else None
    res['checks'] = dict(time_ratio=check('time_ratio', m['step_s'] / e['step_s']),
                         memory_ratio=check('memory_ratio', mem),
                         flops_fraction=check('flops_fraction', m['flops_fraction']))
    return res


def host_syncs(args, bench, arch: Optional[str] = None, batch: Optional[int] = None) -> dict:
    """Host synchronisations of one train step per arm (CUDA only): the step runs under
    ``torch.cuda.set_sync_debug_mode('warn')``; each warning is a sync (``.item()``, boolean
    indexing, ``nonzero``, a CPU copy ...), reported with where it happened."""
    import warnings

    import torch
    sargs = step_args(args, bench, arch, batch)
    out = {}
    for arm in bench.ARMS:
        model, optim_wrapper = bench.build(arm, sargs)
        batch = bench.make_batch(arm, sargs)
        bench.train_step(model, optim_wrapper, *batch)  # first step: lazy initialisations
        torch.cuda.synchronize()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            torch.cuda.set_sync_debug_mode('warn')
            try:
                bench.train_step(model, optim_wrapper, *batch)
            finally:
                torch.cuda.set_sync_debug_mode(0)
        syncs = [f'{w.filename}:{w.lineno}: {str(w.message)[:120]}' for w in caught
                 if 'synchroniz' in str(w.message).lower()]
        out[arm] = dict(count=len(syncs), where=syncs[:20], has_syncs=bool(syncs))
        del model, optim_wrapper, batch
    torch.cuda.empty_cache()
    return out


def build_only(args, bench) -> dict:
    """Build every model of the run on the CPU (the arch of the step and the ViT-L part, both
    arms) and report their parameters: what a checkout can check without a GPU."""
    import torch
    out = {}
    archs = [args.arch] + ([args.large_arch] if args.large_arch != 'none' else [])
    for arch in archs:
        sargs = step_args(args, bench, arch)
        sargs.device = 'cpu'
        sargs.amp = None
        for arm in bench.ARMS:
            model, _ = bench.build(arm, sargs)
            params = sum(p.numel() for p in model.parameters())
            out[f'{arm}_{arch}'] = params
            print(f'{arm} ViT-{arch.upper()}: {params / 1e6:.1f} M parameters', flush=True)
            del model
    print(json.dumps(dict(setup=dict(device=args.device, arch=args.arch,
                                     large_arch=args.large_arch, torch=torch.__version__),
                          params=out)))
    return out


# ---- 3. the data loader ------------------------------------------------------------------------
def loader_part(args, gpu_frames_per_s: float) -> dict:
    """DataLoader rates of the recipe on synthetic raw-ScanNet frames, and on the same frames
    pre-converted (``tools/dataset_converters/preconvert_frames.py``)."""
    spec = importlib.util.spec_from_file_location(
        'benchmark_data_pipeline', osp.join(TOOLS, 'benchmark_data_pipeline.py'))
    bdp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bdp)
    from mask3d_mm.converters.preconvert_frames import preconvert_frames
    root = tempfile.mkdtemp(prefix='mask3d_gpu_bench_frames_')
    pre = root + '_preconverted'
    batch = 32 if args.arch == 'b' else 2
    procs = min(os.cpu_count() or 1, int(args.frames.split('x')[0]))
    try:
        t0 = time.perf_counter()
        bdp.generate(root, args.frames, args.seed, color_size=(968, 1296), workers=procs)
        gen_s = time.perf_counter() - t0
        cfg = bdp.load_config(bdp.DEFAULT_CONFIG, root)
        rows = bdp.dataloader_rates(cfg, args.workers, batch, args.loader_batches,
                                    gpu_frames_per_s, args.seed)
        t0 = time.perf_counter()
        preconvert_frames(root, pre, workers=procs, show_progress=False)
        convert_s = time.perf_counter() - t0
        cfg = bdp.load_config(osp.join(REPO, 'configs/mask3d/vit-b_scannet_preconverted.py'),
                              pre)
        pre_rows = bdp.dataloader_rates(cfg, args.workers, batch, args.loader_batches,
                                        gpu_frames_per_s, args.seed)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(pre, ignore_errors=True)
    return dict(frames=args.frames, color_hw=(968, 1296), depth_hw=(480, 640),
                generate_s=gen_s, rows=rows, preconvert_s=convert_s, preconverted_rows=pre_rows)


# ---- report ------------------------------------------------------------------------------------
def print_report(out: dict) -> None:
    s = out['setup']
    print(f"\nMask3D vs MAE train step on {s['device_name']}: arch {s['arch']}, "
          f"batch {s['batch']}, "
          f"{s['img_size']}x{s['img_size']}, amp {s['amp']}, torch {s['torch']}; matmul "
          f"{s['matmul_size']}^2 {out['matmul_flops_per_s'] / 1e12:.1f} TFLOP/s")
    for name in ('eager', 'compiled', 'large'):
        r = out.get(name)
        if r is None:
            continue
        label = (f"ViT-{s['large_arch'].upper()} eager, batch {s['large_batch']}"
                 if name == 'large' else name)
        if 'error' in r:
            print(f'[{label}] not run: {r["error"]}')
            continue
        m, e = r['mask3d'], r['mae']
        print(f'[{label}]{"":28}{"Mask3D":>10}{"MAE":>10}{"value":>10}{"target":>10}  result')
        rows = [('step time (ms, median)', m['step_s'] * 1e3, e['step_s'] * 1e3, 'time_ratio'),
                ('frames/s', m['frames_per_s'], e['frames_per_s'], None),
                ('first step (s, incl. compile)', m['first_step_s'], e['first_step_s'], None),
                ('peak memory (MiB)', m.get('memory_bytes', 0) / 2**20,
                 e.get('memory_bytes', 0) / 2**20, 'memory_ratio'),
                ('TFLOP/s', m['flops_per_s'] / 1e12, e['flops_per_s'] / 1e12, None),
                ('fraction of the matmul', m['flops_fraction'], e['flops_fraction'],
                 'flops_fraction')]
        for label, vm, ve, key in rows:
            line = f'  {label:34}{vm:10.3f}{ve:10.3f}'
            if key:
                c = r['checks'][key]
                verdict = {True: 'PASS', False: 'FAIL', None: 'n/a'}[c['passed']]
                value = '' if c['value'] is None else f"{c['value']:10.3f}"
                line += f"{value:>10}{c['target']:>10}  {verdict}"
            print(line)
    for key, arch in (('host_syncs', s['arch']), ('large_host_syncs', s['large_arch'])):
        hs = out.get(key)
        if hs and 'error' not in hs:
            print(f'[host syncs in one train step, ViT-{arch.upper()}] ' + ', '.join(
                f"{arm}: {r['count']}" for arm, r in hs.items()))
            for arm, r in hs.items():
                for where in r['where'][:5]:
                    print(f'  {arm}: {where}')
        elif hs:
            print(f"[host syncs, ViT-{arch.upper()}] not measured: {hs['error']}")
    dl = out.get('dataloader')
    if dl and 'rows' in dl:
        print(f"[DataLoader] synthetic {dl['frames']} frames, colour 1296x968, depth 640x480, "
              f"ScanNet recipe pipeline; one GPU consumes {dl['rows'][0]['gpu_frames_per_s']:.0f} "
              'frames/s (the Mask3D step above)')
        for label, key in (('JPEG + PNG frames', 'rows'),
                           ('pre-converted (preconvert_frames.py)', 'preconverted_rows')):
            print(f'  {label}:')
            for r in dl[key]:
                print(f"  {r['workers']:3d} workers: {r['frames_per_s']:8.1f} frames/s "
                      f"({r['frames_per_s_per_worker']:.1f} per worker) -> "
                      f"{r['workers_needed']} workers per GPU")
    elif dl:
        print(f"[DataLoader] not run: {dl['error']}")
    for note in out['notes']:
        print('note:', note)


def main(argv=None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    unpacked = prepare_environment(args.wheels, args.site, check=not args.unpack_only)
    if args.unpack_only:
        print(f'unpacked into {args.site}: {unpacked or "nothing"}; still missing: '
              f'{missing_modules() or "nothing"}')
        return dict(unpacked=unpacked, missing=missing_modules())
    if args.device == 'cuda':
        os.environ.setdefault('PYTORCH_CUDA_ALLOC_CONF', 'expandable_segments:True')
    import torch
    if args.device == 'cuda' and not args.build_only and not torch.cuda.is_available():
        raise SystemExit(f'torch {torch.__version__} sees no CUDA GPU; use --device cpu for a '
                         'smoke run')
    import mask3d_mm  # noqa: F401  (compat patches, registries)
    bench = load_step_tool()
    if args.build_only:
        return build_only(args, bench)
    torch.backends.cuda.matmul.allow_tf32 = True
    out = dict(setup=dict(arch=args.arch, batch=args.batch, img_size=args.img_size,
                          steps=args.steps, warmup=args.warmup, amp=args.amp,
                          device=args.device, matmul_size=args.matmul_size,
                          large_arch=args.large_arch, large_batch=args.large_batch,
                          torch=torch.__version__, python=sys.version.split()[0],
                          cpu_count=os.cpu_count(), unpacked_wheels=unpacked,
                          device_name=(torch.cuda.get_device_name() if args.device == 'cuda'
                                       else f'{os.cpu_count()} CPU cores')),
               notes=[])
    out['matmul_flops_per_s'] = matmul_flops_per_s(args)
    eager = run_steps(args, bench, compiled=False)
    out['eager'] = summarise(eager, out['matmul_flops_per_s'])
    flops = {arm: eager[arm]['train_flops'] for arm in ('mask3d', 'mae')}
    if args.device == 'cuda':
        try:
            out['host_syncs'] = host_syncs(args, bench)
        except Exception as e:
            out['host_syncs'] = dict(error=f'{type(e).__name__}: {str(e)[:500]}')
    if args.large_arch != 'none':
        large = dict(arch=args.large_arch, batch=args.large_batch)
        if time.perf_counter() - start > args.budget_s / 3:
            out['large'] = dict(error=f'time budget: {time.perf_counter() - start:.0f} s spent')
        else:
            try:
                out['large'] = summarise(run_steps(args, bench, False, **large),
                                         out['matmul_flops_per_s'])
            except Exception as e:  # e.g. out of memory: reported, the other parts still run
                out['large'] = dict(error=f'{type(e).__name__}: {str(e)[:500]}')
            if args.device == 'cuda':
                try:
                    out['large_host_syncs'] = host_syncs(args, bench, **large)
                except Exception as e:
                    out['large_host_syncs'] = dict(error=f'{type(e).__name__}: {str(e)[:500]}')
    if args.no_compile:
        out['compiled'] = dict(error='--no-compile')
    elif time.perf_counter() - start > args.budget_s / 2:
        out['compiled'] = dict(error=f'time budget: {time.perf_counter() - start:.0f} s spent')
    else:
        try:
            out['compiled'] = summarise(run_steps(args, bench, compiled=True),
                                        out['matmul_flops_per_s'], flops)
        except Exception as e:  # report what broke; the other parts still run
            out['compiled'] = dict(error=f'{type(e).__name__}: {str(e)[:500]}')
    gpu_rate = out['eager']['mask3d']['frames_per_s']
    if not args.workers:
        out['dataloader'] = dict(error='no --workers')
    elif time.perf_counter() - start > args.budget_s * 0.75:
        out['dataloader'] = dict(error=f'time budget: {time.perf_counter() - start:.0f} s spent')
    else:
        try:
            out['dataloader'] = loader_part(args, gpu_rate)
        except Exception as e:
            out['dataloader'] = dict(error=f'{type(e).__name__}: {str(e)[:500]}')
    if args.device != 'cuda':
        out['notes'].append('not a GPU run: the targets apply to --device cuda only (memory '
                            'is measured on CUDA only)')
    out['total_s'] = time.perf_counter() - start
    print_report(out)
    os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
    with open(args.json, 'w') as f:
        json.dump(out, f, indent=2)
    print(f"results written to {args.json} ({out['total_s']:.0f} s)")
    return out


if __name__ == '__main__':
    main()
