"""NYUv2 .mat conversion (MATLAB v7.3 layout through h5py) and the 40-class dataset."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import os
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope

from mask3d_mm.converters.nyuv2 import convert_nyuv2, read_class_mapping, read_splits
from helpers.seg_data import NYU_HW, NYU_TEST, NYU_TRAIN, REPO, write_splits_mat


def expected_labels40(frames: dict, n: int) -> np.ndarray:
    lut = np.concatenate([[0], frames['map_class']]).astype(np.uint8)
    return lut[frames['raw'][n]]


def test_converter_writes_frames_right_way_round(nyuv2_mats, tiny_nyuv2):
    frames = nyuv2_mats['frames']
    for split, ids in (('train', NYU_TRAIN), ('test', NYU_TEST)):
        names = sorted(os.listdir(osp.join(tiny_nyuv2, 'images', split)))
        assert names == [f'{i:04d}.png' for i in ids]
        for i in ids:
            n = i - 1
            img = cv2.imread(osp.join(tiny_nyuv2, 'images', split, f'{i:04d}.png'))
            assert img.shape == NYU_HW + (3, )
            np.testing.assert_array_equal(img[..., ::-1], frames['rgb'][n])  # RGB on disk
            lbl = cv2.imread(osp.join(tiny_nyuv2, 'labels40', split, f'{i:04d}.png'), -1)
            assert lbl.dtype == np.uint8 and lbl.shape == NYU_HW
            np.testing.assert_array_equal(lbl, expected_labels40(frames, n))
            assert (lbl[:4] == 0).all() and lbl.max() <= 40
            depth = cv2.imread(osp.join(tiny_nyuv2, 'depth', split, f'{i:04d}.png'), -1)
            assert depth.dtype == np.uint16 and depth.shape == NYU_HW
            mm = np.round(frames['depth'][n].astype(np.float64) * 1000)
            np.testing.assert_array_equal(depth, mm)


def test_splits_v5_and_v73_agree(tmp_path):
    for v73 in (False, True):
        path = str(tmp_path / f'splits_{v73}.mat')
        write_splits_mat(path, v73=v73)
        train, test = read_splits(path)
        assert train.tolist() == [i - 1 for i in NYU_TRAIN]
        assert test.tolist() == [i - 1 for i in NYU_TEST]


def test_mapping_alternatives(nyuv2_mats, tmp_path):
    from_mat = read_class_mapping(nyuv2_mats['paths']['mapping'])
    assert from_mat.shape == (895, ) and from_mat[0] == 0
    np.testing.assert_array_equal(from_mat[1:], nyuv2_mats['frames']['map_class'])
    np.save(tmp_path / 'map.npy', nyuv2_mats['frames']['map_class'])
    np.savetxt(tmp_path / 'map.txt', nyuv2_mats['frames']['map_class'], fmt='%d')
    for name in ('map.npy', 'map.txt'):
        np.testing.assert_array_equal(read_class_mapping(str(tmp_path / name)), from_mat)
    np.save(tmp_path / 'bad.npy', np.arange(100))
    with pytest.raises(ValueError, match='expected 894'):
        read_class_mapping(str(tmp_path / 'bad.npy'))


def test_cli_counts(nyuv2_mats, tmp_path, monkeypatch, capsys):
    p = nyuv2_mats['paths']
    out = tmp_path / 'out'
    monkeypatch.setattr(sys, 'argv', [
        'nyuv2_mat.py', p['labeled'], p['splits'], str(out), '--mapping', p['mapping'],
        '--no-depth'])
    runpy.run_path(osp.join(REPO, 'tools/dataset_converters/nyuv2_mat.py'), run_name='__main__')
    assert "{'train': 3, 'test': 2}" in capsys.readouterr().out
    assert len(os.listdir(out / 'labels40' / 'test')) == 2 and not (out / 'depth').exists()


def test_rejects_non_hdf5_labeled_mat(nyuv2_mats, tmp_path):
    p = nyuv2_mats['paths']
    with pytest.raises(ValueError, match='v7.3'):
        convert_nyuv2(p['splits'], p['splits'], str(tmp_path), p['mapping'])  # a v5 file


def test_dataset_reduces_zero_label(nyuv2_mats, tiny_nyuv2):
    from mask3d_mm.registry import DATASETS
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')]
    with DefaultScope.overwrite_default_scope('mmseg'):
        train = DATASETS.build(dict(type='mask3d_mm.NYUv2SegDataset', data_root=tiny_nyuv2,
                                    pipeline=pipeline))
        test = DATASETS.build(dict(
            type='mask3d_mm.NYUv2SegDataset', data_root=tiny_nyuv2, test_mode=True,
            data_prefix=dict(img_path='images/test', seg_map_path='labels40/test'),
            pipeline=pipeline))
    assert len(train) == 3 and len(test) == 2
    assert len(train.metainfo['classes']) == 40 and train.metainfo['classes'][38] == \
        'otherfurniture'
    gt = test[0]['data_samples'].gt_sem_seg.data[0].numpy()
    labels40 = expected_labels40(nyuv2_mats['frames'], NYU_TEST[0] - 1).astype(np.int64)
    np.testing.assert_array_equal(gt, np.where(labels40 == 0, 255, labels40 - 1))
