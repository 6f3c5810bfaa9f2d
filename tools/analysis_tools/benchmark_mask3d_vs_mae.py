"""Mask3D ViT-B train step vs. MMPretrain's MAE ViT-B train step, in one run.

Both models are built from their configs (Mask3D: ``configs/mask3d/_base_/models/
mask3d_vit-b-p16.py``; MAE: mmpretrain's ``_base_/models/mae_vit-base-p16.py`` with the
``SelfSupDataPreprocessor`` of its MAE dataset config moved into the model; ``--arch l``: the
model of ``configs/mask3d/vit-l_scannet.py`` and MAE with a ViT-L encoder), each with an AdamW
``OptimWrapper``, at the same batch, image size and RGB mask ratio (0.75; Mask3D's depth mask
ratio is 0.75 too, as ``RGBDMaskGenerator``). Inputs are random, already preprocessed tensors;
a step is ``model.loss`` + ``optim_wrapper.update_params`` (forward, backward, AdamW step), no
data loading. Reported, with pass/fail against the targets:

- time: median s/step over ``--steps`` steps per model, alternating the models (AB BA AB ...) so
  both see the same machine load; target Mask3D / MAE <= 1.2. Also shown, unchecked, for shared
  machines: the median of the per-round ratios, the fastest steps, the process CPU time;
- memory: each model in its own subprocess (``--arm``), side by side: peak RSS (Linux VmHWM,
  reset after the imports) minus the RSS before building the model, i.e. parameters,
  gradients, AdamW state and activations; on CUDA ``torch.cuda.max_memory_allocated`` minus the
  memory allocated before building; target Mask3D / MAE <= 1.15;
- FLOP/s: FLOPs of one Mask3D train step (``FlopCounterMode`` over forward + backward, CPU
  attention included) / median step time, as a fraction of the FLOP/s of a ``--matmul-size``
  square fp32 matmul timed after each round of the same run; target >= 0.5 (with ``--amp``
  the reference stays fp32).

Example::

    python tools/analysis_tools/benchmark_mask3d_vs_mae.py --batch 8 --threads 2 \\
        --warmup 2 --steps 6 --json work_dirs/bench_mask3d_vs_mae.json
    python tools/analysis_tools/benchmark_mask3d_vs_mae.py --device cuda --amp bf16 --batch 64
    python tools/analysis_tools/benchmark_mask3d_vs_mae.py --tiny --warmup 1 --steps 1  # smoke
    python tools/analysis_tools/benchmark_mask3d_vs_mae.py --activations --batch 2  # memory/sample

Run as a script it sets ``OMP_WAIT_POLICY=PASSIVE`` unless set: on a CPU shared with other jobs,
OpenMP threads spinning at the barriers of the ~20k small ops of a step made the step up to 7x
slower and the comparison noisy; on an idle CPU it changes little. Results of this machine and
how to read them: docs/benchmarks.md.
"""
import os

if __name__ == '__main__':  # before torch loads libgomp
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import mask3d_mm  # noqa: E402,F401,I001  (first: compat patches, registers the modules)

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os.path as osp  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from statistics import median  # noqa: E402

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.utils import get_installed_path  # noqa: E402
from torch.utils.flop_counter import (FlopCounterMode, sdpa_backward_flop_count,  # noqa: E402
                                      sdpa_flop_count)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MASK3D_CFG = osp.join(REPO, 'configs/mask3d/_base_/models/mask3d_vit-b-p16.py')
