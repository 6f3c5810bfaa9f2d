import logging
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger

from mask3d_mm.datasets import ScanNetRGBDDataset
from mask3d_mm.registry import DATASETS

K_COLOR = np.array([[1170.2, 0, 647.8, 0], [0, 1170.2, 483.8, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
K_DEPTH = np.array([[577.6, 0, 318.9, 0], [0, 577.6, 238.5, 0], [0, 0, 1, 0], [0, 0, 0, 1]])


def make_scene(root, scene, frames, label=True, instance=True, pose=True, intrinsics=True):
    """Write a tiny scene in the scannet_frames_25k layout (depth 6x8, color 12x16)."""
    d = osp.join(str(root), scene)
    for sub in ('color', 'depth', 'label', 'instance', 'pose'):
        os.makedirs(osp.join(d, sub), exist_ok=True)
    for i, fid in enumerate(frames):
        name = f'{fid:06d}'
        cv2.imwrite(osp.join(d, 'color', name + '.jpg'), np.full((12, 16, 3), i, np.uint8))
        cv2.imwrite(osp.join(d, 'depth', name + '.png'), np.full((6, 8), 1000 + i, np.uint16))
        if label:
            cv2.imwrite(osp.join(d, 'label', name + '.png'), np.full((6, 8), 5, np.uint8))
        if instance:
            cv2.imwrite(osp.join(d, 'instance', name + '.png'), np.full((6, 8), 5001, np.uint16))
        if pose:
            p = np.eye(4)
            p[:3, 3] = (i, 2 * i, 0.5)
            np.savetxt(osp.join(d, 'pose', name + '.txt'), p)
    if intrinsics:
        np.savetxt(osp.join(d, 'intrinsics_color.txt'), K_COLOR)
        np.savetxt(osp.join(d, 'intrinsics_depth.txt'), K_DEPTH)
    return d


@pytest.fixture
def root(tmp_path):
    make_scene(tmp_path, 'scene0000_00', [0, 100, 200, 300, 1000])
    make_scene(tmp_path, 'scene0001_00', [0, 100, 200])
    (tmp_path / 'not_a_scene').mkdir()  # no color folder: not discovered
    (tmp_path / 'scannetv2_train.txt').write_text('scene0001_00\n\n')
    return str(tmp_path)


def test_reads_layout(root):
    ds = ScanNetRGBDDataset(data_root=root)
    assert len(ds) == 8
    info = ds[0]
    assert info['scene'] == 'scene0000_00' and info['frame_id'] == '000000'
    assert info['img_path'] == osp.join(root, 'scene0000_00', 'color', '000000.jpg')
    assert info['depth_path'] == osp.join(root, 'scene0000_00', 'depth', '000000.png')
    assert info['seg_map_path'] == osp.join(root, 'scene0000_00', 'label', '000000.png')
    assert info['instance_path'] == osp.join(root, 'scene0000_00', 'instance', '000000.png')
    assert info['pose'].dtype == np.float32 and info['pose'].shape == (4, 4)
    np.testing.assert_allclose(info['depth_intrinsics'], K_DEPTH[:3, :3], rtol=1e-6)
    np.testing.assert_allclose(info['color_intrinsics'], K_COLOR[:3, :3], rtol=1e-6)
    assert info['depth_intrinsics'].dtype == np.float32
    # numeric order: 000300 before 001000
    frames = [ds[i]['frame_id'] for i in range(5)]
    assert frames == ['000000', '000100', '000200', '000300', '001000']
    assert ds[4]['pose'][0, 3] == 4
    assert [ds[i]['scene'] for i in range(5, 8)] == ['scene0001_00'] * 3


def test_build_from_registry_and_pipeline(root):
    ds = DATASETS.build(
        dict(type='mask3d_mm.ScanNetRGBDDataset', data_root=root, scenes=['scene0001_00'],
             pipeline=[dict(type='LoadImageFromFile'),
                       dict(type='mask3d_mm.LoadDepthFromFile')]))
    out = ds[1]
    assert out['img'].shape == (12, 16, 3)
    assert out['depth'].shape == (6, 8)
    assert out['depth'][0, 0] == pytest.approx(1.001)


def test_frame_skip(root):
    ds = ScanNetRGBDDataset(data_root=root, frame_skip=2)
    ids = [(ds[i]['scene'], ds[i]['frame_id']) for i in range(len(ds))]
    assert ids == [('scene0000_00', '000000'), ('scene0000_00', '000200'),
                   ('scene0000_00', '001000'), ('scene0001_00', '000000'),
                   ('scene0001_00', '000200')]
    with pytest.raises(ValueError):
        ScanNetRGBDDataset(data_root=root, frame_skip=0)


def test_scene_list(root):
    ds = ScanNetRGBDDataset(data_root=root, ann_file='scannetv2_train.txt')
    assert len(ds) == 3 and {ds[i]['scene'] for i in range(3)} == {'scene0001_00'}
    ds = ScanNetRGBDDataset(data_root=root, ann_file=osp.join(root, 'scannetv2_train.txt'))
    assert len(ds) == 3
    ds = ScanNetRGBDDataset(data_root=root, scenes=['scene0001_00', 'scene0000_00'])
    assert ds[0]['scene'] == 'scene0001_00' and len(ds) == 8
    with pytest.raises(FileNotFoundError, match='scene0099_00'):
        ScanNetRGBDDataset(data_root=root, scenes=['scene0099_00'])
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        ScanNetRGBDDataset(data_root=root, ann_file='missing.txt')
    with pytest.raises(ValueError):
        ScanNetRGBDDataset(data_root=root, ann_file='scannetv2_train.txt', scenes=['a'])


def test_required_modalities(tmp_path):
    d = make_scene(tmp_path, 'scene0000_00', [0, 1, 2, 3], label=False, pose=False)
    os.remove(osp.join(d, 'depth', '000002.png'))
    missing = osp.join(d, 'depth', '000002.png')
    with pytest.raises(FileNotFoundError) as e:
        ScanNetRGBDDataset(data_root=str(tmp_path))
    assert missing in str(e.value)

    ds = ScanNetRGBDDataset(data_root=str(tmp_path), skip_incomplete=True)
    assert [ds[i]['frame_id'] for i in range(len(ds))] == ['000000', '000001', '000003']
    assert 'seg_map_path' not in ds[0] and 'pose' not in ds[0]
    assert 'instance_path' in ds[0]

    with pytest.raises(FileNotFoundError, match=r'label.000000\.png'):
        ScanNetRGBDDataset(data_root=str(tmp_path), required=('color', 'depth', 'label'),
                           skip_incomplete=False)
    with pytest.raises(ValueError, match='no frame'):
        ScanNetRGBDDataset(data_root=str(tmp_path), required=('color', 'depth', 'pose'),
                           skip_incomplete=True)
    with pytest.raises(ValueError, match='unknown'):
        ScanNetRGBDDataset(data_root=str(tmp_path), required=('color', 'depth', 'normals'))


def test_skip_logged(tmp_path):
    d = make_scene(tmp_path, 'scene0000_00', [0, 1, 2])
    os.remove(osp.join(d, 'color', '000001.jpg'))
    logger = MMLogger.get_instance('test_skip_logged')
    messages = []

    class Collect(logging.Handler):

        def emit(self, record):
            messages.append(record.getMessage())

    handler = Collect()
    logger.addHandler(handler)
    try:
        ds = ScanNetRGBDDataset(data_root=str(tmp_path), skip_incomplete=True)
    finally:
        logger.removeHandler(handler)
    assert len(ds) == 2
    assert any('skipped 1 frame' in m for m in messages), messages


def test_intrinsics_optional_or_required(tmp_path):
    make_scene(tmp_path, 'scene0000_00', [0], intrinsics=False)
    ds = ScanNetRGBDDataset(data_root=str(tmp_path))
    assert 'depth_intrinsics' not in ds[0]
    with pytest.raises(FileNotFoundError, match='intrinsics_color.txt'):
        ScanNetRGBDDataset(data_root=str(tmp_path), required=('color', 'depth', 'intrinsics'))


def test_empty_root(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path))):
        ScanNetRGBDDataset(data_root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match='does_not_exist'):
        ScanNetRGBDDataset(data_root=str(tmp_path / 'does_not_exist'))
    (tmp_path / 'scene0000_00' / 'color').mkdir(parents=True)
    with pytest.raises(ValueError, match='no frame'):
        ScanNetRGBDDataset(data_root=str(tmp_path))


def test_lazy_init_and_serialize(root):
    ds = ScanNetRGBDDataset(data_root=root, lazy_init=True)
    assert not ds._fully_initialized
    ds.full_init()
    assert len(ds) == 8
    ds = ScanNetRGBDDataset(data_root=root, serialize_data=False, indices=2)
    assert len(ds) == 2


def test_synthetic_scannet(request):
    try:
        root = request.getfixturevalue('synthetic_scannet')
    except pytest.FixtureLookupError:
        pytest.skip('synthetic_scannet fixture not available')
    ds = ScanNetRGBDDataset(
        data_root=str(root), required=('color', 'depth', 'label', 'instance', 'pose'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='mask3d_mm.LoadDepthFromFile')])
    assert len(ds) == 8
    out = ds[0]
    assert out['depth'].shape == (120, 160) and out['img'].shape[:2] == (240, 320)
    assert out['depth'].dtype == np.float32 and out['depth'].max() <= 10
    assert {'seg_map_path', 'instance_path', 'pose', 'depth_intrinsics'} <= set(out)
    assert len(ScanNetRGBDDataset(data_root=str(root), frame_skip=2)) == 4


def test_repr(root):
    r = repr(ScanNetRGBDDataset(data_root=root, frame_skip=2))
    assert 'Number of frames: 5' in r and 'Frame skip: 2' in r
    assert 'not yet loaded' in repr(ScanNetRGBDDataset(data_root=root, lazy_init=True))
