"""Tiny Mask3D models and RGB-D batches for the model tests."""
import copy

import mask3d_mm.models  # noqa: F401,I001  (first: compat patches, registers the modules)
import pytest
import torch
from mmengine.model import BaseDataPreprocessor
from mmpretrain.structures import DataSample

from mask3d_mm.registry import MODELS

TINY_ARCH = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)


def random_mask(batch: int, grid, num_masked: int, generator: torch.Generator) -> torch.Tensor:
    """(B, h, w) bool masks with exactly ``num_masked`` True per sample."""
    h, w = grid
    masks = torch.zeros(batch, h * w, dtype=torch.bool)
    for i in range(batch):
        masks[i, torch.randperm(h * w, generator=generator)[:num_masked]] = True
    return masks.reshape(batch, h, w)


@pytest.fixture
def tiny_cfg():
    """Factory of a tiny Mask3D config for (H, W) inputs, patch 16."""

    def make(img_size=(32, 48), fusion='add', head=None, out_channels=1):
        return dict(
            type='mask3d_mm.Mask3D',
            backbone=dict(type='mask3d_mm.Mask3DViT', arch=TINY_ARCH, img_size=img_size,
                          patch_size=16),
            depth_encoder=dict(type='mask3d_mm.DepthEncoder', img_size=img_size, patch_size=16,
                               embed_dims=32, num_layers=1, num_heads=2),
            neck=dict(type='mask3d_mm.DepthDecoder', in_channels=64, depth_in_channels=32,
                      embed_dims=32, num_layers=1, num_heads=2, patch_size=16,
                      out_channels=out_channels, fusion=fusion),
            head=copy.deepcopy(head) if head else dict(type='mask3d_mm.DenseDepthHead',
                                                       patch_size=16),
            data_preprocessor=BaseDataPreprocessor())

    return make


@pytest.fixture
def build_model(tiny_cfg):
    """Factory: build and init a tiny Mask3D (seeded)."""

    def make(seed=0, **kwargs):
        torch.manual_seed(seed)
        model = MODELS.build(tiny_cfg(**kwargs))
        model.init_weights()
        return model

    return make


@pytest.fixture
def make_batch():
    """Factory: ``([rgb, depth], data_samples)`` with random masks (fixed count per sample)."""

    def make(batch=2, size=(32, 48), patch=16, rgb_ratio=0.5, depth_ratio=0.5, seed=0,
             invalid_ratio=0.2, intrinsics=False):
        g = torch.Generator().manual_seed(seed)
        H, W = size
        grid = (H // patch, W // patch)
        L = grid[0] * grid[1]
        rgb = torch.randn(batch, 3, H, W, generator=g)
        depth = 0.5 + 4 * torch.rand(batch, 1, H, W, generator=g)
        depth[torch.rand(batch, 1, H, W, generator=g) < invalid_ratio] = 0
        rgb_mask = random_mask(batch, grid, int(L * rgb_ratio), g)
        depth_mask = random_mask(batch, grid, int(L * depth_ratio), g)
        samples = []
        for i in range(batch):
            ds = DataSample()
            ds.set_field(rgb_mask[i], 'rgb_mask')
            ds.set_field(depth_mask[i], 'depth_mask')
            if intrinsics:
                k = torch.tensor([[40., 0, W / 2 - 0.5], [0, 40., H / 2 - 0.5], [0, 0, 1]])
                ds.set_metainfo(dict(depth_intrinsics=k.numpy()))
            samples.append(ds)
        return [rgb, depth], samples

    return make
