"""``with_cp`` (activation checkpointing) of Mask3DViT, DepthEncoder, DepthDecoder and so of
Mask3D: the same loss and gradients as without, the same parameter names, blocks really
recomputed in the backward while training, and not at all in eval / no-grad forwards."""
import copy

import mask3d_mm.models  # noqa: F401,I001  (first: compat patches, registers the modules)
import pytest
import torch

from mask3d_mm.registry import MODELS

TINY_ARCH = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)
SIZE = (32, 48)
GRID = (2, 3)


def _build(cfg: dict, with_cp: bool, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = MODELS.build(dict(copy.deepcopy(cfg), with_cp=with_cp))
    model.init_weights()
    model.train()
    return model


def _grads(model: torch.nn.Module) -> dict:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def _count_calls(block: torch.nn.Module) -> list:
    calls = []
    block.register_forward_pre_hook(lambda *_: calls.append(1))  # recompute may stop early
    return calls


def _compare(cfg: dict, blocks_of, run) -> None:
    """Build the module with and without ``with_cp`` from the same seed, run ``run(model)``
    (returns a scalar) under the same RNG seed and compare outputs, gradients and keys."""
    results = {}
    for with_cp in (False, True):
        model = _build(cfg, with_cp)
        calls = _count_calls(blocks_of(model)[0])
        torch.manual_seed(1)  # drop path draws the same in both runs
        out = run(model)
        out.backward()
        # checkpointed: the block runs again in the backward
        assert len(calls) == (2 if with_cp else 1), (with_cp, len(calls))
        results[with_cp] = (out.detach(), _grads(model), list(model.state_dict()))
    (out0, grads0, keys0), (out1, grads1, keys1) = results[False], results[True]
    assert keys0 == keys1
    torch.testing.assert_close(out1, out0, rtol=0, atol=1e-6)
    assert grads0.keys() == grads1.keys() and len(grads0) > 0
    for name in grads0:
        torch.testing.assert_close(grads1[name], grads0[name], rtol=1e-5, atol=1e-7,
                                   msg=lambda m, n=name: f'{n}: {m}')


def _masks(seed: int = 0):
    """(2, 2, 3) bool masks, 3 of 6 patches masked per sample, and the generator."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.stack([torch.randperm(6, generator=g) < 3 for _ in range(2)])
    return mask.reshape(2, *GRID), g


def test_mask3d_vit_with_cp_same_loss_and_grads():
    cfg = dict(type='mask3d_mm.Mask3DViT', arch=TINY_ARCH, img_size=SIZE, patch_size=16,
               drop_path_rate=0.2, drop_rate=0.1)
    mask, g = _masks()
    x = torch.randn(2, 3, *SIZE, generator=g)
    _compare(cfg, lambda m: m.layers, lambda m: m(x, mask)[0].square().mean())


def test_depth_encoder_with_cp_same_loss_and_grads():
    cfg = dict(type='mask3d_mm.DepthEncoder', img_size=SIZE, patch_size=16, embed_dims=32,
               num_layers=2, num_heads=2, drop_path_rate=0.2, drop_rate=0.1)
    mask, g = _masks()
    depth = 0.5 + 4 * torch.rand(2, 1, *SIZE, generator=g)
    _compare(cfg, lambda m: m.layers, lambda m: m(depth, mask)[0].square().mean())


@pytest.mark.parametrize('fusion', ['add', 'concat'])
def test_depth_decoder_with_cp_same_loss_and_grads(fusion):
    cfg = dict(type='mask3d_mm.DepthDecoder', in_channels=64, depth_in_channels=32,
               embed_dims=32, num_layers=2, num_heads=2, patch_size=16, fusion=fusion)
    g = torch.Generator().manual_seed(0)
    rgb = torch.randn(2, 1 + 3, 64, generator=g)
    dep = torch.randn(2, 2, 32, generator=g)
    rgb_ids = torch.tensor([[0, 2, 4], [1, 3, 5]])
    dep_ids = torch.tensor([[1, 3], [0, 2]])
    _compare(cfg, lambda m: m.decoder_blocks,
             lambda m: m(rgb, rgb_ids, dep, dep_ids, GRID).square().mean())


def test_mask3d_with_cp_same_loss_and_grads(tiny_cfg, make_batch):
    """The whole algorithm with the switch on in all three modules (as the L/H recipes'
    ``with_cp`` variable sets it)."""
    cfg = tiny_cfg(img_size=SIZE)
    inputs, samples = make_batch(size=SIZE)
    results = {}
    for with_cp in (False, True):
        torch.manual_seed(0)
        model_cfg = copy.deepcopy(cfg)
        for part in ('backbone', 'depth_encoder', 'neck'):
            model_cfg[part]['with_cp'] = with_cp
        model_cfg['backbone']['drop_path_rate'] = 0.2
        model = MODELS.build(model_cfg)
        model.init_weights()
        model.train()
        calls = [_count_calls(blocks[0]) for blocks in
                 (model.backbone.layers, model.depth_encoder.layers, model.neck.decoder_blocks)]
        torch.manual_seed(1)
        loss = model.loss(inputs, samples)['loss']
        loss.backward()
        assert [len(c) for c in calls] == [2 if with_cp else 1] * 3
        results[with_cp] = (loss.detach(), _grads(model), list(model.state_dict()))
    (loss0, grads0, keys0), (loss1, grads1, keys1) = results[False], results[True]
    assert keys0 == keys1
    torch.testing.assert_close(loss1, loss0, rtol=0, atol=1e-6)
    assert grads0.keys() == grads1.keys()
    assert 'backbone.layers.0.attn.qkv.weight' in grads0
    for name in grads0:
        torch.testing.assert_close(grads1[name], grads0[name], rtol=1e-5, atol=1e-7,
                                   msg=lambda m, n=name: f'{n}: {m}')


def test_with_cp_not_used_in_eval_or_without_grad():
    """Inference forwards run every block once (nothing to recompute)."""
    cfg = dict(type='mask3d_mm.Mask3DViT', arch=TINY_ARCH, img_size=SIZE, patch_size=16)
    model = _build(cfg, with_cp=True)
    calls = _count_calls(model.layers[0])
    mask, g = _masks()
    x = torch.randn(2, 3, *SIZE, generator=g)
    with torch.no_grad():
        model(x, mask)
    assert len(calls) == 1
    model.eval()
    model(x, mask)[0].sum().backward()
    assert len(calls) == 2  # one more forward, no recompute
