"""Mask3DViT's checkpoint loading: a tensor left at its init is an error naming it (or, with
allow_partial, a warning), the naming of mmseg / timm checkpoints is recognised and converted,
what is ignored is counted, rectangular sin-cos grids are rebuilt."""
import importlib.util
import os.path as osp
import re

import mmpretrain
import pytest
import torch
from mmpretrain.models import VisionTransformer

from helpers.tools import capture_log, run_tool_main
from mask3d_mm.models import Mask3DViT
from mask3d_mm.models.utils import build_2d_sincos_pos_embed
from mask3d_mm.models.utils.vit_names import summarize_keys, vit_naming

TINY = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)


def mask3d_vit(path=None, img_size=(32, 48), **init):
    torch.manual_seed(0)
    init_cfg = None if path is None else dict(type='Pretrained', checkpoint=path, **init)
    return Mask3DViT(arch=TINY, img_size=img_size, init_cfg=init_cfg)


def mmseg_vit(final_norm=True):
    """mmseg's own ViT of the tiny arch (its names, no patch bias by default)."""
    from mmseg.models.backbones import VisionTransformer as MMSegViT
    torch.manual_seed(1)
    vit = MMSegViT(img_size=(32, 48), patch_size=16, embed_dims=64, num_layers=2, num_heads=2,
                   mlp_ratio=2, out_indices=(1, ), final_norm=final_norm, with_cls_token=True,
                   norm_cfg=dict(type='LN', eps=1e-6), interpolate_mode='bicubic')
    vit.init_weights()
    vit.eval()  # mmseg's ViT.train() does not return self
    return vit


def save_upernet_like(path, vit) -> dict:
    """An mmseg EncoderDecoder-like checkpoint: backbone.* (mmseg names) + decode_head.*."""
    state = {f'backbone.{k}': v for k, v in vit.state_dict().items()}
    state['decode_head.conv_seg.weight'] = torch.zeros(3, 8, 1, 1)
    state['decode_head.conv_seg.bias'] = torch.zeros(3)
    torch.save(dict(state_dict=state, meta=dict()), path)
    return state


def test_mmseg_named_checkpoint_is_an_error_naming_keys_prefix_and_converter(tmp_path):
    path = str(tmp_path / 'upernet_vit.pth')
    save_upernet_like(path, mmseg_vit())
    model = mask3d_vit(path, prefix='backbone.')
    with pytest.raises(RuntimeError) as err:
        model.init_weights()
    msg = str(err.value)
    # 2 blocks x 4 attention tensors + the patch bias that mmseg's ViT lacks
    assert f"9 of the 30 tensors of the encoder are not in {path} (prefix 'backbone.')" in msg
    assert 'layers.N.attn.qkv.weight (x2)' in msg and 'patch_embed.projection.bias' in msg
    assert 'layers.N.attn.attn.in_proj_weight (x2)' in msg  # what it has instead
    assert 'tools/model_converters/mmseg_vit_to_mmpretrain.py' in msg
    assert 'allow_partial=True' in msg


def test_allow_partial_loads_what_is_there_and_warns(tmp_path):
    path = str(tmp_path / 'upernet_vit.pth')
    state = save_upernet_like(path, mmseg_vit())
    model = mask3d_vit(path, prefix='backbone.', allow_partial=True)
    log = capture_log(model.init_weights)
    assert "loaded 21/30 tensors" in log
    assert 'ignored 2 tensors outside the prefix (decode_head: 2)' in log
    assert 'and 8 under it that the encoder has no parameter for' in log
    assert re.search(r'allow_partial: 9 tensors NOT in .*left at their init: \[.*'
                     r'layers\.N\.attn\.qkv\.weight \(x2\)', log), log
    torch.testing.assert_close(model.layers[1].ffn.layers[1].weight,
                               state['backbone.layers.1.ffn.layers.1.weight'])
    assert not torch.equal(model.layers[0].attn.qkv.weight,
                           state['backbone.layers.0.attn.attn.in_proj_weight'])


def test_unknown_pretrained_init_key_is_refused(tmp_path):
    path = str(tmp_path / 'upernet_vit.pth')
    save_upernet_like(path, mmseg_vit())
    with pytest.raises(TypeError, match=r"takes no \['allow_partail'\]"):
        mask3d_vit(path, allow_partail=True).init_weights()


def test_mmseg_converter_gives_the_same_encoder(tmp_path):
    """The converted checkpoint loads fully, and the encoder computes what mmseg's did."""
    src, out = str(tmp_path / 'upernet_vit.pth'), str(tmp_path / 'converted.pth')
    seg = mmseg_vit()
    save_upernet_like(src, seg)
    run_tool_main('model_converters/mmseg_vit_to_mmpretrain', src, out)
    assert torch.load(out, weights_only=True)['state_dict']['decode_head.conv_seg.bias'].shape \
        == (3, )
    model = mask3d_vit(out, prefix='backbone.')
    log = capture_log(model.init_weights)
    assert "loaded 30/30 tensors" in log and 'ignored 2 tensors outside the prefix' in log
    vit = VisionTransformer(arch=TINY, img_size=(32, 48), out_type='featmap', out_indices=(1, ))
    vit.load_state_dict(model.state_dict(), strict=True)
    vit.eval()
    x = torch.randn(2, 3, 32, 48)
    torch.testing.assert_close(vit(x)[0], seg(x)[0], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match='no mmseg ViT names'):
        run_tool_main('model_converters/mmseg_vit_to_mmpretrain', out, str(tmp_path / 'b.pth'))


