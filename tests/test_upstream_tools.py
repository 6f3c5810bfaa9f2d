"""The documented configs run under the upstream packages' own ``tools/train.py``.

- the backbone-swap snippet of README.md and configs/benchmarks/mmseg/README.md, on top of
  mmseg's stock ADE20K UperNet config, with mmseg's tool (on a tiny ADE20K-layout data set);
- the Mask3D pre-training config with mmpretrain's tool; the tiny Mask R-CNN config with mmdet's;
- the environment made by tools/install.sh imports ``mmseg.models`` / ``mmdet.models`` in a
  process that never imports mask3d_mm (the torchvision start-up guard).
Each run is shrunk with the tools' own ``--cfg-options`` only.
"""
import os
import os.path as osp
import re
import subprocess
import sys
import sysconfig

import cv2
import numpy as np
import pytest
import torch

from helpers.tools import REPO, run

pytestmark = pytest.mark.slow  # trains or runs tools in subprocesses: the full tier only

DEIT_TINY = ['model.backbone.arch=deit-tiny', 'model.backbone.img_size=(64,64)',
             'model.neck.in_channels=[192,192,192,192]', 'model.neck.out_channels=192',
             'model.decode_head.in_channels=[192,192,192,192]', 'model.decode_head.channels=32',
             'model.auxiliary_head.in_channels=192', 'model.auxiliary_head.channels=16',
             'model.data_preprocessor.size=(64,64)']
TWO_ITERS = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=2',
             'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
             'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
             'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']


def upstream_tool(package: str) -> str:
    module = __import__(package)
    return osp.join(osp.dirname(module.__file__), '.mim', 'tools', 'train.py')


def doc_snippet(doc: str) -> str:
    """The fenced python block of ``doc`` that swaps the backbone of an mmseg config."""
    with open(osp.join(REPO, doc)) as f:
        blocks = re.findall(r'```python\n(.*?)```', f.read(), re.S)
    swaps = [b for b in blocks if 'mmpretrain.VisionTransformer' in b and 'mmseg::' in b]
    assert len(swaps) == 1, f'{doc}: expected one backbone-swap snippet, found {len(swaps)}'
    return swaps[0]


def write_ade20k(root: str) -> None:
    """A tiny data set in mmseg's ADE20K layout (2 training, 1 validation image, 64x80)."""
    rng = np.random.default_rng(0)
    for split, n in (('training', 2), ('validation', 1)):
        os.makedirs(osp.join(root, 'images', split))
        os.makedirs(osp.join(root, 'annotations', split))
        for i in range(n):
            img = rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)
            label = np.zeros((64, 80), np.uint8)
            label[:32], label[32:] = 1, 5  # ADE ids (0 = ignore after reduce_zero_label)
            cv2.imwrite(osp.join(root, 'images', split, f'ADE_{i}.jpg'), img)
            cv2.imwrite(osp.join(root, 'annotations', split, f'ADE_{i}.png'), label)


@pytest.mark.parametrize('doc', ['README.md', 'configs/benchmarks/mmseg/README.md'])
def test_backbone_swap_snippet_under_mmseg_tool(doc, tmp_path):
    from mmpretrain.models import VisionTransformer
    snippet = doc_snippet(doc)
    assert "custom_imports = dict(imports=['mask3d_mm']" in snippet
    (tmp_path / 'my_config.py').write_text(snippet)
    write_ade20k(str(tmp_path / 'data/ade/ADEChallengeData2016'))
    checkpoint = re.search(r"checkpoint='([^']+)'", snippet).group(1)
    os.makedirs(osp.dirname(str(tmp_path / checkpoint)) or str(tmp_path), exist_ok=True)
    torch.manual_seed(0)
    vit = VisionTransformer(arch='deit-tiny', img_size=224)  # stands in for an export
    torch.save(vit.state_dict(), str(tmp_path / checkpoint))
    proc = run([sys.executable, upstream_tool('mmseg'), 'my_config.py', '--work-dir', 'wd',
                '--cfg-options', *DEIT_TINY, *TWO_ITERS,
                'train_dataloader.dataset.pipeline.2.scale=(128,64)',
                'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
                'val_dataloader.dataset.pipeline.1.scale=(80,64)'],
               cwd=str(tmp_path), timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert osp.isfile(tmp_path / 'wd' / 'iter_2.pth')
    log = proc.stdout + proc.stderr
    assert f'load model from: {checkpoint}' in log and 'missing keys' not in log
    assert 'mIoU' in log  # validated


def test_pretrain_config_under_mmpretrain_tool(synthetic_scannet, tmp_path):
    proc = run([sys.executable, upstream_tool('mmpretrain'),
                osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic.py'), '--work-dir', 'wd',
                '--cfg-options', f'train_dataloader.dataset.data_root={synthetic_scannet}',
                f'val_dataloader.dataset.data_root={synthetic_scannet}',
                'train_dataloader.dataset.ann_file=', 'val_dataloader.dataset.ann_file=',
                'train_cfg.max_epochs=1', 'train_dataloader.batch_size=4',
                'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
                'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1'],
               cwd=str(tmp_path), timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert osp.isfile(tmp_path / 'wd' / 'epoch_1.pth')
    assert 'depth/masked/abs_rel' in proc.stdout + proc.stderr


def test_torchvision_guard_of_the_environment(tmp_path):
    """A process that never imports mask3d_mm (an upstream tool on a stock config) can import
    mmseg.models and mmdet.models: the .pth written by tools/install.sh installs the guard."""
    pth = osp.join(sysconfig.get_paths()['purelib'], 'mask3d_mm_torchvision_guard.pth')
    assert osp.isfile(pth), f'{pth} missing: run tools/install.sh'
    code = ('import mmdet.models, mmseg.models, sys; '
            "assert 'mask3d_mm' not in sys.modules; print('imported')")
    proc = subprocess.run([sys.executable, '-c', code], cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and 'imported' in proc.stdout, proc.stderr[-3000:]
