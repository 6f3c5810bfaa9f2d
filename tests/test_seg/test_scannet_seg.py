"""ScanNetSegDataset on the frames layout: discovery, NYU40 -> 20-class mapping, alignment."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope

from mask3d_mm.registry import DATASETS, TRANSFORMS

# NYU40 id -> ScanNet-20 train id, written out from the benchmark's class list
EXPECTED = {1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 7, 9: 8, 10: 9, 11: 10, 12: 11, 14: 12,
            16: 13, 24: 14, 28: 15, 33: 16, 34: 17, 36: 18, 39: 19}
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='mask3d_mm.AlignImageTo', reference='gt_seg_map'), dict(type='PackSegInputs')]


def build(**kwargs):
    with DefaultScope.overwrite_default_scope('mmseg'):
        return DATASETS.build(dict(type='mask3d_mm.ScanNetSegDataset', **kwargs))


@pytest.fixture
def all_ids_root(tmp_path):
    """One scene, 3 frames: color 24x32 (2x the label), label 12x16 holding every id 0..40 (and
    255 in the last row), no depth folder."""
    scene = tmp_path / 'scenes' / 'scene0000_00'
    os.makedirs(scene / 'color')
    os.makedirs(scene / 'label')
    label = np.full((12, 16), 255, np.uint8)
    label.flat[:41] = np.arange(41)
    for i in range(3):
        cv2.imwrite(str(scene / 'color' / f'{i:06d}.jpg'), np.full((24, 32, 3), 100, np.uint8))
        cv2.imwrite(str(scene / 'label' / f'{i:06d}.png'), label)
    (tmp_path / 'scenes' / 'train.txt').write_text('scene0000_00\n')
    return tmp_path


def test_nyu40_ids_map_to_20_classes(all_ids_root):
    ds = build(data_root=str(all_ids_root / 'scenes'), pipeline=PIPELINE)
    assert len(ds.metainfo['classes']) == 20 and len(ds.metainfo['palette']) == 20
    assert ds.metainfo['classes'][12] == 'desk' and ds.metainfo['classes'][19] == \
        'otherfurniture'
    gt = ds[0]['data_samples'].gt_sem_seg.data[0].numpy()
    got = gt.flat[:41]
    for nyu in range(41):
        assert got[nyu] == EXPECTED.get(nyu, 255), f'NYU40 id {nyu}'
    assert (gt.flat[41:] == 255).all()
    assert 'depth_path' not in ds.get_data_info(0)  # depth is optional here


def test_class_subset_composes_with_the_mapping(all_ids_root):
    ds = build(data_root=str(all_ids_root / 'scenes'), pipeline=PIPELINE,
               metainfo=dict(classes=('floor', 'wall', 'chair')))
    gt = ds[0]['data_samples'].gt_sem_seg.data[0].numpy().flat[:41]
    assert (gt[2], gt[1], gt[5]) == (0, 1, 2)  # floor, wall, chair
    assert set(gt.tolist()) == {0, 1, 2, 255}
    assert ds.metainfo['palette'][0] == [152, 223, 138]  # floor's color moved along


def test_relative_root_scene_list_and_frame_skip(all_ids_root, monkeypatch):
    monkeypatch.chdir(all_ids_root)  # a relative data_root must not join the list twice
    ds = build(data_root='scenes/', ann_file='train.txt', frame_skip=2, pipeline=PIPELINE)
    assert [ds.get_data_info(i)['frame_id'] for i in range(len(ds))] == ['000000', '000002']
    assert ds[1]['inputs'].shape == (3, 12, 16)  # color aligned to the label grid


def test_synthetic_frames(synthetic_scannet):
    ds = build(data_root=synthetic_scannet, scenes=['scene0001_00'], pipeline=PIPELINE)
    assert len(ds) == 4
    info = ds.get_data_info(0)
    assert info['scene'] == 'scene0001_00' and osp.isfile(info['depth_path'])
    out = ds[0]
    gt = out['data_samples'].gt_sem_seg.data[0].numpy()
    raw = cv2.imread(info['seg_map_path'], cv2.IMREAD_UNCHANGED)
    assert out['inputs'].shape == (3, ) + raw.shape  # 240x320 color -> 120x160 labels
    for nyu in np.unique(raw):
        assert np.all(gt[raw == nyu] == EXPECTED.get(int(nyu), 255))


def test_missing_label_is_an_error_or_skipped(all_ids_root):
    os.remove(all_ids_root / 'scenes' / 'scene0000_00' / 'label' / '000001.png')
    with pytest.raises(FileNotFoundError, match='000001'):
        build(data_root=str(all_ids_root / 'scenes'))
    assert len(build(data_root=str(all_ids_root / 'scenes'), skip_incomplete=True)) == 2


def test_align_refuses_foreign_aspect_ratio():
    t = TRANSFORMS.build(dict(type='mask3d_mm.AlignImageTo', reference='gt_seg_map'))
    out = t(dict(img=np.zeros((968, 1296, 3), np.uint8), gt_seg_map=np.zeros((480, 640),
                                                                            np.uint8)))
    assert out['img'].shape == (480, 640, 3) and out['ori_shape'] == (480, 640)
    with pytest.raises(ValueError, match='aspect'):
        t(dict(img=np.zeros((480, 480, 3), np.uint8), gt_seg_map=np.zeros((480, 640), np.uint8)))
    with pytest.raises(KeyError, match='LoadAnnotations'):
        t(dict(img=np.zeros((4, 4, 3), np.uint8)))