# --arch l: the ViT-L/16 pre-training config's model; MAE as mmpretrain's ViT-L MAE config
# (the ViT-B model with MAEViT arch 'l' and a 1024-wide decoder input)
MASK3D_L_CFG = osp.join(REPO, 'configs/mask3d/vit-l_scannet.py')
MAE_CFG = '_base_/models/mae_vit-base-p16.py'
MAE_PREPROCESSOR_CFG = '_base_/datasets/imagenet_bs512_mae.py'
ARMS = ('mask3d', 'mae')
MASK_RATIO = 0.75
TARGETS = dict(time_ratio=('<=', 1.2), memory_ratio=('<=', 1.15), flops_fraction=('>=', 0.5))
# --tiny: a 2-layer 64-wide ViT encoder and 1-layer 64-wide decoders for both models
TINY_ARCH = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=256)
# CPU attention is not in FlopCounterMode's table
_aten = torch.ops.aten
SDPA_CPU_FLOPS = {
    _aten._scaled_dot_product_flash_attention_for_cpu:
    lambda q, k, v, *args, out_shape=None, **kwargs: sdpa_flop_count(q, k, v),
    _aten._scaled_dot_product_flash_attention_for_cpu_backward:
    lambda g, q, k, v, *args, out_shape=None, **kwargs: sdpa_backward_flop_count(g, q, k, v),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=8, help='images per step (default 8)')
    parser.add_argument('--img-size', type=int, default=None,
                        help='square input size (default 224, 64 with --tiny)')
    parser.add_argument('--steps', type=int, default=10, help='timed steps per model (default 10)')
    parser.add_argument('--warmup', type=int, default=2,
                        help='warm-up steps per model, >= 1 (the first one counts FLOPs)')
    parser.add_argument('--threads', type=int, default=os.cpu_count(),
                        help='torch CPU threads (default: all cores)')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--amp', nargs='?', const='bf16', default=None, choices=['bf16', 'fp16'],
                        help='autocast on CUDA (AmpOptimWrapper); bare --amp = bf16')
    parser.add_argument('--fused-adamw', action='store_true',
                        help='AdamW(fused=True): one kernel per step instead of ~10 per tensor')
    parser.add_argument('--matmul-size', type=int, default=2048,
                        help='size of the square fp32 reference matmul (default 2048)')
    parser.add_argument('--tiny', action='store_true',
                        help='2-layer 64-wide ViTs on 64x64 images (smoke test)')
    parser.add_argument('--arch', choices=['b', 'l'], default='b',
                        help="ViT-B/16 (default) or ViT-L/16 for both models")
    parser.add_argument('--json', metavar='OUT', help='write the results to this JSON file')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--activations', action='store_true',
                        help='instead: bytes saved for backward per sample (fp32 and CPU bf16 '
                        'autocast, with and without activation checkpointing), see '
                        'saved_activations()')
    parser.add_argument('--arm', choices=ARMS, help=argparse.SUPPRESS)  # memory subprocess
    args = parser.parse_args(argv)
    if args.img_size is None:
        args.img_size = 64 if args.tiny else 224
    if args.warmup < 1 or args.steps < 1:
        parser.error('--warmup and --steps must be >= 1')
    if args.amp and args.device != 'cuda':
        parser.error('--amp needs --device cuda (mmengine AmpOptimWrapper)')
    return args


def model_cfg(arm: str, args) -> dict:
    """Model config of one arm, sized for ``args.img_size`` (and ``--tiny``)."""
    size, grid = args.img_size, args.img_size // 16
    large = getattr(args, 'arch', 'b') == 'l' and not args.tiny
    if arm == 'mask3d':
        cfg = Config.fromfile(MASK3D_L_CFG if large else MASK3D_CFG).model
        cfg.backbone.img_size = cfg.depth_encoder.img_size = size
        if args.tiny:
            cfg.backbone.arch = TINY_ARCH
            cfg.depth_encoder.update(embed_dims=32, num_layers=1, num_heads=2)
            cfg.neck.update(in_channels=64, depth_in_channels=32, embed_dims=64, num_layers=1,
                            num_heads=2)
        return cfg.to_dict()
    mim = osp.join(get_installed_path('mmpretrain'), '.mim', 'configs')
    cfg = Config.fromfile(osp.join(mim, MAE_CFG)).model
    cfg.data_preprocessor = Config.fromfile(osp.join(mim, MAE_PREPROCESSOR_CFG)).data_preprocessor
    cfg.backbone.update(img_size=size, mask_ratio=MASK_RATIO)
    cfg.neck.num_patches = grid * grid
    if large:
        cfg.backbone.arch = 'l'
        cfg.neck.embed_dim = 1024
    if args.tiny:
        cfg.backbone.arch = TINY_ARCH
        cfg.neck.update(embed_dim=64, decoder_embed_dim=64, decoder_depth=1,
                        decoder_num_heads=2)
    return cfg.to_dict()


