"""Tiny segmentation fixtures: NYUv2 .mat files, a Cityscapes layout, ViT checkpoints."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from helpers.seg_data import (REPO, nyu_frames, write_class_mapping, write_labeled_mat,
                              write_splits_mat)


@pytest.fixture(scope='session')
def nyuv2_mats(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp('nyuv2_mats')
    frames = nyu_frames()
    paths = dict(labeled=str(root / 'nyu_depth_v2_labeled.mat'), splits=str(root / 'splits.mat'),
                 mapping=str(root / 'classMapping40.mat'))
    write_labeled_mat(paths['labeled'], frames)
    write_splits_mat(paths['splits'])
    write_class_mapping(paths['mapping'], frames['map_class'])
    return dict(paths=paths, frames=frames)


@pytest.fixture(scope='session')
def tiny_nyuv2(nyuv2_mats, tmp_path_factory) -> str:
    """A converted NYUv2 root (3 train / 2 test frames, 96x128)."""
    from mask3d_mm.converters.nyuv2 import convert_nyuv2
    out = str(tmp_path_factory.mktemp('nyuv2'))
    p = nyuv2_mats['paths']
    convert_nyuv2(p['labeled'], p['splits'], out, p['mapping'])
    return out


@pytest.fixture(scope='session')
def tiny_cityscapes(tmp_path_factory) -> str:
    """mmseg's Cityscapes layout: leftImg8bit/{split}/city/*_leftImg8bit.png and
    gtFine/{split}/city/*_gtFine_labelTrainIds.png (0..18, 255), 2 images per split, 128x256."""
    root = str(tmp_path_factory.mktemp('cityscapes'))
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        for i in range(2):
            stem = f'aachen_{i:06d}_000019'
            img_dir = osp.join(root, 'leftImg8bit', split, 'aachen')
            gt_dir = osp.join(root, 'gtFine', split, 'aachen')
            os.makedirs(img_dir, exist_ok=True)
            os.makedirs(gt_dir, exist_ok=True)
            cv2.imwrite(osp.join(img_dir, stem + '_leftImg8bit.png'),
                        rng.integers(0, 256, (128, 256, 3)).astype(np.uint8))
            gt = np.repeat(np.arange(19, dtype=np.uint8), 13)[None].repeat(128, 0)
            gt = np.concatenate([gt, np.full((128, 256 - gt.shape[1]), 255, np.uint8)], 1)
            cv2.imwrite(osp.join(gt_dir, stem + '_gtFine_labelTrainIds.png'), gt)
    return root


@pytest.fixture(scope='session')
def mask3d_export(tmp_path_factory) -> str:
    """The RGB encoder of the tiny Mask3D of configs/mask3d/vit-tiny_synthetic.py, written as
    tools/model_converters/export_rgb_encoder.py --img-size 96 128 does (pos_embed of the
    trained 6x8 grid): ``{'state_dict': ...}``, tensors only."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mask3d_mm.models.export import extract_rgb_encoder
    from mask3d_mm.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic.py'))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('mask3d') / 'mask3d_vit-tiny.pth')
    torch.save(dict(state_dict=extract_rgb_encoder(model.state_dict())), path)
    return path


@pytest.fixture(scope='session')
def in1k_checkpoint(tmp_path_factory) -> str:
    """An mmpretrain-classifier-style checkpoint of the tiny ViT ('backbone.*' and 'head.*'
    keys) at a square 64x64 input, so loading it resizes pos_embed."""
    from mmpretrain.models import VisionTransformer
    torch.manual_seed(1)
    vit = VisionTransformer(arch=dict(embed_dims=128, num_layers=4, num_heads=4,
                                      feedforward_channels=512), img_size=64, patch_size=16)
    state = {f'backbone.{k}': v for k, v in vit.state_dict().items()}
    state['head.layers.head.weight'] = torch.zeros(10, 128)
    path = str(tmp_path_factory.mktemp('in1k') / 'vit-tiny_in1k.pth')
    torch.save(dict(state_dict=state, meta=dict()), path)
    return path
