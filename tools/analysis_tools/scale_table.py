"""Scale table of Mask3D pre-training at ViT-B / L / H: parameters, FLOPs, activation memory
(measured on CPU) and what they imply on 80 GB GPUs (computed).

For each arch the Mask3D model is built (``configs/mask3d/vit-{arch}_scannet.py`` where that
config exists, else the ViT-B model config with the colour ViT's ``arch`` and the decoder's
``in_channels`` changed: same depth encoder 256x4 and decoder 512x8) and measured on the CPU
at ``--img-size`` with the recipe's masks (0.75 of the RGB and of the depth patches):

- parameters: colour ViT (``backbone``), depth encoder, decoder (``neck`` + ``head``), total
  (``sum(p.numel())`` of the model);
- FLOPs per sample: ``torch.utils.flop_counter.FlopCounterMode`` over ``model.loss`` +
  backward (matmuls, convolutions, attention; not element-wise ops, norms or the optimizer), at
  batch 1; with checkpointing the recomputed forward is counted too;
- activation memory per sample: bytes autograd saves for the backward of ``model.loss``
  (``torch.autograd.graph.saved_tensors_hooks``, each storage once, parameters excluded), at
  batch 1 and 2 (the difference), in fp32. With activation checkpointing of every block
  (``with_cp=True`` of the colour ViT, depth encoder and decoder where the classes have it,
  else mmengine's ``turn_on_activation_checkpointing``): what is saved outside the blocks + the
  blocks' inputs (which the checkpoint keeps) + the largest block's own saved tensors (alive
  while it is recomputed in the backward). bf16 figures are **half of fp32** (not measured);

and computed from those (formulas in :func:`derive`, assumptions as options):

- memory per GPU, DDP: ``20 P`` bytes (fp32 weights 4, gradients 4, AdamW moments 8, DDP
  gradient buckets 4) + ``b a`` (``b`` samples per GPU, ``a`` bf16 activations per sample);
  FSDP (full shard, one unit per transformer block): ``16 P / N`` + ``2 x 8 P_unit`` (fp32
  weights and gradients of the unit being computed and of the prefetched one) + ``b a``; both
  plus ``--overhead-gib`` (CUDA context, workspaces) at the recipe's global batch
  ``--global-batch`` over N = 8 and 64 GPUs;
- largest batch per GPU: ``(--usable x --gpu-gib - 20 P - overhead) / a`` (DDP);
- wall time of the schedule (``--frames`` samples: 400 epochs of scannet_frames_25k):
  ``FLOPs per sample x frames / (N x --peak-tflops x --utilisation)``.

Example::

    python tools/analysis_tools/scale_table.py --archs b l h --markdown work_dirs/scale_table.md

Results and the command that produced them: docs/benchmarks.md.
"""
import mask3d_mm  # noqa: F401,I001  (first: compat patches, registers the modules)

import argparse
import functools
import importlib.util
import inspect
import json
import os
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch.utils.flop_counter import FlopCounterMode

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE_MODEL = osp.join(REPO, 'configs/mask3d/_base_/models/mask3d_vit-b-p16.py')
ARCH_CONFIG = osp.join(REPO, 'configs/mask3d/vit-{}_scannet.py')
ARCHS = ('tiny', 'b', 'l', 'h')
# tiny: the smoke size of benchmark_mask3d_vs_mae.py (2-layer 64-wide ViT, small decoder)
TINY = dict(backbone=dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=256),
            depth_encoder=dict(embed_dims=32, num_layers=1, num_heads=2),
            neck=dict(embed_dims=64, num_layers=1, num_heads=2))
MASK_RATIO = 0.75
PARTS = dict(colour_vit=('backbone', ), depth_encoder=('depth_encoder', ),
             decoder=('neck', 'head'))
BLOCKS = ('backbone.layers', 'depth_encoder.layers', 'neck.decoder_blocks')


@functools.lru_cache(maxsize=None)
def _bench():
    """benchmark_mask3d_vs_mae.py as a module: its CPU attention FLOP rules, quiet logger."""
    spec = importlib.util.spec_from_file_location(
        'benchmark_mask3d_vs_mae', osp.join(osp.dirname(osp.abspath(__file__)),
                                            'benchmark_mask3d_vs_mae.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--archs', nargs='+', choices=ARCHS, default=['b', 'l', 'h'])
    parser.add_argument('--img-size', type=int, default=224, help='square input (default 224)')
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--global-batch', type=int, default=512,
                        help="samples per step over all GPUs (the recipe's 8 x 64)")
    parser.add_argument('--gpus', type=int, nargs='+', default=[8, 64])
    parser.add_argument('--gpu-gib', type=float, default=80e9 / 2**30,
                        help='GPU memory in GiB (default 80 GB = 74.5 GiB)')
    parser.add_argument('--usable', type=float, default=0.9,
                        help='fraction of the GPU memory usable (allocator slack)')
    parser.add_argument('--overhead-gib', type=float, default=1.0,
                        help='CUDA context and workspaces per GPU (assumed)')
    parser.add_argument('--peak-tflops', type=float, default=989.0,
                        help='dense bf16 peak per GPU (H100 SXM data sheet)')
    parser.add_argument('--utilisation', type=float, default=0.4,
                        help='achieved fraction of the peak (assumed)')
    parser.add_argument('--frames', type=int, default=400 * 39 * 512,
                        help='samples of the schedule (400 epochs x 39 steps x 512)')
    parser.add_argument('--json', help='write the results here')
    parser.add_argument('--markdown', help='write the table here')
    return parser.parse_args(argv)