@contextmanager
def quiet_logger():
    """Hide the INFO log of ``init_weights`` (one entry per parameter)."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def build(arm: str, args):
    """(model, optim_wrapper) of one arm, initialised, on ``args.device``."""
    if arm == 'mask3d':
        from mask3d_mm.registry import MODELS
        scope = None  # the config names its types 'mask3d_mm.X'
    else:
        from mmpretrain.registry import MODELS
        scope = 'mmpretrain'  # mmpretrain's config names its types without a scope
    with DefaultScope.overwrite_default_scope(scope), quiet_logger():
        model = MODELS.build(model_cfg(arm, args))
        model.init_weights()
    model.to(args.device).train()
    optim = dict(optimizer=dict(type='AdamW', lr=1.5e-4, betas=(0.9, 0.95), weight_decay=0.05))
    if args.fused_adamw:
        optim['optimizer']['fused'] = True
    if args.amp:
        optim.update(type='AmpOptimWrapper', dtype=dict(bf16='bfloat16', fp16='float16')[args.amp])
    return model, build_optim_wrapper(model, optim)


def make_batch(arm: str, args):
    """Random preprocessed inputs and data samples of one arm."""
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(args.seed)
    B, H = args.batch, args.img_size
    rgb = torch.randn(B, 3, H, H, generator=g)
    if arm == 'mae':
        return rgb.to(args.device), [DataSample() for _ in range(B)]
    depth = 0.5 + 4 * torch.rand(B, 1, H, H, generator=g)
    depth[torch.rand(B, 1, H, H, generator=g) < 0.1] = 0  # invalid pixels
    L = (H // 16)**2
    num_masked = L - int(L * (1 - MASK_RATIO))  # the visible count of MAE's random_masking
    samples = []
    for _ in range(B):
        ds = DataSample()
        for key in ('rgb_mask', 'depth_mask'):
            mask = torch.zeros(L, dtype=torch.bool)
            mask[torch.randperm(L, generator=g)[:num_masked]] = True
            ds.set_field(mask.reshape(H // 16, H // 16), key)
        samples.append(ds)
    return [rgb.to(args.device), depth.to(args.device)], samples


def sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def train_step(model, optim_wrapper, inputs, data_samples) -> None:
    """What ``model.train_step`` does after the data preprocessor."""
    with optim_wrapper.optim_context(model):
        losses = model.loss(inputs, data_samples)
    loss, _ = model.parse_losses(losses)
    optim_wrapper.update_params(loss)


def timed(fn, device: str) -> tuple:
    """(wall, process CPU) seconds of ``fn()``."""
    sync(device)
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    sync(device)
    return time.perf_counter() - t0, time.process_time() - c0


def rss_bytes(field: str) -> int:
    """VmRSS / VmHWM of this process from /proc/self/status."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def run_arm(args) -> dict:
    """Memory of one arm (run in its own process): build, 2 steps, peak minus baseline."""
    batch = make_batch(args.arm, args)
    if args.device == 'cuda':
        baseline = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    else:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset VmHWM: import-time peaks are not the model's
        baseline = rss_bytes('VmRSS')
    model, optim_wrapper = build(args.arm, args)
    for _ in range(2):  # the 2nd step holds activations, gradients and AdamW state together
        train_step(model, optim_wrapper, *batch)
    sync(args.device)
    peak = (torch.cuda.max_memory_allocated() if args.device == 'cuda' else rss_bytes('VmHWM'))
    return dict(memory_bytes=peak - baseline, peak_bytes=peak, baseline_bytes=baseline)


def measure_memory(args) -> dict:
    """``run_arm`` of each model, in subprocesses of this script (run side by side: VmHWM and
    ``max_memory_allocated`` are per process), each killed after the child runs' timeout."""
    from mask3d_mm.tooling.tool_runs import TIMEOUT_S
    procs = {}
    for arm in ARMS:
        cmd = [sys.executable, osp.abspath(__file__), '--arm', arm, '--batch', str(args.batch),
               '--img-size', str(args.img_size), '--threads', str(args.threads), '--device',
               args.device, '--seed', str(args.seed), '--arch', args.arch]
        cmd += ['--amp', args.amp] if args.amp else []
        cmd += [f'--{k.replace("_", "-")}' for k in ('tiny', 'fused_adamw') if getattr(args, k)]
        procs[arm] = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = {}
    try:
        for arm, proc in procs.items():
            stdout = proc.communicate(timeout=TIMEOUT_S)[0]
            if proc.returncode:
                raise RuntimeError(f'memory run of {arm} failed ({proc.returncode})')
            out[arm] = json.loads(stdout.strip().splitlines()[-1])
    finally:
        for proc in procs.values():
            if proc.poll() is None:  # timed out, or the other arm failed
                proc.kill()
                proc.wait()
    return out


def checkpointed_blocks(model) -> list:
    """Names of every transformer block of a model, for mmengine's ``activation_checkpointing``
    config key (``turn_on_activation_checkpointing``)."""
    names = []
    for prefix in ('backbone.layers', 'depth_encoder.layers', 'neck.decoder_blocks'):
        parent = model
        for part in prefix.split('.'):
            parent = getattr(parent, part, None)
        names += [f'{prefix}.{i}' for i in range(len(parent or []))]
    return names


