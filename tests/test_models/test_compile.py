"""torch.compile of the Mask3D step: the encoders, decoder and head trace as one graph."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches, registers the modules)

import pytest
import torch
import torch._dynamo
from mmengine.config import Config
from mmpretrain.structures import DataSample

from mask3d_mm.models.utils import mask_to_ids
from mask3d_mm.registry import MODELS

from helpers.tools import PRETRAIN_CONFIG

H, W = 64, 96  # a 4x6 grid of 16x16 patches


def _tiny_mask3d(drop_path_rate: float = 0.1) -> torch.nn.Module:
    cfg = Config.fromfile(PRETRAIN_CONFIG).model
    cfg.backbone.update(img_size=(H, W), drop_path_rate=drop_path_rate)
    cfg.depth_encoder.update(img_size=(H, W), drop_path_rate=drop_path_rate)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.train()


def _batch(seed: int, batch: int = 2):
    g = torch.Generator().manual_seed(seed)
    rgb = torch.randn(batch, 3, H, W, generator=g)
    depth = 0.5 + 4 * torch.rand(batch, 1, H, W, generator=g)
    samples = []
    for _ in range(batch):
        ds = DataSample()
        for key in ('rgb_mask', 'depth_mask'):
            m = torch.zeros(24, dtype=torch.bool)
            m[torch.randperm(24, generator=g)[:18]] = True
            ds.set_field(m.reshape(4, 6), key)
        samples.append(ds)
    return [rgb, depth], samples


@pytest.mark.slow  # dynamo tracing: 5-20 s on 2 shared cores
def test_loss_is_one_graph():
    """No graph break in model.loss (drop path on): the host side (the masks' checks and
    visible counts) runs outside the graph, the numpy drop-path rates are Python floats."""
    model = _tiny_mask3d()
    torch._dynamo.reset()
    try:
        ex = torch._dynamo.explain(model.loss)(*_batch(0))
    finally:
        torch._dynamo.reset()
    reasons = [br.reason.splitlines()[0] for br in ex.break_reasons]
    assert ex.graph_break_count == 0, reasons
    assert ex.graph_count == 1


@pytest.mark.slow
def test_compiled_loss_follows_the_masks():
    """The compiled loss equals the eager one for batches with other masks (the masks are
    read at every call, not baked into the graph), without recompiling."""
    model = _tiny_mask3d(drop_path_rate=0.0)
    torch._dynamo.reset()
    counters = torch._dynamo.utils.counters
    counters.clear()
    try:
        compiled = torch.compile(model.loss, backend='eager')  # tracing only: fast
        for seed in (0, 1, 2):
            inputs, samples = _batch(seed)
            with torch.no_grad():
                eager = model.loss(inputs, samples)['loss']
                traced = compiled(inputs, samples)['loss']
            torch.testing.assert_close(traced, eager)
        assert counters['stats']['unique_graphs'] == 1
    finally:
        torch._dynamo.reset()


def test_ids_keep_equals_mask():
    """Encoders given the visible indices compute what they compute from the mask."""
    model = _tiny_mask3d(drop_path_rate=0.0).eval()
    (rgb, depth), samples = _batch(3)
    for key, enc, x in (('rgb_mask', model.backbone, rgb),
                        ('depth_mask', model.depth_encoder, depth)):
        mask = torch.stack([ds.get(key).flatten() for ds in samples])
        with torch.no_grad():
            a, ids_a = enc(x, mask)
            b, ids_b = enc(x, ids_keep=mask_to_ids(mask))
        torch.testing.assert_close(a, b)
        assert torch.equal(ids_a, ids_b)


def test_drop_path_rates_are_floats():
    model = _tiny_mask3d(drop_path_rate=0.1)
    rates = [m.drop_prob for m in model.backbone.modules() if hasattr(m, 'drop_prob')]
    assert rates and all(type(r) is float for r in rates)
    assert max(rates) > 0