def model_cfg(arch: str, img_size: int) -> dict:
    """The Mask3D model config of ``arch`` (its config file where there is one)."""
    path = ARCH_CONFIG.format(arch)
    if arch != 'tiny' and osp.isfile(path):
        cfg = Config.fromfile(path).model
    else:
        cfg = Config.fromfile(BASE_MODEL).model
        if arch == 'tiny':
            cfg.backbone.arch = TINY['backbone']
            cfg.depth_encoder.update(TINY['depth_encoder'])
            cfg.neck.update(TINY['neck'], in_channels=64, depth_in_channels=32)
        else:
            from mmpretrain.models import VisionTransformer
            cfg.backbone.arch = arch
            cfg.neck.in_channels = VisionTransformer.arch_zoo[arch]['embed_dims']
    cfg.backbone.img_size = cfg.depth_encoder.img_size = img_size
    cfg.backbone.init_cfg = None
    return cfg.to_dict()


def _has_with_cp(cfg: dict) -> bool:
    from mask3d_mm.registry import MODELS
    return all('with_cp' in inspect.signature(MODELS.get(cfg[k]['type']).__init__).parameters
               for k in ('backbone', 'depth_encoder', 'neck'))


def build_model(arch: str, img_size: int, with_cp: bool) -> torch.nn.Module:
    """Mask3D of ``arch`` in training mode, every block checkpointed when ``with_cp``."""
    from mmengine.runner import turn_on_activation_checkpointing

    from mask3d_mm.registry import MODELS
    cfg = model_cfg(arch, img_size)
    native = _has_with_cp(cfg)
    if native:
        for k in ('backbone', 'depth_encoder', 'neck'):
            cfg[k]['with_cp'] = with_cp
    with DefaultScope.overwrite_default_scope(None), _bench().quiet_logger():
        model = MODELS.build(cfg)
        model.init_weights()
    if with_cp and not native:
        turn_on_activation_checkpointing(model, block_names(model))
    return model.train()


def block_names(model) -> List[str]:
    names = []
    for prefix in BLOCKS:
        parent = model.get_submodule(prefix.rsplit('.', 1)[0])
        names += [f'{prefix}.{i}' for i in range(len(getattr(parent, prefix.rsplit('.')[-1])))]
    return names


def make_batch(batch: int, img_size: int, patch: int, seed: int = 0):
    """Random preprocessed inputs and masks (same count per sample) of Mask3D."""
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    rgb = torch.randn(batch, 3, img_size, img_size, generator=g)
    depth = 0.5 + 4 * torch.rand(batch, 1, img_size, img_size, generator=g)
    depth[torch.rand(depth.shape, generator=g) < 0.1] = 0
    h = img_size // patch
    n_masked = h * h - int(h * h * (1 - MASK_RATIO))
    samples = []
    for _ in range(batch):
        ds = DataSample()
        for key in ('rgb_mask', 'depth_mask'):
            m = torch.zeros(h * h, dtype=torch.bool)
            m[torch.randperm(h * h, generator=g)[:n_masked]] = True
            ds.set_field(m.reshape(h, h), key)
        samples.append(ds)
    return [rgb, depth], samples


def count_params(model) -> Dict[str, int]:
    out = {name: sum(p.numel() for m in mods if hasattr(model, m)
                     for p in getattr(model, m).parameters())
           for name, mods in PARTS.items()}
    out['total'] = sum(p.numel() for p in model.parameters())
    return out


