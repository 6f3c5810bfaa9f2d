import pytest
"""The tiny Mask R-CNN config trains and validates under mmdet's own ``tools/train.py``."""
import os.path as osp
import sys

import mmdet

from helpers.tools import REPO, run

pytestmark = pytest.mark.slow  # trains or runs tools in subprocesses: the full tier only

TINY_DET = osp.join(REPO, 'configs/benchmarks/mmdet/mask-rcnn_vit-tiny_synthetic-scannet.py')


def test_tiny_config_under_mmdet_tool(scannet_coco, tiny_mask3d_export, tmp_path):
    tool = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
    root = scannet_coco['root']
    proc = run([sys.executable, tool, TINY_DET, '--work-dir', 'wd', '--cfg-options',
                f'model.backbone.init_cfg.checkpoint={tiny_mask3d_export}',
                f'train_dataloader.dataset.data_root={root}',
                f"train_dataloader.dataset.ann_file={scannet_coco['train']}",
                f'val_dataloader.dataset.data_root={root}',
                f"val_dataloader.dataset.ann_file={scannet_coco['val']}",
                f"val_evaluator.ann_file={scannet_coco['val']}",
                'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
                'default_hooks.checkpoint.interval=1'],
               cwd=str(tmp_path), timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert f'load model from: {tiny_mask3d_export}' in log
    assert 'coco/segm_mAP' in log and osp.isfile(tmp_path / 'wd' / 'epoch_1.pth')