def test_mmseg_vit_without_final_norm_names_ln1(tmp_path):
    src, out = str(tmp_path / 'no_norm.pth'), str(tmp_path / 'converted.pth')
    save_upernet_like(src, mmseg_vit(final_norm=False))
    run_tool_main('model_converters/mmseg_vit_to_mmpretrain', src, out)
    with pytest.raises(RuntimeError, match=r"2 of the 30 tensors .*\[ln1.weight, ln1.bias\]"):
        mask3d_vit(out, prefix='backbone.').init_weights()


def test_timm_names_get_the_hint_that_converts_them(tmp_path):
    """timm names (made from an mmpretrain ViT by the inverse renaming) are recognised, and
    the converter the error names (mmpretrain's deit3_to_mmpretrain) turns them back."""
    torch.manual_seed(2)
    ref = VisionTransformer(arch=TINY, img_size=(32, 48)).state_dict()
    inverse = (('layers.', 'blocks.'), ('.ln1.', '.norm1.'), ('.ln2.', '.norm2.'),
               ('ffn.layers.0.0', 'mlp.fc1'), ('ffn.layers.1', 'mlp.fc2'),
               ('patch_embed.projection', 'patch_embed.proj'))
    timm = {}
    for k, v in ref.items():
        k = 'norm.' + k[4:] if k.startswith('ln1.') else k
        for a, b in inverse:
            k = k.replace(a, b)
        timm[k] = v
    assert vit_naming(timm) == 'timm' and 'blocks.0.attn.qkv.weight' in timm
    path = str(tmp_path / 'timm_vit.pth')
    torch.save(timm, path)
    with pytest.raises(RuntimeError, match=r'timm / DeiT names .*deit3_to_mmpretrain.py'):
        mask3d_vit(path).init_weights()

    script = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools', 'model_converters',
                      'deit3_to_mmpretrain.py')
    spec = importlib.util.spec_from_file_location('deit3_to_mmpretrain', script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    converted = str(tmp_path / 'converted.pth')
    torch.save(module.convert_deit3(timm), converted)
    model = mask3d_vit(converted, prefix='backbone.')
    model.init_weights()
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, ref[k], msg=k)


def test_ignored_tensors_of_an_mae_checkpoint_are_counted(tmp_path):
    """An MAE checkpoint: its decoder (neck.*) is counted as outside the prefix; a tensor
    under the prefix that the encoder lacks is counted and named."""
    from mmpretrain.models import MAEPretrainDecoder
    torch.manual_seed(3)
    vit = VisionTransformer(arch=TINY, img_size=(32, 48))
    decoder = MAEPretrainDecoder(num_patches=6, patch_size=16, embed_dim=64,
                                 decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=2)
    state = {f'backbone.{k}': v for k, v in vit.state_dict().items()}
    neck = {f'neck.{k}': v for k, v in decoder.state_dict().items()}
    state.update(neck)
    state['backbone.ln2.weight'] = torch.ones(64)  # e.g. a ViT of out_type='avg_featmap'
    path = str(tmp_path / 'mae.pth')
    torch.save(dict(state_dict=state), path)
    model = mask3d_vit(path, prefix='backbone.')
    log = capture_log(model.init_weights)
    assert (f"loaded 30/30 tensors from {path} (prefix 'backbone.'); ignored {len(neck)} "
            f'tensors outside the prefix (neck: {len(neck)}) and 1 under it that the encoder '
            'has no parameter for: [ln2.weight]') in log, log


def test_rectangular_sincos_is_rebuilt_and_another_rectangular_embedding_refused(tmp_path):
    """An encoder of a 2x3 grid (32x48) loads into a 3x4 one (48x64): the fixed sin-cos is
    rebuilt for 3x4 (mmpretrain's hook would take the 6 positions for a square grid)."""
    src = mask3d_vit()
    src.init_weights()
    path = str(tmp_path / 'encoder_2x3.pth')
    torch.save(src.state_dict(), path)
    model = mask3d_vit(path, img_size=(48, 64))
    model.init_weights()
    torch.testing.assert_close(model.pos_embed.data,
                               build_2d_sincos_pos_embed((3, 4), 64, cls_token=True))
    torch.testing.assert_close(model.layers[0].attn.qkv.weight, src.layers[0].attn.qkv.weight)
    learned = src.state_dict()
    learned['pos_embed'] = torch.randn_like(learned['pos_embed'])
    torch.save(learned, path)
    with pytest.raises(RuntimeError, match=r'encoder_2x3.pth \(6 positions\).*--img-size'):
        mask3d_vit(path, img_size=(48, 64)).init_weights()


def test_summarize_keys_folds_block_indices():
    keys = [f'layers.{i}.attn.qkv.weight' for i in range(12)] + ['ln1.weight']
    assert summarize_keys(keys) == '[layers.N.attn.qkv.weight (x12), ln1.weight]'
    assert summarize_keys([f'k{i}' for i in range(5)], limit=2) == '[k0, k1, ... (3 more)]'
