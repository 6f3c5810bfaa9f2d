"""tools/train.py pre-trains on a corpus in its native layout with config changes only: the
tiny synthetic config pointed at a SUN RGB-D stand-in (docs/data_preparation.md)."""
import glob
import math
import os.path as osp

import pytest

from helpers.native_layouts.sunrgbd import write_sunrgbd
from helpers.tools import REPO, run_tool_main
from mask3d_mm.tooling import read_scalars

TINY = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic.py')


@pytest.mark.slow
def test_train_on_sunrgbd_with_config_options_only(tmp_path):
    write_sunrgbd(str(tmp_path))
    work_dir = str(tmp_path / 'work')
    run_tool_main(
        'train', TINY, '--work-dir', work_dir, '--no-validate', '--cfg-options',
        'train_dataloader.dataset.type=mask3d_mm.SUNRGBDDataset',
        f'train_dataloader.dataset.data_root={tmp_path / "SUNRGBD"}',
        'train_dataloader.dataset.ann_file=',
        # the ScanNet recipe's explicit depth_scale=1000 would contradict the frames' encoding:
        # without it LoadDepthFromFile decodes each frame as its dataset states ('sunrgbd')
        'train_dataloader.dataset.pipeline.1.depth_scale=None',
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1')
    losses = [s['loss'] for s in read_scalars(work_dir) if 'loss' in s]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)  # 8 frames / batch 4
    assert glob.glob(osp.join(work_dir, '*.pth'))
    logs = glob.glob(osp.join(work_dir, '*', '*.log'))
    with open(logs[-1]) as f:
        log = f.read()
    assert 'implausible' not in log  # every frame decoded as SUN RGB-D
