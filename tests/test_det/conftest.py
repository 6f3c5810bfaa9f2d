"""Detection fixtures: the synthetic ScanNet fixture converted to COCO, a tiny Mask3D export."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_MASK3D = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic.py')
MIN_AREA = 100  # px at the fixture's 120x160 annotation size


@pytest.fixture(scope='session')
def scannet_coco(synthetic_scannet, tmp_path_factory) -> dict:
    """COCO jsons of the fixture: scene0000_00 -> train, scene0001_00 -> val."""
    from mask3d_mm.converters.scannet_to_coco import scannet_to_coco
    out = tmp_path_factory.mktemp('scannet_coco')
    files = {}
    for split, scene in (('train', 'scene0000_00'), ('val', 'scene0001_00')):
        files[split] = str(out / f'instances_{split}.json')
        scannet_to_coco(synthetic_scannet, scenes=[scene], min_area=MIN_AREA,
                        out_file=files[split])
    return dict(root=synthetic_scannet, **files)


@pytest.fixture(scope='session')
def tiny_mask3d_export(tmp_path_factory) -> str:
    """The RGB encoder of the tiny Mask3D (configs/mask3d/vit-tiny_synthetic.py), exported."""
    from mask3d_mm.models.export import extract_rgb_encoder
    from mask3d_mm.registry import MODELS
    cfg = Config.fromfile(TINY_MASK3D)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    path = str(tmp_path_factory.mktemp('mask3d_export') / 'mask3d_vit-tiny.pth')
    torch.save({'state_dict': extract_rgb_encoder(model.state_dict())}, path)
    return path
