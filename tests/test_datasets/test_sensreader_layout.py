"""ScanNet's official SensReader export (``color/0.jpg``, ``intrinsic/intrinsic_color.txt``, ...)
read fully by ScanNetRGBDDataset, and configs that need intrinsics failing at dataset build."""
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
from mmengine.config import Config

from mask3d_mm.datasets import ScanNetRGBDDataset
from mask3d_mm.synthetic import generate_scannet_scenes, make_scene, scene_cameras
from mask3d_mm.registry import DATASETS

from helpers.tools import REPO, run

NORMALS_CONFIG = osp.join(REPO, 'configs/mask3d/vit-b_scannet_normals.py')
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='mask3d_mm.LoadDepthFromFile'),
            dict(type='mask3d_mm.AlignColorToDepth')]


@pytest.fixture(scope='module')
def sensreader_root(tmp_path_factory) -> str:
    """2 scenes x 11 frames (0.jpg .. 10.jpg) through ScanNet's cameras, depth 48x64."""
    root = str(tmp_path_factory.mktemp('sensreader'))
    generate_scannet_scenes(root, num_scenes=2, frames_per_scene=11, height=48, width=64,
                            color_camera='scannet', layout='sensreader')
    return root


def without_intrinsics(root: str, tmp_path) -> str:
    out = str(tmp_path / 'no_intrinsics')
    shutil.copytree(root, out)
    shutil.rmtree(osp.join(out, 'scene0001_00', 'intrinsic'))
    return out


def test_layout_read_fully(sensreader_root):
    ds = ScanNetRGBDDataset(data_root=sensreader_root, pipeline=PIPELINE)
    assert len(ds) == 22
    ids = [ds.get_data_info(i)['frame_id'] for i in range(11)]
    assert ids == [str(i) for i in range(11)]  # numeric: 10 after 9
    info = ds.get_data_info(10)
    assert info['img_path'] == osp.join(sensreader_root, 'scene0000_00', 'color', '10.jpg')
    assert info['pose'].shape == (4, 4)
    k_depth, k_color = scene_cameras(make_scene(0, 0), (48, 64), None, 'scannet')[:2]
    np.testing.assert_allclose(info['depth_intrinsics'], k_depth, rtol=1e-5)
    np.testing.assert_allclose(info['color_intrinsics'], k_color, rtol=1e-5)
    np.testing.assert_allclose(info['color_extrinsics'], np.eye(4))
    out = ds[10]  # warped into the depth camera
    assert out['img'].shape == (48, 64, 3)
    np.testing.assert_allclose(out['color_intrinsics'], k_depth, rtol=1e-5)
    assert len(ScanNetRGBDDataset(data_root=sensreader_root, frame_skip=5)) == 6


def test_missing_intrinsics_fail_at_build(sensreader_root, tmp_path):
    root = without_intrinsics(sensreader_root, tmp_path)
    assert 'depth_intrinsics' not in ScanNetRGBDDataset(data_root=root).get_data_info(11)
    scene = osp.join(root, 'scene0001_00')
    for kwargs in (dict(required=('color', 'depth', 'depth_intrinsics')),
                   dict(required=('color', 'depth', 'intrinsics')),
                   dict(pipeline=[dict(type='mask3d_mm.AlignColorToDepth',
                                       use_intrinsics='require')])):
        with pytest.raises(FileNotFoundError) as e:
            ScanNetRGBDDataset(data_root=root, **kwargs)
        msg = str(e.value)
        assert 'scene scene0001_00' in msg, msg
        assert osp.join(scene, 'intrinsic', 'intrinsic_') in msg, msg
        assert osp.join(scene, 'intrinsics_') in msg, msg


def test_normals_config_needs_depth_intrinsics(sensreader_root, tmp_path):
    """The normals config's datasets name the scene and files at build (before: a KeyError
    naming no file at the first forward)."""
    cfg = Config.fromfile(NORMALS_CONFIG)
    for loader in ('train_dataloader', 'val_dataloader'):
        dataset = cfg[loader].dataset
        dataset.update(data_root=sensreader_root, ann_file='', lazy_init=False)
        assert len(DATASETS.build(dataset)) > 0
        dataset.update(data_root=without_intrinsics(sensreader_root, tmp_path / loader))
        with pytest.raises(FileNotFoundError, match=r'scene0001_00.*intrinsic_depth\.txt'):
            DATASETS.build(dataset)


def _train_normals(data_root: str, work_dir: str):
    """``python tools/train.py configs/mask3d/vit-b_scannet_normals.py``, shrunk."""
    shrink = (f'train_dataloader.dataset.data_root={data_root} train_dataloader.dataset.ann_file= '
              'train_cfg.max_epochs=1 train_dataloader.batch_size=4 '
              'train_dataloader.num_workers=0 train_dataloader.persistent_workers=False '
              'model.backbone.arch=deit-tiny model.backbone.img_size=(32,48) '
              'model.neck.in_channels=192 model.depth_encoder.img_size=(32,48) '
              'model.depth_encoder.embed_dims=32 model.depth_encoder.num_layers=1 '
              'model.depth_encoder.num_heads=2 model.neck.depth_in_channels=32 '
              'model.neck.embed_dims=32 model.neck.num_layers=1 model.neck.num_heads=2 '
              'train_dataloader.dataset.pipeline.3.scale=(32,48) custom_hooks=[] '
              'default_hooks.logger.interval=1')
    return run([sys.executable, osp.join(REPO, 'tools/train.py'), NORMALS_CONFIG,
                '--work-dir', work_dir, '--no-validate'], MASK3D_MM_CFG_OPTIONS=shrink)


@pytest.mark.slow
def test_train_normals_on_sensreader_layout(sensreader_root, tmp_path):
    proc = _train_normals(sensreader_root, str(tmp_path / 'wd'))
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'loss_normal' in log and osp.exists(str(tmp_path / 'wd' / 'epoch_1.pth'))

