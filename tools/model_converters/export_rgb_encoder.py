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
"""
import argparse

import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import torch
from mmengine.runner.checkpoint import CheckpointLoader

from mask3d_mm.atomic_write import atomic_output
from mask3d_mm.engine.nonfinite import describe_nonfinite, find_nonfinite
from mask3d_mm.models.export import describe_checkpoint, extract_rgb_encoder
from mask3d_mm.tooling import check_output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='Mask3D checkpoint written by tools/train.py')
    parser.add_argument('out', help='output .pth (tensors only)')
    parser.add_argument('--force', action='store_true', help='overwrite an existing output file')
    args = parser.parse_args()
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
    kind, found = describe_checkpoint(source)
    if kind != 'mask3d':
        print(f'{args.checkpoint}: {found}, not a Mask3D one; exporting its ViT backbone')
    with atomic_output(args.out) as tmp:
        torch.save(dict(state_dict=state_dict), tmp)
    n = sum(v.numel() for v in state_dict.values())
    print(f'wrote {len(state_dict)} tensors ({n / 1e6:.1f} M parameters) of the color encoder '
          f'to {args.out}')


if __name__ == '__main__':
    main()
