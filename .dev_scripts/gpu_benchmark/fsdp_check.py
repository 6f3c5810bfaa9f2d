"""FSDP checks that need a GPU, for a bare CUDA machine (docs/distributed.md, "What was tested").

On CPU, ``tests/test_tools/test_fsdp.py`` covers FSDP in fp32 with gloo. This script runs on the
GPU(s) what it cannot: NCCL, bf16 ``MixedPrecision``, mmengine's ``state_dict_cfg='full'`` with
``offload_to_cpu``, and the ViT-L recipe's memory. All runs are ``tools/dist_train.sh`` with
``--nproc`` processes (default: every GPU) on a tiny synthetic ScanNet-format set, shrunk
through ``MASK3D_MM_CFG_OPTIONS``; the same initial weights for DDP and FSDP
(``model.init_cfg``). Steps, each pass / fail in ``work_dirs/fsdp_check/result.json``:

1. ``ddp`` / ``fsdp_fp32``: the tiny model, 8 iterations, DDP (``vit-tiny_synthetic.py``) and
   FSDP (``vit-tiny_synthetic_fsdp.py``): losses equal within 1e-3 (relative);
2. ``fsdp_bf16``: FSDP with the ViT-L config's ``mixed_precision`` (bf16): finite losses, within
   5 % of fp32's at every iteration;
3. ``fsdp_bf16_resume``: ``--resume`` of step 2's sharded iteration-4 checkpoint: iterations
   5-8 equal step 2's within 1e-3;
4. ``fsdp_full``: ``state_dict_cfg='full'`` (mmengine's gather, ``offload_to_cpu=True``)
   saves, and ``--resume`` from its iteration 4 continues within 1e-3;
5. ``export``: the colour encoder exported from step 2's sharded and step 4's full checkpoints
   (the tool reads the sharded folder whole, on CPU): same keys and finite;
6. ``vit-l``: ``vit-l_scannet.py`` (DDP, fp16 AMP) and ``vit-l_scannet_fsdp.py`` (FSDP, bf16)
   at 224x224, batch ``--batch`` a GPU, 6 iterations: peak memory (mmengine's logged
   ``memory``, MB) and the median iteration time of the last 3.

    bash .dev_scripts/gpu_benchmark/fsdp_check.sh [--nproc N] [--skip-vit-l]

Uses the same wheels as gpu_benchmark.sh (``prepare_environment`` of gpu_benchmark.py); the
runs need ``tools/train.py``, i.e. ``mask3d_mm`` with mmengine and mmpretrain (no mmcv ops).
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
import shlex
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
WORK = osp.join(REPO, 'work_dirs', 'fsdp_check')
TINY = 'configs/mask3d/vit-tiny_synthetic.py'
TINY_FSDP = 'configs/mask3d/vit-tiny_synthetic_fsdp.py'
L_DDP, L_FSDP = 'configs/mask3d/vit-l_scannet.py', 'configs/mask3d/vit-l_scannet_fsdp.py'


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--nproc', type=int, default=None, help='processes (default: the GPUs)')
    p.add_argument('--iters', type=int, default=8)
    p.add_argument('--batch', type=int, default=16, help='ViT-L batch per GPU')
    p.add_argument('--skip-vit-l', action='store_true')
    p.add_argument('--wheels', default=osp.join(REPO, 'work_dirs', 'gpu_benchmark', 'wheels'))
    p.add_argument('--site', default=osp.join(REPO, 'work_dirs', 'gpu_benchmark', 'site'))
    return p.parse_args(argv)


def prepare(args) -> None:
    path = osp.join(REPO, '.dev_scripts', 'gpu_benchmark', 'gpu_benchmark.py')
    spec = importlib.util.spec_from_file_location('gpu_benchmark', path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.prepare_environment(args.wheels, args.site, check=False)


def child(name: str, base: str, body: str) -> str:
    """A config ``WORK/name.py`` on top of ``base`` (a repository config) with ``body``."""
    path = osp.join(WORK, f'{name}.py')
    with open(path, 'w') as f:
        f.write(f'_base_ = [{osp.join(REPO, base)!r}]\n{body}')
    return path


def shrink(data: str, iters: int, batch: int, workers: int = 0) -> str:
    """Config lines: the synthetic set, iterations, every iteration logged, no validation."""
    return f"""
train_dataloader = dict(batch_size={batch}, num_workers={workers},
                        persistent_workers={workers > 0},
                        dataset=dict(data_root={data!r}, ann_file=''))
val_dataloader = val_cfg = val_evaluator = None
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters={iters}, val_interval=10**6)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
                        end={iters})]
