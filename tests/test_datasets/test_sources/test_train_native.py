"""Config changes only: tools/train.py pre-trains on a corpus in its native layout (the tiny
synthetic config pointed at a SUN RGB-D stand-in), tools/misc/verify_dataset.py reports one per
source, and the config snippet of each corpus in docs/data_preparation.md builds its dataset on
a stand-in."""
import glob
import importlib
import math
import os.path as osp
import re

import pytest

from helpers.native_layouts.sunrgbd import write_sunrgbd
from helpers.native_layouts.tum import write_tum
from helpers.tools import REPO, run_tool_main
from mask3d_mm.registry import DATASETS
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


# the stand-in writer and the data_root folder each documented snippet points at
_STAND_INS = {
    'SUNRGBDDataset': ('sunrgbd', 'write_sunrgbd', 'SUNRGBD'),
    'NYUv2RawDataset': ('nyuv2_raw', 'write_nyuv2_raw', ''),
    'TUMRGBDDataset': ('tum', 'write_tum', ''),
    'SevenScenesDataset': ('seven_scenes', 'write_seven_scenes', ''),
    'RedwoodDataset': ('redwood', 'write_redwood', ''),
}


@pytest.mark.parametrize('name', sorted(_STAND_INS))
def test_documented_snippet_builds_on_the_stand_in(name, tmp_path):
    """The config snippet of docs/data_preparation.md for each corpus builds its dataset on a
    stand-in of its layout (only ``data_root`` replaced) and decodes a frame."""
    with open(osp.join(REPO, 'docs/data_preparation.md')) as f:
        doc = f.read()
    blocks = [b for b in re.findall(r'```python\n(.*?)```', doc, re.S)
              if f"type='mask3d_mm.{name}'" in b and 'ConcatDataset' not in b]  # not mixtures
    assert len(blocks) == 1, f'{name}: {len(blocks)} snippets'
    scope = dict(train_pipeline=[dict(type='LoadImageFromFile'),
                                 dict(type='mask3d_mm.LoadDepthFromFile', max_depth=10.0,
                                      on_implausible='error')])
    exec(blocks[0], scope)
    cfg = dict(scope['train_dataloader']['dataset'])
    cfg.pop('_delete_', None)
    module, writer, sub = _STAND_INS[name]
    getattr(importlib.import_module(f'helpers.native_layouts.{module}'), writer)(str(tmp_path))
    cfg['data_root'] = osp.join(str(tmp_path), sub) if sub else str(tmp_path)
    ds = DATASETS.build(cfg)
    assert len(ds) > 0 and ds[0]['depth'].max() > 0


def test_verify_dataset_reports_a_native_source(tmp_path, capsys):
    """tools/misc/verify_dataset.py reads a native-layout reader's frames and reports the
    depth plausibility per source: TUM frames read as millimetres are all flagged."""
    write_tum(str(tmp_path))
    options = ['train_dataloader.dataset.type=mask3d_mm.TUMRGBDDataset',
               f'train_dataloader.dataset.data_root={tmp_path}',
               'train_dataloader.dataset.ann_file=',
               'train_dataloader.dataset.pipeline.1.depth_scale=None']
    run_tool_main('misc/verify_dataset', TINY, '--cfg-options', *options)
    out = capsys.readouterr().out
    assert 'source tum: 0 bad frame(s) out of 16, 0 with implausible depth' in out
    with pytest.raises(SystemExit) as e:
        run_tool_main('misc/verify_dataset', TINY, '--cfg-options', *options,
                      'train_dataloader.dataset.encoding=scannet')
    assert e.value.code == 1
    out = capsys.readouterr().out
    assert 'source tum: 16 bad frame(s) out of 16, 16 with implausible depth' in out
    assert "encoding='tum'" in out  # the likely cause
