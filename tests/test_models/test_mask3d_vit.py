import pytest
import torch
from mmpretrain.models import VisionTransformer
from mmpretrain.models.utils import build_2d_sincos_position_embedding

from mask3d_mm.models import Mask3DViT
from mask3d_mm.models.utils import build_2d_sincos_pos_embed, mask_to_ids

TINY = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)


def tiny_vit(**kwargs):
    torch.manual_seed(0)
    model = Mask3DViT(arch=TINY, img_size=kwargs.pop('img_size', (32, 48)), **kwargs)
    model.init_weights()
    model.eval()  # VisionTransformer.train() does not return self
    return model


def test_state_dict_loads_strict_into_vision_transformer():
    model = tiny_vit()
    vit = VisionTransformer(arch=TINY, img_size=(32, 48), out_type='raw')
    vit.eval()
    vit.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 48)
    torch.testing.assert_close(vit(x)[0], model(x)[0])


def test_state_dict_keys_match_vit_b():
    with torch.device('meta'):
        ours = Mask3DViT(arch='b', img_size=224).state_dict()
        ref = VisionTransformer(arch='b', img_size=224).state_dict()
    assert set(ours) == set(ref)
    assert all(ours[k].shape == ref[k].shape for k in ref)


def test_masked_forward_shapes_and_ids():
    model = tiny_vit()
    mask = torch.tensor([[True, False, True, False, True, True],
                         [False, False, True, True, True, True]])
    latent, ids = model(torch.randn(2, 3, 32, 48), mask)
    assert latent.shape == (2, 1 + 2, 64)
    assert ids.tolist() == [[1, 3], [0, 1]]
    # (B, h, w) masks work too
    latent2, ids2 = model(torch.randn(2, 3, 32, 48), mask.reshape(2, 2, 3))
    assert latent2.shape == latent.shape and torch.equal(ids2, ids)


def test_masked_patches_never_reach_the_encoder():
    model = tiny_vit()
    x = torch.randn(1, 3, 32, 48)
    mask = torch.tensor([[True, False, True, False, True, False]])  # 2x3 grid
    ref, _ = model(x, mask)
    hidden = x.clone()
    hidden[..., 0:16, 0:16] = 100.  # patch 0: masked
    hidden[..., 16:32, 16:32] = -7.  # patch 4: masked
    torch.testing.assert_close(model(hidden, mask)[0], ref, rtol=0, atol=0)
    visible = x.clone()
    visible[..., 0:16, 16:32] += 1.  # patch 1: visible
    assert not torch.allclose(model(visible, mask)[0], ref)


def test_all_visible_mask_equals_plain_forward():
    model = tiny_vit()
    x = torch.randn(2, 3, 32, 48)
    latent, ids = model(x, torch.zeros(2, 6, dtype=torch.bool))
    assert torch.equal(ids, torch.arange(6).expand(2, -1))
    torch.testing.assert_close(latent, model(x)[0])