def saved_activations(args) -> dict:
    """Bytes autograd saves for backward in one ``model.loss`` (parameters excluded, each
    storage counted once) at ``args.batch`` and twice that: their difference / batch is the
    activation memory per sample, the rest is per step (e.g. bf16 weight copies). For each arm,
    fp32 and bf16 autocast (on CPU, as a stand-in for CUDA AMP), without and with
    checkpointing of every transformer block."""
    from mmengine.runner import turn_on_activation_checkpointing
    out = {}
    for arm in ARMS:
        for ckpt in (False, True):
            model, _ = build(arm, args)
            if ckpt:
                turn_on_activation_checkpointing(model, checkpointed_blocks(model))
            params = {p.untyped_storage().data_ptr() for p in model.parameters()}
            for amp in (False, True):
                sizes = []
                for batch in (args.batch, 2 * args.batch):
                    seen = {}

                    def pack(t, seen=seen):
                        st = t.untyped_storage()
                        if st.data_ptr() not in params:
                            seen[st.data_ptr()] = st.nbytes()
                        return t

                    inputs, samples = make_batch(arm, argparse.Namespace(**{
                        **vars(args), 'batch': batch}))
                    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
                            torch.autocast(args.device, torch.bfloat16, enabled=amp):
                        loss = model.loss(inputs, samples)
                    del loss
                    sizes.append(sum(seen.values()))
                per = (sizes[1] - sizes[0]) / args.batch
                out[f"{arm}{'_ckpt' if ckpt else ''}{'_bf16' if amp else '_fp32'}"] = dict(
                    per_sample_bytes=per, per_step_bytes=sizes[0] - per * args.batch,
                    params=sum(p.numel() for p in model.parameters()))
    return out


def check(name: str, value: float) -> dict:
    op, target = TARGETS[name]
    ok = value <= target if op == '<=' else value >= target
    return dict(value=value, target=f'{op} {target}', passed=bool(ok))


def benchmark(args) -> dict:
    memory = measure_memory(args)  # first, before this process holds both models
    arms = {arm: (*build(arm, args), *make_batch(arm, args)) for arm in ARMS}
    n = args.matmul_size
    a, b = (torch.randn(n, n, device=args.device) for _ in range(2))

    def matmul():
        for _ in range(3):
            torch.mm(a, b)

    flops = {}
    for arm in ARMS:  # warm-up; its first step counts the FLOPs
        with FlopCounterMode(display=False, custom_mapping=SDPA_CPU_FLOPS) as counter:
            train_step(*arms[arm])
        flops[arm] = counter.get_total_flops()
    for _ in range(args.warmup - 1):
        for arm in ARMS:
            train_step(*arms[arm])
    matmul()
    times = {arm: [] for arm in ARMS + ('matmul', )}  # (wall, cpu) pairs
    for i in range(args.steps):  # AB BA AB ..., the reference matmul after each round
        for arm in (ARMS if i % 2 == 0 else ARMS[::-1]):
            times[arm].append(timed(lambda: train_step(*arms[arm]), args.device))
        times['matmul'].append(timed(matmul, args.device))
    mm_flops = 3 * 2 * n**3
    mm_fps = median(mm_flops / w for w, _ in times['matmul'])
    mm_fps_cpu = median(mm_flops / c for _, c in times['matmul'])
    res = dict(setup=dict(batch=args.batch, img_size=args.img_size, steps=args.steps,
                          warmup=args.warmup, threads=torch.get_num_threads(),
                          device=args.device, amp=args.amp, fused_adamw=args.fused_adamw,
                          omp_wait_policy=os.environ.get('OMP_WAIT_POLICY'),
                          tiny=args.tiny, arch=args.arch, mask_ratio=MASK_RATIO,
                          torch=torch.__version__,
                          device_name=(torch.cuda.get_device_name() if args.device == 'cuda'
                                       else f'{os.cpu_count()} CPU cores')),
               matmul=dict(size=n, flops_per_s=mm_fps, flops_per_cpu_s=mm_fps_cpu))
    for arm in ARMS:
        wall, cpu = (list(x) for x in zip(*times[arm]))
        step, step_cpu = median(wall), median(cpu)
        res[arm] = dict(params=sum(p.numel() for p in arms[arm][0].parameters()),
                        step_s=step, all_step_s=wall, cpu_s=step_cpu, all_cpu_s=cpu,
                        train_flops=flops[arm], flops_per_s=flops[arm] / step,
                        flops_fraction=flops[arm] / step / mm_fps,
                        flops_fraction_cpu=flops[arm] / step_cpu / mm_fps_cpu, **memory[arm])
    m, e = res['mask3d'], res['mae']
    res['info'] = dict(  # load-robust variants of the time ratio, not checked
        paired_time_ratio=median(x / y for x, y in zip(m['all_step_s'], e['all_step_s'])),
        fastest_time_ratio=min(m['all_step_s']) / min(e['all_step_s']),
        cpu_time_ratio=m['cpu_s'] / e['cpu_s'])
    res['checks'] = dict(
        time_ratio=check('time_ratio', m['step_s'] / e['step_s']),
        memory_ratio=check('memory_ratio', m['memory_bytes'] / e['memory_bytes']),
        flops_fraction=check('flops_fraction', m['flops_fraction']))
    return res


