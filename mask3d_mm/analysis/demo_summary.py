"""The summary of ``tools/demo.py``: the masked-depth reconstruction of its pre-trained model
under several validation mask seeds against the nearest-visible baselines, and the mIoU of its
fine-tuning, as ``work_dirs/demo/summary.json`` and the markdown the README shows."""
from typing import Dict, Mapping, Optional

import numpy as np

__all__ = ['FORMAT', 'ROWS', 'METRICS', 'demo_summary', 'demo_tables', 'per_seed_from_files']

FORMAT = 'mask3d_mm.demo_summary/v1'

# row id -> (metric key pattern of DepthReconstructionMetric, label)
ROWS = {
    'mask3d': ('depth/masked/{}', 'Mask3D, metres with visible-depth statistics'),
    'mask3d_aligned': ('depth/masked/aligned_{}',
                       'Mask3D, scale-and-shift aligned on the visible pixels'),
    'patch': ('depth/patch_baseline/{}', 'nearest visible patch (its median depth)'),
    'pixel': ('depth/pixel_baseline/{}', 'nearest visible pixel (a copy of it)'),
}
# metric -> (label, higher is better, decimals)
METRICS = {'abs_rel': ('AbsRel', False, 3), 'rmse': ('RMSE (m)', False, 3),
           'delta1': ('delta<1.25', True, 3)}
# (model row, baseline row) orderings the summary counts over the mask seeds
ORDERINGS = (('mask3d', 'patch'), ('mask3d', 'pixel'), ('mask3d_aligned', 'pixel'))


def demo_summary(per_seed: Mapping[int, Mapping[str, float]], miou: Optional[float],
                 **info) -> dict:
    """The demo's summary (JSON-ready).

    Args:
        per_seed (Mapping[int, Mapping[str, float]]): mask seed -> the metrics of
            ``tools/test.py`` on the validation frames with that seed's masks.
        miou (float, optional): mIoU (%) of the fine-tuned UperNet; None when skipped.
        **info: provenance kept as given (command, code commit, wall time, iterations, ...).

    Returns:
        dict: ``per_seed`` (seed -> row -> metric -> value), ``mIoU`` and ``info``.
    """
    rows = {}
    for seed, metrics in sorted(per_seed.items()):
        rows[str(seed)] = {row: {m: float(metrics[key.format(m)]) for m in METRICS}
                           for row, (key, _) in ROWS.items()}
    return dict(format=FORMAT, per_seed=rows,
                mIoU=None if miou is None else float(miou), info=info)


def _values(summary: dict, row: str, metric: str) -> np.ndarray:
    return np.array([s[row][metric] for s in summary['per_seed'].values()], dtype=float)


def demo_tables(summary: dict) -> str:
    """The markdown of :func:`demo_summary`'s numbers: mean +- std and range over the mask
    seeds per row, on how many seeds the model beats each baseline, and the mIoU."""
    info = summary['info']
    n = len(summary['per_seed'])
    head = (f"| masked depth patches ({info['val_frames']}, held out), {n} mask seeds: "
            f"mean +- std (min-max) | "
            + ' | '.join(label for label, _, _ in METRICS.values()) + ' |')
    lines = [head, '|---|' + '---|' * len(METRICS)]
    for row, (_, label) in ROWS.items():
        cells = []
        for m, (_, _, d) in METRICS.items():
            v = _values(summary, row, m)
            std = v.std(ddof=1) if n > 1 else float('nan')
            cells.append(f'{v.mean():.{d}f} +- {std:.{d}f} ({v.min():.{d}f}-{v.max():.{d}f})')
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    lines += ['', '| better than the baseline on k of the mask seeds | '
              + ' | '.join(label for label, _, _ in METRICS.values()) + ' |',
              '|---|' + '---|' * len(METRICS)]
    for model, base in ORDERINGS:
        cells = []
        for m, (_, higher, _) in METRICS.items():
            diff = _values(summary, model, m) - _values(summary, base, m)
            cells.append(f'{int(np.sum(diff > 0 if higher else diff < 0))}/{n}')
        lines.append(f"| Mask3D{', aligned' if 'aligned' in model else ''} vs "
                     f"{ROWS[base][1].split(' (')[0]} | "
                     + ' | '.join(cells) + ' |')
    lines.append('')
    lines.append(f"Model: the tiny ViT after {info['pretrain_iters']} pre-training iterations "
                 '(one run). ')
    if summary['mIoU'] is not None:
        seed = info.get('finetune_seed')
        lines[-1] += (f"UperNet fine-tuned from its encoder for {info['finetune_iters']} "
                      f"iterations (one run{'' if seed is None else f', seed {seed}'}): "
                      f"**{summary['mIoU']:.1f} mIoU** on the validation scenes.")
    lines[-1] = lines[-1].rstrip()
    return '\n'.join(lines)


def per_seed_from_files(files: Mapping[int, str]) -> Dict[int, Dict[str, float]]:
    """Mask seed -> the metrics JSON that ``tools/test.py --out`` wrote for it."""
    import json
    out = {}
    for seed, path in files.items():
        with open(path) as f:
            out[seed] = json.load(f)
    return out
