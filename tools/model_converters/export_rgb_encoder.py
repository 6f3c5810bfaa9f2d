"""Write the color ViT of a Mask3D checkpoint as a tensor-only file for fine-tuning.

    python tools/model_converters/export_rgb_encoder.py work_dirs/vit-b_scannet/epoch_400.pth \
        checkpoints/mask3d_vit-b_scannet.pth

The checkpoint must hold a Mask3D model (or an mmpretrain MAE); the tool says what it found
otherwise. A color encoder with NaN or inf values (a diverged run) is refused, naming them. It
never writes over the checkpoint, nor over an existing file without ``--force``, and writes
atomically (a killed export leaves no half file).

The output loads with ``torch.load(..., weights_only=True)`` and strictly into
``mmpretrain.models.VisionTransformer``; use it in any mmseg / mmdet config as
``backbone=dict(type='mmpretrain.VisionTransformer', ...,
init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mask3d_vit-b_scannet.pth'))``.

Position embedding: ``--img-size H W`` (the fine-tuning input) writes it for that input's patch
grid, so it loads with no resize: the fixed sin-cos exactly, a learned one resized as the
pre-trained encoder itself resizes it. Without it, a square pre-training grid is kept and a
rectangular one (e.g. 96x128) is written for a square grid (8x8), since mmpretrain's ViT can
resize only square checkpoint grids to its input size.
"""
import argparse
from typing import Optional, Tuple

import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import torch
from mmengine.runner.checkpoint import CheckpointLoader

from mask3d_mm.atomic_write import atomic_output
from mask3d_mm.engine.nonfinite import describe_nonfinite, find_nonfinite
from mask3d_mm.models.export import (describe_checkpoint, export_grid, extract_rgb_encoder,
                                     pos_embed_source_grid)
from mask3d_mm.models.utils.pos_embed_grid import find_sincos_grid
from mask3d_mm.tooling import check_output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='Mask3D checkpoint written by tools/train.py')
    parser.add_argument('out', help='output .pth (tensors only)')
    parser.add_argument('--force', action='store_true', help='overwrite an existing output file')
    parser.add_argument('--img-size', type=int, nargs='+', metavar='SIZE',
                        help='fine-tuning input H [W] (W defaults to H): pos_embed written for '
                        'its patch grid (default: as trained if square, else a square grid)')
    args = parser.parse_args()
    if args.img_size is not None and len(args.img_size) not in (1, 2):
        parser.error('--img-size takes H or H W')
    check_output(args.out, args.force, inputs=[args.checkpoint])
    ckpt = CheckpointLoader.load_checkpoint(args.checkpoint, map_location='cpu')
    source = ckpt.get('state_dict', ckpt)
    try:
        state_dict = extract_rgb_encoder(source)
    except KeyError as e:
        raise KeyError(f'{args.checkpoint}: {e.args[0]}') from None
    bad, total = find_nonfinite(state_dict)
    if bad:
        raise ValueError(f'{args.checkpoint}: not exported, the color encoder is not finite '
                         f'({describe_nonfinite(bad, total)}): the run had diverged when it '
                         'saved this checkpoint; export an earlier one')
    grid, source_grid, grid_note = plan_grid(args, state_dict, ckpt.get('meta'))
    if grid is not None:
        state_dict = extract_rgb_encoder(source, grid=grid, source_grid=source_grid)
    kind, found = describe_checkpoint(source)
    if kind != 'mask3d':
        print(f'{args.checkpoint}: {found}, not a Mask3D one; exporting its ViT backbone')
    with atomic_output(args.out) as tmp:
        torch.save(dict(state_dict=state_dict), tmp)
    n = sum(v.numel() for v in state_dict.values())
    print(f'wrote {len(state_dict)} tensors ({n / 1e6:.1f} M parameters) of the color encoder '
          f'to {args.out}; {grid_note}')


def plan_grid(args: argparse.Namespace, state_dict: dict, meta: Optional[dict]
              ) -> Tuple[Optional[Tuple[int, int]], Optional[Tuple[int, int]], str]:
    """(grid to write pos_embed for or None, its trained grid, what the log says)."""
    pos_embed = state_dict['pos_embed']
    p = state_dict['patch_embed.projection.weight'].shape[-1]
    source = pos_embed_source_grid(pos_embed, p, meta)
    img_size = None if args.img_size is None else (args.img_size * 2)[:2]
    grid = export_grid(source, p, img_size)
    n = pos_embed.shape[1] - 1
    if grid is None and source is None:
        print(f'warning: {args.checkpoint}: the grid of its pos_embed ({n} positions, not the '
              'fixed sin-cos, no model.backbone.img_size in the checkpoint) is unknown: written '
              'as trained, it loads only at an input of that many patches')
        return None, None, f'pos_embed as trained ({n} positions)'
    if grid is None:
        return None, source, f'pos_embed as trained ({source[0]}x{source[1]} patches)'
    if source is None:
        raise ValueError(f'{args.checkpoint}: cannot write pos_embed for a {grid[0]}x{grid[1]} '
                         f'grid: it has {n} positions, is not the fixed sin-cos, and the '
                         'checkpoint has no meta.cfg with model.backbone.img_size')
    how = 'the fixed sin-cos rebuilt' if find_sincos_grid(pos_embed) else 'resized'
    return grid, source, (f'pos_embed of the {source[0]}x{source[1]} patch grid written for '
                          f'{grid[0]}x{grid[1]} ({how})')


if __name__ == '__main__':
    main()
