"""The OpenMMLab stack works end to end on this torch: real models from each library, tiny sizes."""
import mask3d_mm  # noqa: F401  (first: compat patches)

import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData, PixelData


def _train_step(model: torch.nn.Module, data: dict) -> dict:
    optim_wrapper = build_optim_wrapper(
        model, dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)))
    before = [p.detach().clone() for p in model.parameters() if p.requires_grad]
    log_vars = model.train_step(data, optim_wrapper)
    after = [p.detach() for p in model.parameters() if p.requires_grad]
    changed = sum(not torch.equal(b, a) for b, a in zip(before, after))
    assert changed > 0.5 * len(before), 'the optimizer step left most weights unchanged'
    for name, value in log_vars.items():
        assert torch.isfinite(torch.as_tensor(value)).all(), name
    return log_vars


def test_mmpretrain_mae_step():
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    init_default_scope('mmpretrain')
    arch = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)
    model = MODELS.build(dict(
        type='MAE',
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[124, 117, 104],
                               std=[59, 57, 58], to_rgb=True),
        backbone=dict(type='MAEViT', arch=arch, img_size=64, patch_size=16, mask_ratio=0.75),
        neck=dict(type='MAEPretrainDecoder', num_patches=16, patch_size=16, in_chans=3,
                  embed_dim=64, decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=2),
        head=dict(type='MAEPretrainHead', norm_pix=True, patch_size=16,
                  loss=dict(type='PixelReconstructionLoss', criterion='L2'))))
    # mmpretrain self-supervised pipelines collate with `default_collate`: a stacked batch.
    data = dict(inputs=torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8),
                data_samples=[DataSample() for _ in range(2)])
    log_vars = _train_step(model, data)
    assert log_vars['loss'] > 0


def test_mmseg_upernet_with_mmpretrain_vit():
    import mmseg.models  # noqa: F401  (registers mmseg's modules)
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    init_default_scope('mmseg')
    dims = 64
    model = MODELS.build(ConfigDict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[124, 117, 104],
                               std=[59, 57, 58], bgr_to_rgb=True, size=(64, 96)),
        backbone=dict(type='mmpretrain.VisionTransformer',
                      arch=dict(embed_dims=dims, num_layers=4, num_heads=2,
                                feedforward_channels=128),
                      img_size=(64, 96), patch_size=16, out_indices=(0, 1, 2, 3),
                      out_type='featmap', final_norm=False),
        neck=dict(type='MultiLevelNeck', in_channels=[dims] * 4, out_channels=dims,
                  scales=[4, 2, 1, 0.5]),
        decode_head=dict(type='UPerHead', in_channels=[dims] * 4, in_index=[0, 1, 2, 3],
                         pool_scales=(1, 2), channels=32, num_classes=5, align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
        test_cfg=dict(mode='whole')))
    samples = []
    for _ in range(2):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 5, (1, 64, 96)))
        sample.set_metainfo(dict(img_shape=(64, 96), ori_shape=(64, 96), pad_shape=(64, 96)))
        samples.append(sample)
    data = dict(inputs=[torch.randint(0, 256, (3, 64, 96), dtype=torch.uint8) for _ in range(2)],
                data_samples=samples)
    log_vars = _train_step(model, data)
    assert 'decode.loss_ce' in log_vars
    model.eval()
    with torch.no_grad():
        out = model.test_step(data)
    assert out[0].pred_sem_seg.data.shape == (1, 64, 96)


def _mask_rcnn_cfg(tmp_path) -> Config:
    # Cross-package `_base_` (needs pkg_resources, hence setuptools<81).
    cfg_file = tmp_path / 'mask_rcnn_r18.py'
    cfg_file.write_text(
        "_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'\n"
        "model = dict(\n"
        "    backbone=dict(depth=18, init_cfg=None),\n"
        "    neck=dict(in_channels=[64, 128, 256, 512]),\n"
        "    roi_head=dict(bbox_head=dict(num_classes=3), mask_head=dict(num_classes=3)))\n")
    return Config.fromfile(str(cfg_file))


def test_mmdet_mask_rcnn_with_compiled_ops(tmp_path):
    from mmcv.ops import RoIAlign
    import mmdet.models  # noqa: F401  (registers mmdet's modules)
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    init_default_scope('mmdet')
    model = MODELS.build(_mask_rcnn_cfg(tmp_path).model)
    assert isinstance(model.roi_head.bbox_roi_extractor.roi_layers[0], RoIAlign)
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(2):
        masks = np.zeros((2, 96, 128), dtype=np.uint8)
        masks[0, 10:50, 20:70] = 1
        masks[1, 40:90, 60:120] = 1
        sample = DetDataSample(metainfo=dict(img_shape=(96, 128), ori_shape=(96, 128),
                                             pad_shape=(96, 128), scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[20., 10, 70, 50], [60, 40, 120, 90]]),
            labels=torch.tensor([0, 2]), masks=BitmapMasks(masks, 96, 128))
        samples.append(sample)
    images = [torch.from_numpy(rng.integers(0, 256, (3, 96, 128), dtype=np.uint8))
              for _ in range(2)]
    data = dict(inputs=images, data_samples=samples)
    log_vars = _train_step(model, data)
    assert {'loss_rpn_cls', 'loss_cls', 'loss_mask'} <= set(log_vars)
    model.eval()
    with torch.no_grad():  # RPN proposals and final boxes go through mmcv's compiled NMS
        preds = model.test_step(dict(inputs=images, data_samples=samples))
    assert len(preds) == 2 and preds[0].pred_instances.bboxes.shape[1] == 4


def test_compiled_ops_values():
    from mmcv.ops import RoIAlign, nms
    # RoIAlign of a map that is linear in x samples that line at the bin centres.
    feat = torch.arange(16.).repeat(16, 1)[None, None].requires_grad_()
    roi = torch.tensor([[0., 2, 2, 10, 10]])
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2, aligned=True)(feat, roi)
    assert torch.allclose(out[0, 0, 0], torch.tensor([3.5, 7.5]))
    out.sum().backward()
    assert feat.grad.sum().item() == pytest.approx(4.0)
    boxes = torch.tensor([[0., 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]])
    _, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