def count_flops(model, img_size: int, sdpa_rules: dict) -> int:
    """FLOPs of ``model.loss`` + backward for one sample."""
    inputs, samples = make_batch(1, img_size, model.patch_size)
    with FlopCounterMode(display=False, custom_mapping=sdpa_rules) as counter:
        model.loss(inputs, samples)['loss'].backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def saved_bytes(model, batch: int, img_size: int) -> Dict[str, float]:
    """Bytes saved for backward by one ``model.loss`` at ``batch``: ``outside`` the blocks,
    per block (``blocks``) and the storages of the blocks' inputs (``block_inputs``)."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: Dict[int, tuple] = {}
    current: List[Optional[str]] = [None]
    inputs_seen: Dict[int, int] = {}
    names = block_names(model)
    handles = []
    for name in names:
        block = model.get_submodule(name)

        def pre(mod, args, name=name):
            current[0] = name
            st = args[0].untyped_storage()
            inputs_seen[st.data_ptr()] = st.nbytes()

        def post(mod, args, out):
            current[0] = None

        handles += [block.register_forward_pre_hook(pre), block.register_forward_hook(post)]

    def pack(t):
        st = t.untyped_storage()
        if st.data_ptr() not in params and st.data_ptr() not in seen:
            seen[st.data_ptr()] = (current[0], st.nbytes())
        return t

    inputs, samples = make_batch(batch, img_size, model.patch_size)
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = model.loss(inputs, samples)['loss']
        del loss
    finally:
        for h in handles:
            h.remove()
    blocks = {n: 0 for n in names}
    outside = 0
    for ptr, (where, nbytes) in seen.items():
        if where is None:
            outside += nbytes
        else:
            blocks[where] += nbytes
    # block inputs the hooks did not see as saved (a checkpoint keeps them itself)
    extra_inputs = sum(n for ptr, n in inputs_seen.items() if ptr not in seen)
    return dict(outside=outside, blocks=blocks, block_inputs=extra_inputs)


def activations(arch: str, img_size: int) -> Dict[str, float]:
    """fp32 activation bytes per sample, without and with checkpointing (batch 2 - batch 1)."""
    out = {}
    plain = {b: saved_bytes(build_model(arch, img_size, False), b, img_size) for b in (1, 2)}
    d = {k: plain[2][k] - plain[1][k] for k in ('outside', 'block_inputs')}
    per_block = {n: plain[2]['blocks'][n] - plain[1]['blocks'][n] for n in plain[1]['blocks']}
    out['fp32_per_sample'] = d['outside'] + d['block_inputs'] + sum(per_block.values())
    out['largest_block_per_sample'] = max(per_block.values())
    model = build_model(arch, img_size, True)
    ck = {b: saved_bytes(model, b, img_size) for b in (1, 2)}
    kept = (ck[2]['outside'] - ck[1]['outside'] + ck[2]['block_inputs'] - ck[1]['block_inputs']
            + sum(ck[2]['blocks'].values()) - sum(ck[1]['blocks'].values()))
    out['fp32_ckpt_kept_per_sample'] = kept
    out['fp32_ckpt_per_sample'] = kept + out['largest_block_per_sample']
    out['ckpt_flops'] = count_flops(model, img_size, _bench().SDPA_CPU_FLOPS)
    out['ckpt_native'] = _has_with_cp(model_cfg(arch, img_size))
    return out


def largest_unit(model) -> int:
    """Parameters of the largest transformer block (an FSDP unit)."""
    return max(sum(p.numel() for p in model.get_submodule(n).parameters())
               for n in block_names(model))


def derive(r: dict, args) -> dict:
    """Computed columns of one arch from its measured ``r`` (bytes, FLOPs)."""
    GiB = 2**30
    P, unit = r['params']['total'], r['largest_unit_params']
    a = r['fp32_per_sample'] / 2  # bf16: half of fp32 (stated, not measured)
    a_ck = r['fp32_ckpt_per_sample'] / 2
    over = args.overhead_gib * GiB
    ddp_static = 20 * P + over
    out = dict(bf16_per_sample=a, bf16_ckpt_per_sample=a_ck, ddp_static_bytes=ddp_static,
               memory_per_gpu={}, wall_time_min={})
    for n in args.gpus:
        b = args.global_batch / n
        fsdp_static = 16 * P / n + 2 * 8 * unit + over
        out['memory_per_gpu'][n] = dict(
            batch_per_gpu=b, ddp=ddp_static + b * a, ddp_ckpt=ddp_static + b * a_ck,
            fsdp=fsdp_static + b * a, fsdp_ckpt=fsdp_static + b * a_ck)
        rate = n * args.peak_tflops * 1e12 * args.utilisation
        out['wall_time_min'][n] = dict(plain=r['flops_per_sample'] * args.frames / rate / 60,
                                       ckpt=r['ckpt_flops'] * args.frames / rate / 60)
    usable = args.usable * args.gpu_gib * GiB
    out['max_batch_ddp'] = int((usable - ddp_static) // a)
    out['max_batch_ddp_ckpt'] = int((usable - ddp_static) // a_ck)
    return out


def measure(arch: str, args) -> dict:
    torch.manual_seed(0)
    model = build_model(arch, args.img_size, False)
    r = dict(arch=arch, img_size=args.img_size, patch=model.patch_size,
             params=count_params(model),
             largest_unit_params=largest_unit(model),
             config=(osp.relpath(ARCH_CONFIG.format(arch), REPO)
                     if arch != 'tiny' and osp.isfile(ARCH_CONFIG.format(arch))
                     else f'{osp.relpath(BASE_MODEL, REPO)} with arch={arch!r}'))
    r['flops_per_sample'] = count_flops(model, args.img_size, _bench().SDPA_CPU_FLOPS)
    del model
    r.update(activations(arch, args.img_size))
    r.update(derive(r, args))
    return r


def markdown(results: List[dict], args) -> str:
    M, GiB = 1e6, 2**30
    lines = [
        f'Mask3D pre-training at {args.img_size}x{args.img_size}, masks 0.75 / 0.75 of the RGB '
        'and of the depth patches. [m] measured on CPU, [c] computed.', '',
        '| | ' + ' | '.join(f"ViT-{r['arch'].upper()}" for r in results) + ' |',
        '|---|' + '---|' * len(results)]

    def row(label, fn):
        lines.append(f'| {label} | ' + ' | '.join(fn(r) for r in results) + ' |')

    row('model config', lambda r: f"`{r['config']}`")
    row('patch size', lambda r: f"{r['patch']}")
    for key, label in (('colour_vit', 'colour ViT'), ('depth_encoder', 'depth encoder'),
                       ('decoder', 'decoder (neck + head)'), ('total', 'total')):
        row(f'[m] parameters, {label} (M)', lambda r, k=key: f"{r['params'][k] / M:.1f}")
    row('[m] train FLOPs per sample, forward + backward (GFLOP)',
        lambda r: f"{r['flops_per_sample'] / 1e9:.1f}")
    row('[m] same, every block checkpointed (GFLOP)', lambda r: f"{r['ckpt_flops'] / 1e9:.1f}")
    row('[m] activations per sample, fp32 (MiB)',
        lambda r: f"{r['fp32_per_sample'] / 2**20:.1f}")
    row('[m] activations per sample, fp32, every block checkpointed (MiB)',
        lambda r: f"{r['fp32_ckpt_per_sample'] / 2**20:.1f}")
    row('[c] activations per sample, bf16 = fp32 / 2 (MiB)',
        lambda r: f"{r['bf16_per_sample'] / 2**20:.1f}")
    row('[c] same, checkpointed (MiB)', lambda r: f"{r['bf16_ckpt_per_sample'] / 2**20:.1f}")
    for n in args.gpus:
        b = args.global_batch / n
        for key, label in (('ddp', 'DDP'), ('fsdp', 'FSDP'), ('ddp_ckpt', 'DDP, checkpointed'),
                           ('fsdp_ckpt', 'FSDP, checkpointed')):
            row(f'[c] memory per GPU, {n} GPUs x {b:g} samples, {label} (GiB)',
                lambda r, n=n, k=key: f"{r['memory_per_gpu'][n][k] / GiB:.1f}")
    row(f'[c] largest batch per {args.gpu_gib * 2**30 / 1e9:.0f} GB GPU, DDP',
        lambda r: f"{r['max_batch_ddp']}")
    row(f'[c] largest batch per {args.gpu_gib * 2**30 / 1e9:.0f} GB GPU, DDP, checkpointed',
        lambda r: f"{r['max_batch_ddp_ckpt']}")
    for n in args.gpus:
        row(f'[c] schedule wall time, {n} GPUs (min)',
            lambda r, n=n: f"{r['wall_time_min'][n]['plain']:.1f}")
        row(f'[c] same, checkpointed, {n} GPUs (min)',
            lambda r, n=n: f"{r['wall_time_min'][n]['ckpt']:.1f}")
    lines += ['', f'Schedule: {args.frames:,} samples (global batch {args.global_batch}); '
              f'{args.peak_tflops:g} TFLOP/s bf16 peak per GPU at {args.utilisation:g} '
              f'utilisation (assumed); {args.usable:g} of {args.gpu_gib:.1f} GiB usable; '
              f'{args.overhead_gib:g} GiB per GPU for the CUDA context (assumed). DDP: 20 P B '
              '+ b a; FSDP: 16 P / N + 16 P_unit + b a (P parameters, P_unit the largest '
              'block, b samples per GPU, a bf16 activations per sample).']
    return '\n'.join(lines) + '\n'


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    results = []
    for arch in args.archs:
        results.append(measure(arch, args))
        print(f"measured ViT-{arch}: {results[-1]['params']['total'] / 1e6:.1f} M parameters",
              flush=True)
    table = markdown(results, args)
    print(table)
    for path, text in ((args.markdown, table),
                       (args.json, json.dumps(dict(args=vars(args), results=results),
                                              indent=2))):
        if path:
            os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)
    return results


if __name__ == '__main__':
    main()
