"""The ImageNet / MAE start of the colour ViT (the paper's setting) through the documented routes
of configs/mask3d/README.md: ``--cfg-options model.backbone.init_cfg.checkpoint=...`` and a child
config; the tensors after init are those of the checkpoint. ``imagenet_checkpoint`` (parse-time
in earlier versions: it silently trained from scratch) is an error."""
import os.path as osp
import re
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.models.utils import resize_pos_embed

from helpers.tools import REPO, run
from mask3d_mm.compat import load_local_checkpoint

pytestmark = pytest.mark.slow  # trains or runs tools in subprocesses: the full tier only

CONFIG = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic.py')
MAE_CONFIG = osp.join(REPO, 'configs/benchmarks/pretrain_comparison/mae_vit-tiny_synthetic-112x112.py')


@pytest.fixture(scope='module')
def mae_checkpoint(tmp_path_factory) -> str:
    """A randomly initialised MMPretrain MAE (the tiny ViT, 112x112), saved as MMPretrain does."""
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(MAE_CONFIG)
    if 'data_preprocessor' in cfg:  # mmpretrain MAE configs keep it at the top level
        cfg.model.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(3)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('mae') / 'mae_vit-tiny_112.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), path)
    return path


def train_once(data_root: str, work_dir: str, *args: str):
    """One epoch of the tiny config at lr 0 (weights stay as initialised), no validation."""
    shrink = (f'train_dataloader.dataset.data_root={data_root} train_dataloader.dataset.ann_file= '
              'train_cfg.max_epochs=1 train_dataloader.batch_size=4 '
              'train_dataloader.num_workers=0 train_dataloader.persistent_workers=False '
              'optim_wrapper.optimizer.lr=0.0 default_hooks.checkpoint.interval=1')
    return run([sys.executable, osp.join(REPO, 'tools/train.py'), *args, '--work-dir', work_dir,
                '--no-validate'], MASK3D_MM_CFG_OPTIONS=shrink)


def assert_backbone_from(checkpoint: str, work_dir: str, log: str) -> None:
    src = torch.load(checkpoint, weights_only=True)['state_dict']
    got = load_local_checkpoint(osp.join(work_dir, 'epoch_1.pth'))['state_dict']
    keys = [k for k in got if k.startswith('backbone.')]
    assert len(keys) == 54
    for k in keys:
        expected = src[k]
        if k == 'backbone.pos_embed':  # the 7x7 MAE grid resized to the 6x8 crop grid
            expected = resize_pos_embed(expected, (7, 7), (6, 8), 'bicubic', 1)
        torch.testing.assert_close(got[k], expected, msg=k)
    assert re.search(rf'Mask3DViT: loaded 54/54 tensors from {re.escape(checkpoint)} '
                     r"\(prefix 'backbone\.'\)", log), log[-3000:]


def test_cfg_options_route(synthetic_scannet, mae_checkpoint, tmp_path):
    work_dir = str(tmp_path / 'wd')
    proc = train_once(synthetic_scannet, work_dir, CONFIG, '--cfg-options',
                      f'model.backbone.init_cfg.checkpoint={mae_checkpoint}')
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert_backbone_from(mae_checkpoint, work_dir, proc.stdout + proc.stderr)


def test_child_config_route(synthetic_scannet, mae_checkpoint, tmp_path):
    child = tmp_path / 'my_mask3d.py'
    child.write_text(f'_base_ = [{CONFIG!r}]\n'
                     f'model = dict(backbone=dict(init_cfg=dict(checkpoint={mae_checkpoint!r})))\n')
    work_dir = str(tmp_path / 'wd')
    proc = train_once(synthetic_scannet, work_dir, str(child))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert_backbone_from(mae_checkpoint, work_dir, proc.stdout + proc.stderr)


def test_no_checkpoint_says_random_init(synthetic_scannet, tmp_path):
    proc = train_once(synthetic_scannet, str(tmp_path / 'wd'), CONFIG)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert 'init_cfg.checkpoint is None: random init' in proc.stdout + proc.stderr


@pytest.mark.parametrize('how', ['child', 'cfg-options'])
def test_imagenet_checkpoint_key_is_an_error(how, synthetic_scannet, mae_checkpoint, tmp_path):
    args = [CONFIG, '--cfg-options', f'imagenet_checkpoint={mae_checkpoint}']
    if how == 'child':
        child = tmp_path / 'old_style.py'
        child.write_text(f'_base_ = [{CONFIG!r}]\nimagenet_checkpoint = {mae_checkpoint!r}\n')
        args = [str(child)]
    proc = train_once(synthetic_scannet, str(tmp_path / 'wd'), *args)
    assert proc.returncode != 0
    assert 'model.backbone.init_cfg.checkpoint' in proc.stderr, proc.stderr[-3000:]
    assert not osp.exists(tmp_path / 'wd' / 'epoch_1.pth')
