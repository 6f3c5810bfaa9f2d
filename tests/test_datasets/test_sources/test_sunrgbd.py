"""SUNRGBDDataset on a stand-in of SUNRGBD.zip's layout: metres, pairing, intrinsics, errors."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from helpers.native_layouts.common import depth_pipeline
from helpers.native_layouts.sunrgbd import write_sunrgbd
from mask3d_mm.datasets.sources.sunrgbd import SUNRGBDDataset
from mask3d_mm.datasets.transforms.loading import ImplausibleDepthError


@pytest.fixture(scope='module')
def sunrgbd(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('sunrgbd'))
    return osp.join(root, 'SUNRGBD'), write_sunrgbd(root)


@pytest.mark.parametrize('bfx', [False, True])
def test_metres_pairing_and_intrinsics(sunrgbd, bfx):
    root, expected = sunrgbd
    ds = SUNRGBDDataset(data_root=root, depth_bfx=bfx, pipeline=depth_pipeline(max_depth=10.0))
    assert len(ds) == len(expected) == 8
    for i, exp in enumerate(expected):
        info = ds.get_data_info(i)
        assert info['scene'] == exp['scene']
        assert info['img_path'] == exp['img_path']  # SUN3D: 0000152-....jpg with 0000179-....png
        assert info['depth_path'] == exp['depth_bfx_path' if bfx else 'depth_path']
        assert info['depth_encoding'] == 'sunrgbd' and info['source'] == 'sunrgbd'
        np.testing.assert_allclose(info['depth_intrinsics'], exp['K'], rtol=1e-6)
        np.testing.assert_allclose(info['color_intrinsics'], exp['K'], rtol=1e-6)
        out = ds[i]
        np.testing.assert_allclose(out['depth'], exp['metres_bfx' if bfx else 'metres'],
                                   atol=1e-6)  # millimetres: exact after rotation
        assert out['img'].shape[:2] == out['depth'].shape


def test_sensors_and_scene_list(sunrgbd, tmp_path):
    root, expected = sunrgbd
    ds = SUNRGBDDataset(data_root=root, sensors=['xtion', 'kv1'])
    assert [ds.get_data_info(i)['scene'].split('/')[0] for i in range(len(ds))] == \
        ['xtion', 'xtion', 'kv1', 'kv1']
    listed = tmp_path / 'split.txt'
    listed.write_text('# two scenes\nkv2/align_kv2/2014-12-16_21-41-56_260595134347\n\n'
                      'kv1/NYUdata/NYU0001/\n')
    ds = SUNRGBDDataset(data_root=root, ann_file=str(listed))
    assert [ds.get_data_info(i)['frame_id'] for i in range(len(ds))] == ['0000074', 'NYU0001']
    with pytest.raises(ValueError, match='unknown SUN RGB-D sensors'):
        SUNRGBDDataset(data_root=root, sensors=['kv3'])
    with pytest.raises(FileNotFoundError, match='not found: kv1/NYUdata/NYU9999'):
        SUNRGBDDataset(data_root=root, scenes=['kv1/NYUdata/NYU9999'])


def test_wrong_layout_names_the_path(sunrgbd, tmp_path):
    root, _ = sunrgbd
    parent = osp.dirname(root)
    with pytest.raises(FileNotFoundError) as e:  # data_root one level too high
        SUNRGBDDataset(data_root=parent)
    assert parent in str(e.value) and 'kv1' in str(e.value)
    assert 'set data_root to' in str(e.value) and 'holds SUNRGBD/' in str(e.value)
    # a copy with one sensor only: asking for another names the missing folder
    part = tmp_path / 'SUNRGBD'
    shutil.copytree(osp.join(root, 'xtion'), part / 'xtion')
    assert len(SUNRGBDDataset(data_root=str(part))) == 2
    with pytest.raises(FileNotFoundError, match='has no sensor folder kv2'):
        SUNRGBDDataset(data_root=str(part), sensors=['kv2'])
    # a sensor folder without scene folders (e.g. flattened files)
    flat = tmp_path / 'flat'
    os.makedirs(flat / 'kv1')
    (flat / 'kv1' / 'NYU0001.jpg').write_bytes(b'')
    with pytest.raises(FileNotFoundError) as e:
        SUNRGBDDataset(data_root=str(flat))
    assert str(flat / 'kv1') in str(e.value) and 'holds NYU0001.jpg' in str(e.value)


def test_incomplete_scene(sunrgbd, tmp_path):
    root, _ = sunrgbd
    copy = tmp_path / 'SUNRGBD'
    shutil.copytree(osp.join(root, 'realsense'), copy / 'realsense')
    scene = copy / 'realsense/lg/2014_10_24-11_06_45-1311000073'
    os.remove(scene / 'intrinsics.txt')
    with pytest.raises(FileNotFoundError) as e:
        SUNRGBDDataset(data_root=str(copy))
    assert str(scene) in str(e.value) and 'intrinsics.txt' in str(e.value)
    ds = SUNRGBDDataset(data_root=str(copy), skip_incomplete=True)
    assert [ds.get_data_info(0)['frame_id']] == ['0000031'] and len(ds) == 1


def test_wrong_encoding_is_flagged(sunrgbd):
    root, _ = sunrgbd
    ds = SUNRGBDDataset(data_root=root, sensors=['kv1'], encoding='scannet',
                        pipeline=depth_pipeline(max_depth=10.0))
    with pytest.raises(ImplausibleDepthError) as e:
        ds[0]
    assert 'NYU0001.png' in str(e.value) and "encoding='sunrgbd'" in str(e.value)
