"""Every MMDet benchmark config parses and builds its model (init_cfg None), pipelines and lrs."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/benchmarks/mmdet/*.py')))
STEM = 'mask-rcnn_vit-b_{}_scannet-480x640.py'


def test_configs_exist():
    names = {osp.basename(c) for c in CONFIGS}
    assert {STEM.format(p) for p in ('mask3d', 'in1k', 'scratch')} <= names
    assert any('cityscapes' in n for n in names) and any('synthetic' in n for n in names)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
@pytest.mark.slow
def test_config_builds(path):
    from mmdet.registry import MODELS, TRANSFORMS
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet' and 'mask3d_mm' in cfg.custom_imports.imports
    backbone = cfg.model.backbone
    if 'scratch' in path:
        assert backbone.init_cfg is None
    elif 'in1k' in path:
        assert backbone.init_cfg.prefix == 'backbone.'
    else:
        assert backbone.init_cfg.type == 'Pretrained'
    backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
        for loader in ('train_dataloader', 'val_dataloader'):
            dataset = cfg[loader].dataset
            for t in dataset.get('dataset', dataset).pipeline:
                TRANSFORMS.build(t)
        # the optimizer groups (AMP needs a GPU: the plain wrapper with the same constructor)
        optim_cfg = cfg.optim_wrapper.copy()
        optim_cfg.pop('loss_scale', None)
        optim_cfg.type = 'OptimWrapper'
        optimizer = build_optim_wrapper(model, optim_cfg).optimizer
    vit = model.backbone
    assert type(vit).__name__ == 'VisionTransformer' and vit.out_type == 'featmap'
    assert type(model.neck).__name__ == 'SimpleFPN'
    assert model.neck.in_channels == vit.embed_dims
    num_classes = 8 if 'cityscapes' in path else 18
    assert model.roi_head.bbox_head.num_classes == num_classes
    assert model.roi_head.mask_head.num_classes == num_classes
    assert list(vit.out_indices) == [vit.num_layers - 1]
    lrs = {g['layer_id']: g['lr'] for g in optimizer.param_groups}
    top = vit.num_layers + 1
    rate = 0.8 if 'vit-l' in path else 0.7  # ViTDet's ViT-L / ViT-B layer decay
    assert cfg.optim_wrapper.paramwise_cfg.num_layers == vit.num_layers
    assert lrs[top] == cfg.optim_wrapper.optimizer.lr
    assert lrs[0] == pytest.approx(lrs[top] * rate**top)
    if 'synthetic' in path:
        assert vit.embed_dims == 128 and vit.num_layers == 4
        assert tuple(vit.patch_embed.init_out_size) == (6, 8)  # the pre-training grid
    else:
        dims = (1024, 24) if 'vit-l' in path else (768, 12)
        assert (vit.embed_dims, vit.num_layers) == dims
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
        assert cfg.val_evaluator.type == 'CocoMetric'
        assert set(cfg.val_evaluator.metric) == {'bbox', 'segm'}
    if 'scannet-' in path:
        assert cfg.train_dataloader.dataset.type == 'mask3d_mm.ScanNetInstanceDataset'
        assert tuple(vit.patch_embed.init_out_size) == (30, 40)
        pipeline = cfg.train_dataloader.dataset.pipeline
        assert [t.type for t in pipeline[:3]] == ['LoadImageFromFile', 'mask3d_mm.AlignImageTo',
                                                  'LoadAnnotations']
        assert pipeline[1].reference == 'annotation'