log_processor = dict(window_size=1, by_epoch=False)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval={max(iters // 2, 1)}, by_epoch=False))
custom_hooks = []
randomness = dict(seed=0)
"""


def train(name: str, config: str, nproc: int, *extra: str) -> dict:
    """``tools/dist_train.sh CONFIG NPROC --work-dir WORK/name [extra]``; its losses."""
    work_dir = osp.join(WORK, name)
    shutil.rmtree(work_dir, ignore_errors=True)  # a rerun of the script starts over
    if osp.exists(f'{work_dir}.log'):
        os.remove(f'{work_dir}.log')
    env = dict(os.environ, PORT=str(29500 + sum(map(ord, name)) % 400), PYTHON=sys.executable)
    start = time.perf_counter()
    with open(f'{work_dir}.log', 'a') as log:
        rc = subprocess.run(['bash', 'tools/dist_train.sh', config, str(nproc), '--work-dir',
                             work_dir, *extra], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT, timeout=900).returncode
    out = dict(rc=rc, seconds=round(time.perf_counter() - start, 1), log=f'{work_dir}.log')
    if rc == 0:
        from mask3d_mm.tooling import read_scalars
        steps = {r['step']: r for r in read_scalars(work_dir) if 'loss' in r}
        out['loss'] = {s: steps[s]['loss'] for s in sorted(steps)}
        out['memory_mb'] = max((r.get('memory', 0) for r in steps.values()), default=None)
        times = [steps[s]['time'] for s in sorted(steps)][-3:]
        out['iter_s'] = sorted(times)[len(times) // 2] if times else None
    print(f'{name}: rc {rc}, {out["seconds"]} s, losses {out.get("loss")}', flush=True)
    return out


def close(a: Dict[int, float], b: Dict[int, float], rel: float,
          steps: Optional[List[int]] = None) -> bool:
    steps = steps or sorted(a)
    return bool(steps) and all(s in a and s in b and abs(a[s] - b[s]) <= rel * abs(b[s]) for s in steps)


def main(argv=None) -> dict:
    args = parse_args(argv)
    prepare(args)
    import torch

    import mask3d_mm  # noqa: F401
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.config import Config
    from mask3d_mm.synthetic import generate_scannet_scenes
    nproc = args.nproc or max(1, torch.cuda.device_count())
    os.makedirs(WORK, exist_ok=True)
    data = osp.join(WORK, 'data')
    if not osp.isdir(data):
        generate_scannet_scenes(data, num_scenes=2, frames_per_scene=16, height=240, width=320,
                                color_size=(480, 640), seed=0)
    init = osp.join(WORK, 'init.pth')
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(osp.join(REPO, TINY)).model)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict()), init)
    res: Dict[str, dict] = dict(setup=dict(nproc=nproc, torch=torch.__version__,
                                           gpu=torch.cuda.get_device_name()
                                           if torch.cuda.is_available() else 'none'))
    it, half = args.iters, args.iters // 2
    tiny = shrink(data, it, 2) + (
        f"model = dict(init_cfg=dict(type='Pretrained', checkpoint={init!r}))\n")
    bf16 = ("strategy = dict(model_wrapper=dict(mixed_precision=dict(param_dtype='bfloat16', "
            "reduce_dtype='float32', buffer_dtype='float32')))\n")
    full = "strategy = dict(state_dict_cfg='full')\n"
    cfgs = dict(ddp=child('ddp', TINY, tiny), fsdp_fp32=child('fsdp_fp32', TINY_FSDP, tiny),
                fsdp_bf16=child('fsdp_bf16', TINY_FSDP, tiny + bf16),
                fsdp_full=child('fsdp_full', TINY_FSDP, tiny + full))
    for name in ('ddp', 'fsdp_fp32', 'fsdp_bf16', 'fsdp_full'):
        res[name] = train(name, cfgs[name], nproc)
    for name in ('fsdp_bf16', 'fsdp_full'):  # --resume from the middle, in a new work dir
        res[f'{name}_resume'] = train(f'{name}_resume', cfgs[name], nproc, '--resume',
                                      osp.join(WORK, name, f'iter_{half}.pth'))
    loss = {k: v.get('loss', {}) for k, v in res.items() if isinstance(v, dict)}
    later = list(range(half + 1, it + 1))
    checks = dict(
        fsdp_fp32_equals_ddp=close(loss['fsdp_fp32'], loss['ddp'], 1e-3),
        fsdp_bf16_near_fp32=close(loss['fsdp_bf16'], loss['fsdp_fp32'], 5e-2),
        fsdp_bf16_resume=close(loss['fsdp_bf16_resume'], loss['fsdp_bf16'], 1e-3, later),
        fsdp_full_resume=close(loss['fsdp_full_resume'], loss['fsdp_full'], 1e-3, later))
    exports = {}
    for name in ('fsdp_bf16', 'fsdp_full'):
        out = osp.join(WORK, f'export_{name}.pth')
        if osp.exists(out):
            os.remove(out)
        rc = subprocess.run([sys.executable, 'tools/model_converters/export_rgb_encoder.py',
                             osp.join(WORK, name, f'iter_{it}.pth'), out], cwd=REPO,
                            timeout=600).returncode
        exports[name] = torch.load(out, weights_only=True)['state_dict'] if rc == 0 else None
    checks['export'] = all(e is not None and all(torch.isfinite(v).all() for v in e.values())
                           for e in exports.values()) and exports['fsdp_bf16'].keys() == \
        exports['fsdp_full'].keys()
    if not args.skip_vit_l:
        large = shrink(data, 6, args.batch, workers=4)
        for name, base in (('vit-l_ddp_amp', L_DDP), ('vit-l_fsdp_bf16', L_FSDP)):
            res[name] = train(name, child(name, base, large), nproc)
        checks['vit-l_runs'] = res['vit-l_ddp_amp']['rc'] == res['vit-l_fsdp_bf16']['rc'] == 0
    res['checks'] = checks
    with open(osp.join(WORK, 'result.json'), 'w') as f:
        json.dump(res, f, indent=1, default=str)
    print(json.dumps(checks, indent=1))
    print('command: ' + ' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    return res


if __name__ == '__main__':
    main()
