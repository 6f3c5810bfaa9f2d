"""RedwoodDataset on stand-ins of Redwood scans: metres, pairing by time / order / match file,
intrinsics, errors."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from helpers.native_layouts.common import depth_pipeline
from helpers.native_layouts.redwood import write_redwood
from mask3d_mm.datasets.sources.redwood import RedwoodDataset, pair_by_time
from mask3d_mm.datasets.transforms.loading import ImplausibleDepthError


# the colour brought onto the depth grid through the frames' intrinsics (their size must fit)
ALIGN = [dict(type='mask3d_mm.AlignColorToDepth')]


@pytest.fixture(scope='module')
def redwood(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('redwood'))
    return root, write_redwood(root)


def _check(ds, root, expected):
    seen = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        scan = info['scene']
        color = osp.relpath(info['img_path'], osp.join(root, scan))
        depth = osp.relpath(info['depth_path'], osp.join(root, scan))
        assert expected[scan]['pairs'][color] == depth
        assert info['depth_encoding'] == 'redwood' and info['source'] == 'redwood'
        np.testing.assert_allclose(info['depth_intrinsics'],
                                   [[525, 0, 319.5], [0, 525, 239.5], [0, 0, 1]])
        np.testing.assert_allclose(info['color_intrinsics'], info['depth_intrinsics'])
        out = ds[i]
        assert out['img'].shape[:2] == out['depth'].shape == (480, 640)
        np.testing.assert_allclose(out['depth'], expected[scan]['metres'][depth], atol=1e-6)
        seen.append((scan, color))
    return seen


def test_metres_and_pairing_by_time_and_order(redwood):
    root, expected = redwood
    ds = RedwoodDataset(data_root=root, scenes=['00033', 'livingroom'],
                        pipeline=depth_pipeline(max_depth=10.0) + ALIGN)
    seen = _check(ds, root, expected)
    assert seen == [(s, c) for s in ('00033', 'livingroom') for c in expected[s]['pairs']]
    # 00033: 4 colour frames on 5 depth frames; colour 3 and 4 share depth 4 (nearest in time)
    pairs = list(expected['00033']['pairs'].values())
    assert pairs[2] == pairs[3] and len(set(pairs)) == 3
    first = ds.get_data_info(0)
    assert first['frame_id'] == '0000001-000000016000' and first['timestamp'] == 0.016


def test_match_file_and_options(redwood, tmp_path):
    root, expected = redwood
    ds = RedwoodDataset(data_root=osp.join(root, 'matched'), match_file='match.txt',
                        pipeline=depth_pipeline(max_depth=10.0))
    assert _check(ds, root, expected) == [('matched', 'rgb/a.jpg'), ('matched', 'rgb/b.jpg')]
    ds = RedwoodDataset(data_root=root, scenes=['00033'], max_time_difference=0.0105)
    assert len(ds) == 1  # only colour 3 has a depth frame within 10.5 ms
    k = tmp_path / 'K.txt'
    k.write_text('500 0 320\n0 500 240\n0 0 1\n')
    ds = RedwoodDataset(data_root=root, scenes=['livingroom'], intrinsics=str(k))
    np.testing.assert_allclose(ds.get_data_info(0)['depth_intrinsics'][0], [500, 0, 320])
    ds = RedwoodDataset(data_root=root, scenes=['livingroom'], intrinsics=(1, 2, 3, 4))
    np.testing.assert_allclose(ds.get_data_info(0)['color_intrinsics'][1], [0, 2, 4])
    with pytest.raises(ValueError, match='pairing must be one of'):
        RedwoodDataset(data_root=root, pairing='nearest')
    t = pair_by_time(['rgb/1-000000000500.jpg'], ['depth/1-000000000000.png',
                                                  'depth/2-000000001000.png'])
    assert t == [('rgb/1-000000000500.jpg', 'depth/2-000000001000.png', 0.0005)]  # tie: later


def test_wrong_layout_names_the_path(redwood, tmp_path):
    root, _ = redwood
    with pytest.raises(ValueError) as e:  # unequal counts cannot be paired by order
        RedwoodDataset(data_root=root, scenes=['00033'], pairing='order')
    assert osp.join(root, '00033') in str(e.value) and 'has 4 colour and 5 depth' in str(e.value)
    flat = tmp_path / 'flat'
    os.makedirs(flat / 'depth')
    (flat / 'frames.zip').write_bytes(b'PK')
    with pytest.raises(FileNotFoundError) as e:
        RedwoodDataset(data_root=str(flat))
    assert str(flat) in str(e.value) and 'holds depth/, frames.zip' in str(e.value)
    copy = tmp_path / 'copy'
    shutil.copytree(osp.join(root, 'matched'), copy)
    os.remove(copy / 'depth' / 'z.png')
    with pytest.raises(FileNotFoundError, match=str(copy / 'depth' / 'z.png')):
        RedwoodDataset(data_root=str(copy), match_file='match.txt')
    assert len(RedwoodDataset(data_root=str(copy), match_file='match.txt',
                              skip_incomplete=True)) == 1


def test_wrong_encoding_is_flagged(redwood):
    root, _ = redwood
    ds = RedwoodDataset(data_root=root, scenes=['livingroom'], encoding='sunrgbd',
                        pipeline=depth_pipeline(max_depth=10.0))
    with pytest.raises(ImplausibleDepthError) as e:
        ds[0]
    assert '000000.png' in str(e.value) and "encoding='scannet'" in str(e.value)
