"""Mask R-CNN + ViT + SimpleFPN: the tiny config through the real Runner, Mask3D weights."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import logging
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_DET = osp.join(REPO, 'configs/benchmarks/mmdet/mask-rcnn_vit-tiny_synthetic-scannet.py')
pytestmark = pytest.mark.filterwarnings('ignore:__array__ implementation:DeprecationWarning')


def tiny_cfg(scannet_coco: dict, checkpoint, work_dir: str) -> Config:
    """The tiny config on the converted fixture: 2 iterations, then 1 validation."""
    cfg = Config.fromfile(TINY_DET)
    cfg.work_dir = work_dir
    cfg.model.backbone.init_cfg = (None if checkpoint is None else
                                   dict(type='Pretrained', checkpoint=checkpoint))
    for split, loader in (('train', 'train_dataloader'), ('val', 'val_dataloader')):
        dl = cfg[loader]
        dl.update(num_workers=0, persistent_workers=False)
        dl.dataset.update(data_root=scannet_coco['root'], ann_file=scannet_coco[split])
    cfg.val_evaluator.ann_file = scannet_coco['val']
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False, end=2)]
    cfg.log_processor = dict(by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100, by_epoch=False,
                                        save_last=False)
    cfg.model.test_cfg.rcnn.max_per_img = 10  # an untrained model keeps many low scores
    cfg.randomness = dict(seed=0)
    return cfg


class CollectValOutputs(Hook):
    """Keeps the predictions of the validation run."""

    def __init__(self):
        self.outputs = []

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.outputs.extend(outputs)


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def init_and_capture(model) -> list:
    """Run ``model.init_weights()`` and return what mmengine logged meanwhile."""
    handler = _Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        model.init_weights()
    finally:
        logger.removeHandler(handler)
    return handler.messages


@pytest.mark.slow
def test_tiny_config_trains_and_validates(scannet_coco, tiny_mask3d_export, tmp_path):
    runner = Runner.from_cfg(tiny_cfg(scannet_coco, tiny_mask3d_export, str(tmp_path)))
    collect = CollectValOutputs()
    runner.register_hook(collect)
    runner.train()
    assert runner.iter == 2
    # layer-wise lr decay over the 4 blocks: the patch embedding trains at 0.7**5 of the heads
    lrs = {g['layer_id']: g['lr'] for g in runner.optim_wrapper.optimizer.param_groups}
    assert sorted(lrs) == [0, 1, 2, 3, 4, 5]
    assert lrs[0] == pytest.approx(lrs[5] * 0.7**5)
    hub = runner.message_hub
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask'):
        values = np.array(hub.get_scalar(f'train/{key}').data[0])
        assert len(values) == 2 and np.isfinite(values).all(), key
    metrics = {k[len('val/'):]: hub.get_scalar(k).current() for k in hub.log_scalars
               if k.startswith('val/coco/')}
    for key in ('bbox_mAP', 'bbox_mAP_50', 'segm_mAP', 'segm_mAP_50'):
        assert 0.0 <= metrics[f'coco/{key}'] <= 1.0, key
    # predictions come back in annotation pixels (120x160), not at the colour size (240x320)
    assert len(collect.outputs) == 4
    for pred in collect.outputs:
        assert pred.ori_shape == (120, 160) and pred.img_shape == (96, 128)
        masks = pred.pred_instances.masks
        assert masks.shape[1:] == (120, 160) and len(masks) > 0
        assert (pred.pred_instances.bboxes[:, 2:] <= torch.tensor([160., 120.]) + 1e-3).all()


@pytest.mark.slow
def test_mask3d_export_loads_into_the_detector(scannet_coco, tiny_mask3d_export, tmp_path):
    from mmdet.registry import MODELS
    state = torch.load(tiny_mask3d_export, weights_only=True)['state_dict']
    cfg = tiny_cfg(scannet_coco, tiny_mask3d_export, str(tmp_path))
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    report = model.backbone.load_state_dict(state, strict=False)
    assert not report.missing_keys and not report.unexpected_keys

    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    messages = init_and_capture(model)  # the init_cfg path the Runner takes
    assert any(f'load model from: {tiny_mask3d_export}' in m for m in messages)
    assert not [m for m in messages if 'do not match' in m or 'missing keys' in m]
    loaded = model.backbone.state_dict()
    assert set(loaded) == set(state)
    for key, value in state.items():  # pos_embed too: the 6x8 grid is used as is
        assert torch.equal(loaded[key], value), key

    # the same check sees a key that does not load
    del state['ln1.weight']
    partial = str(tmp_path / 'partial.pth')
    torch.save({'state_dict': state}, partial)
    cfg.model.backbone.init_cfg.checkpoint = partial
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    assert any('missing keys' in m and 'ln1.weight' in m for m in init_and_capture(model))


def test_square_pretraining_grid_is_resized_on_load(tmp_path):
    """A ViT-B-style export (square 224 grid) into a 480x640-style detector backbone: the load
    hook resizes the position embedding, nothing else changes."""
    from mmpretrain.models import VisionTransformer
    arch = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
    src = VisionTransformer(arch=arch, img_size=64, patch_size=16)  # 4x4 grid
    dst = VisionTransformer(arch=arch, img_size=(96, 128), patch_size=16, out_type='featmap',
                            out_indices=(1, ))  # 6x8 grid
    report = dst.load_state_dict(src.state_dict(), strict=False)
    assert not report.missing_keys and not report.unexpected_keys
    assert dst.pos_embed.shape == (1, 1 + 6 * 8, 32)
    torch.testing.assert_close(dst.layers[0].ffn.layers[1].weight,
                               src.layers[0].ffn.layers[1].weight)
    assert dst(torch.randn(1, 3, 128, 160))[0].shape == (1, 32, 8, 10)  # resized per forward
