"""NYUv2RawDataset on a stand-in of the raw Kinect dump: metres from disparity, the toolbox's
frame synchronisation, intrinsics, errors."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from helpers.native_layouts.common import depth_pipeline
from helpers.native_layouts.nyuv2_raw import nearest_rgb, write_nyuv2_raw
from mask3d_mm.datasets.sources.nyuv2_raw import (NYU_DEPTH_INTRINSICS, NYU_RGB_INTRINSICS,
                                                  NYUv2RawDataset, sync_frames)
from mask3d_mm.datasets.transforms.loading import ImplausibleDepthError


# the colour brought onto the depth grid through the frames' intrinsics (their size must fit)
ALIGN = [dict(type='mask3d_mm.AlignColorToDepth')]


@pytest.fixture(scope='module')
def nyu_raw(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('nyu_raw'))
    return root, write_nyuv2_raw(root)


def test_metres_and_synchronisation(nyu_raw):
    root, expected = nyu_raw
    ds = NYUv2RawDataset(data_root=root, pipeline=depth_pipeline(max_depth=10.0) + ALIGN)
    assert len(ds) == sum(len(e['depth']) for e in expected.values()) == 8  # every depth frame
    shared = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        exp = expected[info['scene']]  # 'bedroom_0001', 'living_rooms_part1/living_room_0002a'
        depth = osp.basename(info['depth_path'])
        assert info['frame_id'] + '.pgm' == depth
        rgb = nearest_rgb(depth, exp['rgb'], exp['times'])
        assert info['img_path'] == osp.join(root, info['scene'], rgb)
        assert info['timestamp'] == pytest.approx(exp['times'][depth])
        shared.append(rgb)
        assert info['depth_encoding'] == 'nyu_raw' and info['source'] == 'nyuv2_raw'
        fx, fy, cx, cy = NYU_DEPTH_INTRINSICS
        np.testing.assert_allclose(info['depth_intrinsics'],
                                   [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], rtol=1e-6)
        fx, fy, cx, cy = NYU_RGB_INTRINSICS
        np.testing.assert_allclose(info['color_intrinsics'],
                                   [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], rtol=1e-6)
        out = ds[i]
        assert out['img'].shape[:2] == out['depth'].shape == (480, 640)
        np.testing.assert_allclose(out['depth'], exp['metres'][depth], rtol=1e-5, atol=1e-6)
        # within half a disparity step of the metres written: dm = m^2 / 351.3 per unit
        true = exp['true_metres'][depth]
        step = np.maximum(true, out['depth'])**2 / 351.3
        assert (np.abs(out['depth'] - true) <= 0.5 * step + 1e-4).all()
        assert (out['depth'][true == 0] == 0).all()  # 2047: no return
    # bedroom_0001's depth frame 2 has no colour frame of its own: it shares depth 1's
    assert shared[1] == shared[2] and len(set(shared[:5])) == 4
    assert 'r-1294886362.973013' in shared[0]  # the colour frame before depth 0, not after


def test_sync_frames_toolbox_rules():
    d = ['d-10.000000-1.pgm', 'd-11.000000-2.pgm', 'd-12.250000-3.pgm']
    r = ['r-09.500000-1.ppm', 'r-10.500000-2.ppm', 'r-12.000000-3.ppm', 'r-12.500000-4.ppm']
    pairs = sync_frames(d, r)
    # 10.0: 9.5 and 10.5 tie -> the later; 11.0: 10.5 (0.5) beats 12.0 (1.0);
    # 12.25: 12.0 and 12.5 tie -> the later
    assert [p[1] for p in pairs] == [r[1], r[1], r[3]]
    assert [p[2] for p in pairs] == [0.5, 0.5, 0.25]
    assert sync_frames(d, []) == []


def test_max_time_difference(nyu_raw):
    root, _ = nyu_raw
    ds = NYUv2RawDataset(data_root=root, scenes=['bedroom_0001'], max_time_difference=0.02)
    assert len(ds) == 4  # depth 2 (0.0294 s from its colour frame) dropped
    with pytest.raises(ValueError, match='max_time_difference'):
        NYUv2RawDataset(data_root=root, max_time_difference=0)


def test_wrong_layout_names_the_path(nyu_raw, tmp_path):
    root, expected = nyu_raw
    only_rgb = tmp_path / 'only_rgb' / 'bedroom_0001'
    os.makedirs(only_rgb)
    for n in expected['bedroom_0001']['rgb']:
        shutil.copy(osp.join(root, 'bedroom_0001', n), only_rgb / n)
    with pytest.raises(FileNotFoundError) as e:
        NYUv2RawDataset(data_root=str(tmp_path / 'only_rgb'))
    msg = str(e.value)
    assert str(tmp_path / 'only_rgb') in msg and 'd-<time>-<n>.pgm' in msg
    assert 'holds bedroom_0001/' in msg and 'no depth files' in msg
    zipped = tmp_path / 'zipped'
    os.makedirs(zipped)
    (zipped / 'bedrooms_part1.zip').write_bytes(b'PK')
    with pytest.raises(FileNotFoundError, match='unzip the raw dump zips first'):
        NYUv2RawDataset(data_root=str(zipped))
    # a scene with depth frames only: named, or skipped with skip_incomplete
    copy = tmp_path / 'copy'
    shutil.copytree(root, copy)
    for n in expected['bedroom_0001']['rgb']:
        os.remove(copy / 'bedroom_0001' / n)
    with pytest.raises(FileNotFoundError, match=str(copy / 'bedroom_0001')):
        NYUv2RawDataset(data_root=str(copy))
    assert len(NYUv2RawDataset(data_root=str(copy), skip_incomplete=True)) == 3


def test_wrong_encoding_is_flagged(nyu_raw):
    root, _ = nyu_raw
    ds = NYUv2RawDataset(data_root=root, encoding='scannet',
                         pipeline=depth_pipeline(max_depth=10.0))
    with pytest.raises(ImplausibleDepthError) as e:
        ds[0]
    assert osp.basename(ds.get_data_info(0)['depth_path']) in str(e.value)
    assert "'nyu_raw'" in str(e.value)  # the likely cause names the NYU raw encoding
