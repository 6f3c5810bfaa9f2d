"""SevenScenesDataset on a stand-in of 7-Scenes: metres (65535 invalid), splits, intrinsics,
errors."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from helpers.native_layouts.common import depth_pipeline
from helpers.native_layouts.seven_scenes import write_seven_scenes
from mask3d_mm.datasets.sources.seven_scenes import SevenScenesDataset, read_split
from mask3d_mm.datasets.transforms.loading import ImplausibleDepthError


# the colour brought onto the depth grid through the frames' intrinsics (their size must fit)
ALIGN = [dict(type='mask3d_mm.AlignColorToDepth')]


@pytest.fixture(scope='module')
def seven(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('7scenes'))
    return root, write_seven_scenes(root)


def test_metres_frames_and_intrinsics(seven):
    root, expected = seven
    ds = SevenScenesDataset(data_root=root, pipeline=depth_pipeline(max_depth=10.0) + ALIGN)
    want = [(seq, fid) for seq in sorted(expected) for fid in sorted(expected[seq])]
    got = [(ds.get_data_info(i)['scene'], ds.get_data_info(i)['frame_id'])
           for i in range(len(ds))]
    assert got == want and len(ds) == 3 * 3 + 2 * 2
    for i, (seq, fid) in enumerate(want):
        info = ds.get_data_info(i)
        assert info['img_path'] == osp.join(root, seq, fid + '.color.png')
        assert info['depth_path'] == osp.join(root, seq, fid + '.depth.png')
        assert info['depth_encoding'] == '7scenes' and info['source'] == '7scenes'
        np.testing.assert_allclose(info['depth_intrinsics'],
                                   [[585, 0, 320], [0, 585, 240], [0, 0, 1]])
        assert 'color_intrinsics' not in info  # colour and depth are not calibrated
        out = ds[i]
        assert out['img'].shape[:2] == out['depth'].shape == (480, 640)
        np.testing.assert_allclose(out['depth'], expected[seq][fid], atol=1e-6)
        assert (out['depth'] == 0).any()  # the 65535 pixels are invalid, not 65.5 m


def test_splits_scenes_and_one_scene_root(seven):
    root, _ = seven
    train = SevenScenesDataset(data_root=root, split='train')
    assert sorted({train.get_data_info(i)['scene'] for i in range(len(train))}) == \
        ['chess/seq-01', 'chess/seq-02', 'heads/seq-02']
    test = SevenScenesDataset(data_root=root, split='test', scenes=['heads'])
    assert {test.get_data_info(i)['scene'] for i in range(len(test))} == {'heads/seq-01'}
    one = SevenScenesDataset(data_root=osp.join(root, 'chess'), frame_skip=2)
    assert [one.get_data_info(i)['frame_id'] for i in range(len(one))] == \
        ['frame-000000', 'frame-000002'] * 3  # frame_skip counts per sequence
    assert read_split('sequence1\n\nsequence10\n') == ['seq-01', 'seq-10']
    with pytest.raises(ValueError, match='sequence<N>'):
        read_split('seq-01\n', 'TrainSplit.txt')
    with pytest.raises(ValueError, match="split must be 'train', 'test' or None"):
        SevenScenesDataset(data_root=root, split='val')


def test_wrong_layout_names_the_path(seven, tmp_path):
    root, _ = seven
    zipped = tmp_path / 'zipped' / 'chess'
    shutil.copytree(osp.join(root, 'chess'), zipped)
    shutil.rmtree(zipped / 'seq-03')
    (zipped / 'seq-03.zip').write_bytes(b'PK')
    with pytest.raises(FileNotFoundError) as e:
        SevenScenesDataset(data_root=str(tmp_path / 'zipped'), split='test')
    assert str(zipped) in str(e.value) and 'seq-03.zip but no seq-03/ folder' in str(e.value)
    archives = tmp_path / 'archives'
    os.makedirs(archives)
    (archives / 'chess.zip').write_bytes(b'PK')
    with pytest.raises(FileNotFoundError) as e:
        SevenScenesDataset(data_root=str(archives))
    assert str(archives) in str(e.value) and 'unzip chess.zip first' in str(e.value)
    # a frame without its depth file: named, or skipped with skip_incomplete
    copy = tmp_path / 'copy'
    shutil.copytree(osp.join(root, 'heads'), copy / 'heads')
    os.remove(copy / 'heads/seq-01/frame-000001.depth.png')
    with pytest.raises(FileNotFoundError, match='frame-000001.color.png has no'):
        SevenScenesDataset(data_root=str(copy))
    assert len(SevenScenesDataset(data_root=str(copy), skip_incomplete=True)) == 3


def test_wrong_encoding_is_flagged(seven):
    root, _ = seven
    ds = SevenScenesDataset(data_root=root, encoding='tum', pipeline=depth_pipeline(max_depth=10.0))
    with pytest.raises(ImplausibleDepthError) as e:
        ds[0]
    assert 'frame-000000.depth.png' in str(e.value) and "encoding='scannet'" in str(e.value)
