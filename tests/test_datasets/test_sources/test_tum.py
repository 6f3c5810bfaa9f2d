"""TUMRGBDDataset on a stand-in of the benchmark's sequences: metres (/5000), association as
associate.py, intrinsics per camera, errors."""
import os
import os.path as osp
import random

import numpy as np
import pytest

from helpers.native_layouts.common import depth_pipeline
from helpers.native_layouts.tum import associate_reference, write_tum
from mask3d_mm.datasets.sources.tum import TUM_CAMERAS, TUMRGBDDataset, associate, read_file_list
from mask3d_mm.datasets.transforms.loading import ImplausibleDepthError


# the colour brought onto the depth grid through the frames' intrinsics (their size must fit)
ALIGN = [dict(type='mask3d_mm.AlignColorToDepth')]


@pytest.fixture(scope='module')
def tum(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('tum'))
    return root, write_tum(root)


def test_metres_association_and_intrinsics(tum):
    root, expected = tum
    ds = TUMRGBDDataset(data_root=root, pipeline=depth_pipeline(max_depth=10.0) + ALIGN)
    want = []
    for seq, exp in sorted(expected.items()):
        rgb = {float(s): n for s, n in exp['rgb'].items()}
        depth = {float(s): n for s, n in exp['depth'].items()}
        pairs = associate_reference(list(rgb), list(depth))
        assert len(pairs) == 8 and len(rgb) == 10  # 2 colour frames: no depth within 0.02 s
        want += [(seq, rgb[a], depth[b]) for a, b in pairs]
    got = [(ds.get_data_info(i)['scene'], ds.get_data_info(i)['img_path'],
            ds.get_data_info(i)['depth_path']) for i in range(len(ds))]
    assert got == [(s, osp.join(root, s, r), osp.join(root, s, d)) for s, r, d in want]
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        seq = info['scene']
        assert info['frame_id'] == osp.basename(info['img_path'])[:-4]
        assert info['depth_encoding'] == 'tum' and info['source'] == 'tum'
        fx, fy, cx, cy = TUM_CAMERAS['freiburg1' if 'freiburg1' in seq else 'freiburg3']
        np.testing.assert_allclose(info['depth_intrinsics'],
                                   [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], rtol=1e-6)
        np.testing.assert_allclose(info['color_intrinsics'], info['depth_intrinsics'])
        out = ds[i]
        assert out['img'].shape[:2] == out['depth'].shape == (480, 640)
        depth_file = osp.relpath(info['depth_path'], osp.join(root, seq))
        np.testing.assert_allclose(out['depth'], expected[seq]['metres'][depth_file], atol=1e-6)


def test_greedy_rule_and_reference_agree():
    # colour 3b (0.004 s) wins the depth frame colour 3 (0.006 s) wanted; 3 takes its next best
    assert associate([10.0, 10.01], [9.985, 10.006]) == [(10.0, 9.985), (10.01, 10.006)]
    assert associate([10.0], [10.03125], 0, 0.03125) == []  # strictly closer than the limit
    assert associate([10.0], [9.9], offset=0.1) == [(10.0, 9.9)]
    rng = random.Random(0)
    for _ in range(20):
        a = sorted(rng.uniform(0, 2) for _ in range(40))
        b = sorted(rng.uniform(0, 2) for _ in range(35))
        off = rng.uniform(-0.01, 0.01)
        assert associate(a, b, off, 0.03) == associate_reference(a, b, off, 0.03)


def test_read_file_list_as_associate_py():
    text = ('# color images\n# timestamp filename\n1.5 rgb/1.5.png\n2.0,rgb/2.0.png\n'
            '2.5\trgb/2.5.png extra\n3.0\n\n')
    assert read_file_list(text) == {1.5: ['rgb/1.5.png'], 2.0: ['rgb/2.0.png'],
                                    2.5: ['rgb/2.5.png', 'extra']}


def test_one_sequence_root_camera_and_options(tum):
    root, _ = tum
    seq = osp.join(root, 'rgbd_dataset_freiburg1_xyz')
    ds = TUMRGBDDataset(data_root=seq, camera='ros_default')
    assert len(ds) == 8 and ds.get_data_info(0)['scene'] == 'rgbd_dataset_freiburg1_xyz'
    np.testing.assert_allclose(ds.get_data_info(0)['depth_intrinsics'][0], [525, 0, 319.5])
    assert len(TUMRGBDDataset(data_root=seq, max_difference=0.005)) < 8
    assert len(TUMRGBDDataset(data_root=root, scenes=['rgbd_dataset_freiburg1_xyz'])) == 8
    with pytest.raises(ValueError, match='unknown TUM camera'):
        TUMRGBDDataset(data_root=seq, camera='freiburg4')


def test_wrong_layout_names_the_path(tum, tmp_path):
    root, _ = tum
    flat = tmp_path / 'flat'
    os.makedirs(flat / 'rgb')
    os.makedirs(flat / 'depth')
    with pytest.raises(FileNotFoundError) as e:
        TUMRGBDDataset(data_root=str(flat))
    msg = str(e.value)
    assert str(flat) in msg and 'rgb.txt' in msg and 'holds depth/, rgb/' in msg
    empty_list = tmp_path / 'rgbd_dataset_freiburg2_desk'
    os.makedirs(empty_list)
    (empty_list / 'rgb.txt').write_text('# color images\n')
    (empty_list / 'depth.txt').write_text('# depth maps\n')
    with pytest.raises(FileNotFoundError, match=str(empty_list / 'rgb.txt')):
        TUMRGBDDataset(data_root=str(empty_list))


def test_wrong_encoding_is_flagged(tum):
    root, _ = tum
    ds = TUMRGBDDataset(data_root=root, encoding='scannet', pipeline=depth_pipeline(max_depth=10.0))
    with pytest.raises(ImplausibleDepthError) as e:
        ds[0]
    assert osp.basename(ds.get_data_info(0)['depth_path']) in str(e.value)
    assert "encoding='tum'" in str(e.value)
