import pytest
import torch

from mask3d_mm.models import DepthDecoder


def decoder(**kwargs):
    torch.manual_seed(0)
    kwargs = {**dict(in_channels=64, depth_in_channels=32, embed_dims=32, num_layers=1,
                     num_heads=2, patch_size=16), **kwargs}
    model = DepthDecoder(**kwargs)
    model.init_weights()
    model.eval()
    return model


def latents(grid=(2, 3), seed=0):
    g = torch.Generator().manual_seed(seed)
    rgb_ids = torch.tensor([[0, 2], [1, 5]])
    depth_ids = torch.tensor([[2, 4], [0, 3]])
    return (torch.randn(2, 3, 64, generator=g), rgb_ids, torch.randn(2, 2, 32, generator=g),
            depth_ids, grid)


@pytest.mark.parametrize('fusion', ['add', 'concat'])
def test_output_shape(fusion):
    assert decoder(fusion=fusion)(*latents()).shape == (2, 6, 16 * 16)
    assert decoder(fusion=fusion, out_channels=4)(*latents()).shape == (2, 6, 16 * 16 * 4)


@pytest.mark.parametrize('fusion', ['add', 'concat'])
def test_rectangular_grid(fusion):
    rgb_ids = torch.arange(0, 24, 2).expand(2, -1)
    depth_ids = torch.arange(1, 24, 4).expand(2, -1)
    out = decoder(fusion=fusion)(torch.randn(2, 13, 64), rgb_ids, torch.randn(2, 6, 32),
                                 depth_ids, (4, 6))
    assert out.shape == (2, 24, 256)


def test_add_fusion_places_tokens_at_their_positions():
    """Permuting the visible tokens together with their ids changes nothing."""
    model = decoder()
    rgb, rgb_ids, dep, dep_ids, grid = latents()
    ref = model(rgb, rgb_ids, dep, dep_ids, grid)
    perm = torch.tensor([1, 0])
    out = model(torch.cat([rgb[:, :1], rgb[:, 1:][:, perm]], 1), rgb_ids[:, perm],
                dep[:, perm], dep_ids[:, perm], grid)
    torch.testing.assert_close(out, ref)
    # a depth token moved to another position changes the prediction
    moved = dep_ids.clone()
    moved[0, 0] = 5
    assert not torch.allclose(model(rgb, rgb_ids, dep, moved, grid), ref)


def test_concat_has_modality_embeddings():
    names = dict(decoder(fusion='concat').named_parameters())
    assert {'rgb_type_embed', 'depth_type_embed', 'mask_token'} <= set(names)
    assert 'rgb_type_embed' not in dict(decoder().named_parameters())
    with pytest.raises(ValueError, match='fusion'):
        DepthDecoder(fusion='cross')
