"""Rename an mmseg ViT checkpoint's tensors as mmpretrain's VisionTransformer (Mask3DViT) has them.

    python tools/model_converters/mmseg_vit_to_mmpretrain.py upernet_vit-b16_ade20k.pth \
        checkpoints/vit-b16_ade20k_mmpretrain.pth

mmseg's ViT names its attention ``layers.N.attn.attn.in_proj_weight`` / ``out_proj`` (torch's
``nn.MultiheadAttention``), mmpretrain's ``layers.N.attn.qkv`` / ``proj``; the tensors are the
same (q, k, v in one matrix, same order). A missing patch-embedding bias (mmseg's default
``patch_bias=False``) is written as zeros, which computes the same. Other keys (any prefix such
as ``backbone.``, heads) pass unchanged, so the output is used like the input, e.g.
``init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.')``. A checkpoint of a ViT
without final norm (``final_norm=False`` in mmseg's configs) has no ``ln1``: set
``final_norm=False`` on the encoder that loads it. For timm / DeiT names (``blocks.N.norm1``)
use mmpretrain's ``tools/model_converters/deit3_to_mmpretrain.py``.

Never writes over the input, nor over an existing file without ``--force``; the output holds
tensors only (``torch.load(..., weights_only=True)``).
"""
import argparse

import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import torch
from mmengine.runner.checkpoint import CheckpointLoader

from mask3d_mm.atomic_write import atomic_output
from mask3d_mm.models.utils.vit_names import mmseg_vit_to_mmpretrain, vit_naming
from mask3d_mm.tooling import check_output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='checkpoint with mmseg ViT names (path or URL)')
    parser.add_argument('out', help='output .pth (tensors only)')
    parser.add_argument('--force', action='store_true', help='overwrite an existing output file')
    args = parser.parse_args()
    check_output(args.out, args.force, inputs=[args.checkpoint])
    ckpt = CheckpointLoader.load_checkpoint(args.checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    naming = vit_naming(state)
    if naming != 'mmseg':
        raise ValueError(f'{args.checkpoint}: no mmseg ViT names (layers.N.attn.attn.in_proj_*) '
                         f'in it; its ViT naming looks like {naming!r}')
    out = mmseg_vit_to_mmpretrain(state)
    with atomic_output(args.out) as tmp:
        torch.save(dict(state_dict=out), tmp)
    renamed = sum(a != b for a, b in zip(state, out))
    print(f'wrote {len(out)} tensors to {args.out} ({renamed} renamed, '
          f'{len(out) - len(state)} zero patch-embedding bias added)')


if __name__ == '__main__':
    main()
