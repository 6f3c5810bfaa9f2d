import pytest
import torch

from mask3d_mm.models import DepthEncoder


def encoder(**kwargs):
    torch.manual_seed(0)
    kwargs = {**dict(img_size=(32, 48), embed_dims=32, num_layers=1, num_heads=2), **kwargs}
    model = DepthEncoder(**kwargs)
    model.init_weights()
    model.eval()
    return model


def test_defaults_are_light():
    model = DepthEncoder()
    assert model.patch_embed.projection.in_channels == 1
    assert model.embed_dims == 256 and len(model.layers) == 4
    assert sum(p.numel() for p in model.parameters()) < 4e6


def test_forward_visible_only():
    model = encoder()
    depth = 1 + torch.rand(2, 1, 32, 48)
    mask = torch.tensor([[True, False, True, False, True, True],
                         [False, True, True, True, False, True]])
    latent, ids = model(depth, mask)
    assert latent.shape == (2, 2, 32) and ids.tolist() == [[1, 3], [0, 4]]
    full, ids_all = model(depth)
    assert full.shape == (2, 6, 32) and torch.equal(ids_all, torch.arange(6).expand(2, -1))
    changed = depth.clone()
    changed[0, :, 0:16, 0:16] = 3.  # masked patch of sample 0
    torch.testing.assert_close(model(changed, mask)[0], latent, rtol=0, atol=0)
    changed[0, :, 0:16, 16:32] = 3.  # visible patch of sample 0
    assert not torch.allclose(model(changed, mask)[0][0], latent[0])


def test_normalisation_and_valid_channel():
    model = encoder(with_valid_channel=True, max_depth=10.)
    depth = torch.tensor([0., 5., 12., float('nan')]).view(1, 1, 2, 2)
    x = model.normalize_depth(depth)
    assert x.shape == (1, 2, 2, 2)
    assert x[0, 0].flatten().tolist() == [0., 0.5, 0., 0.]
    assert x[0, 1].flatten().tolist() == [0., 1., 0., 0.]
    assert model.patch_embed.projection.in_channels == 2
    assert model(torch.rand(1, 1, 32, 48))[0].shape == (1, 6, 32)


@pytest.mark.parametrize('pos_embed_type', ['sincos', 'learned'])
def test_rectangular_inputs(pos_embed_type):
    model = encoder(img_size=64, pos_embed_type=pos_embed_type)
    for size, grid in (((64, 96), 24), ((32, 48), 6)):
        latent, _ = model(torch.rand(2, 1, *size), torch.zeros(2, grid, dtype=torch.bool))
        assert latent.shape == (2, grid, 32)


def test_bad_arguments():
    with pytest.raises(ValueError, match='pos_embed_type'):
        DepthEncoder(pos_embed_type='rope')
    with pytest.raises(ValueError, match=r'\(B, 1, H, W\)'):
        encoder()(torch.rand(2, 3, 32, 48))