def test_rectangular_input_resizes_pos_embed():
    model = tiny_vit(img_size=64)  # 4x4 grid, fed 64x96 (4x6) and 32x48 (2x3)
    for size, grid in (((64, 96), 24), ((32, 48), 6)):
        x = torch.randn(2, 3, *size)
        mask = torch.zeros(2, grid, dtype=torch.bool)
        mask[:, :grid // 2] = True
        latent, ids = model(x, mask)
        assert latent.shape == (2, 1 + grid - grid // 2, 64)
        assert model(x)[0].shape == (2, 1 + grid, 64)


def test_sincos_pos_embed():
    ours = build_2d_sincos_pos_embed((4, 4), 32, cls_token=True)
    torch.testing.assert_close(ours, build_2d_sincos_position_embedding(4, 32, cls_token=True))
    rect = build_2d_sincos_pos_embed((2, 3), 16)[0].reshape(2, 3, 16)
    # first half encodes the row, second half the column
    assert torch.equal(rect[0, 0, :8], rect[0, 2, :8])
    assert torch.equal(rect[0, 0, 8:], rect[1, 0, 8:])
    assert not torch.equal(rect[0, 0, :8], rect[1, 0, :8])
    model = tiny_vit()
    torch.testing.assert_close(model.pos_embed.data,
                               build_2d_sincos_pos_embed((2, 3), 64, cls_token=True))
    assert not model.pos_embed.requires_grad
    assert Mask3DViT(arch=TINY, learnable_pos_embed=True).pos_embed.requires_grad


def test_mask_to_ids_keeps_order():
    mask = torch.tensor([[False, True, False, True], [True, True, False, False]])
    assert mask_to_ids(mask).tolist() == [[0, 2], [2, 3]]



def _save_classifier_ckpt(path, img_size):
    torch.manual_seed(1)
    vit = VisionTransformer(arch=TINY, img_size=img_size)
    state = {f'backbone.{k}': v for k, v in vit.state_dict().items()}
    state['head.layers.head.weight'] = torch.zeros(10, 64)
    torch.save(dict(state_dict=state, meta=dict(epoch=1)), path)
    return vit.state_dict()


def test_pretrained_init_with_prefix(tmp_path):
    path = str(tmp_path / 'vit_in1k.pth')
    ref = _save_classifier_ckpt(path, (32, 48))
    model = Mask3DViT(arch=TINY, img_size=(32, 48),
                      init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    model.init_weights()
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, ref[k], msg=k)  # pos_embed not replaced by sin-cos


def test_pretrained_init_resizes_square_checkpoint(tmp_path):
    path = str(tmp_path / 'vit_64.pth')
    _save_classifier_ckpt(path, 64)  # 4x4 grid -> model 2x3
    model = Mask3DViT(arch=TINY, img_size=(32, 48),
                      init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    model.init_weights()
    assert model.pos_embed.shape == (1, 7, 64)


def test_pretrained_missing_file_raises(tmp_path):
    path = str(tmp_path / 'no_such_ckpt.pth')
    model = Mask3DViT(arch=TINY, init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(FileNotFoundError, match='no_such_ckpt.pth'):
        model.init_weights()


def test_pretrained_bare_keys_and_none(tmp_path):
    """An exported encoder (bare VisionTransformer keys) loads although prefix='backbone.';
    checkpoint=None keeps the random init."""
    path = str(tmp_path / 'encoder.pth')
    torch.manual_seed(1)
    ref = VisionTransformer(arch=TINY, img_size=(32, 48)).state_dict()
    torch.save(ref, path)
    model = Mask3DViT(arch=TINY, img_size=(32, 48),
                      init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    model.init_weights()
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, ref[k], msg=k)
    scratch = Mask3DViT(arch=TINY, img_size=(32, 48),
                        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.'))
    scratch.init_weights()
    assert not torch.equal(scratch.layers[0].attn.qkv.weight, ref['layers.0.attn.qkv.weight'])


def test_pretrained_foreign_checkpoint_raises(tmp_path):
    path = str(tmp_path / 'upernet.pth')
    torch.save(dict(state_dict={'decode_head.conv_seg.weight': torch.zeros(3, 4)}), path)
    model = Mask3DViT(arch=TINY, img_size=(32, 48),
                      init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    with pytest.raises(RuntimeError, match='no tensor of the encoder.*upernet.pth'):
        model.init_weights()


def test_pretrained_other_arch_raises(tmp_path):
    path = str(tmp_path / 'vit_wide.pth')
    wide = dict(TINY, embed_dims=128, feedforward_channels=256)
    torch.save(VisionTransformer(arch=wide, img_size=(32, 48)).state_dict(), path)
    model = Mask3DViT(arch=TINY, img_size=(32, 48),
                      init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(RuntimeError, match='vit_wide.pth does not fit this encoder'):
        model.init_weights()


def test_other_grid_gets_exact_sincos_unless_loaded(tmp_path):
    """img_size 32x48 (2x3 patches), input 64x80 (4x5): the fixed sin-cos is rebuilt for 4x5,
    exactly the decoder's; a loaded (ImageNet) or learnable one is resized."""
    model = tiny_vit()
    captured = {}
    hook = model.pre_norm.register_forward_hook(lambda m, i, o: captured.update(x=i[0]))
    x = torch.randn(1, 3, 64, 80)
    mask = torch.zeros(1, 20, dtype=torch.bool)  # all visible
    model(x, mask)
    tokens, _ = model.patch_embed(x)
    exact = build_2d_sincos_pos_embed((4, 5), 64, cls_token=True)
    torch.testing.assert_close(captured['x'][:, 1:], tokens + exact[:, 1:])
    path = str(tmp_path / 'vit_in1k.pth')
    _save_classifier_ckpt(path, (32, 48))
    loaded = Mask3DViT(arch=TINY, img_size=(32, 48),
                       init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    loaded.init_weights()
    assert model.exact_sincos and not loaded.exact_sincos
    assert not Mask3DViT(arch=TINY, learnable_pos_embed=True).exact_sincos
    hook.remove()