def print_table(res: dict) -> None:
    s, m, e, c = res['setup'], res['mask3d'], res['mae'], res['checks']
    mm = res['matmul']
    print(f"\nMask3D vs MAE train step: batch {s['batch']}, {s['img_size']}x{s['img_size']}, "
          f"{s['device']} ({s['device_name']}, {s['threads']} threads), amp={s['amp']}, "
          f"fused AdamW={s['fused_adamw']}, OMP_WAIT_POLICY={s['omp_wait_policy']}, "
          f"torch {s['torch']}, {s['steps']} timed steps each")
    rows = [  # name, Mask3D, MAE, value (Mask3D / MAE or Mask3D's), checked key
        ('params (M)', m['params'] / 1e6, e['params'] / 1e6, m['params'] / e['params'], None),
        ('step time (s, median)', m['step_s'], e['step_s'], None, 'time_ratio'),
        ('  median of the paired ratios', None, None, res['info']['paired_time_ratio'], None),
        ('  fastest step', min(m['all_step_s']), min(e['all_step_s']),
         res['info']['fastest_time_ratio'], None),
        ('step CPU time (s, median)', m['cpu_s'], e['cpu_s'], res['info']['cpu_time_ratio'],
         None),
        ('memory (MiB)', m['memory_bytes'] / 2**20, e['memory_bytes'] / 2**20, None,
         'memory_ratio'),
        ('FLOPs / step (G)', m['train_flops'] / 1e9, e['train_flops'] / 1e9,
         m['train_flops'] / e['train_flops'], None),
        ('achieved GFLOP/s', m['flops_per_s'] / 1e9, e['flops_per_s'] / 1e9, None, None),
        (f"fraction of matmul ({mm['flops_per_s'] / 1e9:.1f} GFLOP/s)", m['flops_fraction'],
         e['flops_fraction'], None, 'flops_fraction'),
        (f"  by CPU time ({mm['flops_per_cpu_s'] / 1e9:.1f} GFLOP/CPU-s)",
         m['flops_fraction_cpu'], e['flops_fraction_cpu'], m['flops_fraction_cpu'], None),
    ]
    fmt = lambda v: f'{v:10.3f}' if v is not None else ' ' * 10  # noqa: E731
    print(f"{'':44}{'Mask3D':>10}{'MAE':>10}{'value':>10}{'target':>10}  result")
    for name, vm, ve, value, key in rows:
        line = f'{name:44}{fmt(vm)}{fmt(ve)}'
        if key:
            ck = c[key]
            line += f"{ck['value']:10.3f}{ck['target']:>10}  {'PASS' if ck['passed'] else 'FAIL'}"
        else:
            line += fmt(value)
        print(line.rstrip())


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.arm:
        print(json.dumps(run_arm(args)))
        return
    if args.activations:
        res = dict(setup=dict(batch=args.batch, img_size=args.img_size, tiny=args.tiny),
                   activations=saved_activations(args))
        print(f'saved for backward, batch {args.batch} and {2 * args.batch}, '
              f'{args.img_size}x{args.img_size} (MiB):')
        for key, r in res['activations'].items():
            print(f"  {key:22} per sample {r['per_sample_bytes'] / 2**20:8.2f}   per step "
                  f"{r['per_step_bytes'] / 2**20:8.1f}")
    else:
        res = benchmark(args)
        print_table(res)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=2)
        print(f'results written to {args.json}')


if __name__ == '__main__':
    main()
