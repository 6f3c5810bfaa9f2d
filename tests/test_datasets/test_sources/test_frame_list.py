"""RGBDFrameListDataset on a synthetic stand-in of own captures: colour JPEGs and uint16 depth
PNGs at a custom scale (1/4000 m), intrinsics per folder or per frame, confidence maps."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mask3d_mm.datasets import RGBDFrameListDataset, RGBDFramesDataset
from mask3d_mm.datasets.sources.frame_list import glob_to_regex, natural_key
from mask3d_mm.registry import DATASETS

SCALE = 4000  # file value / 4000 = metres
H, W = 24, 32
K = np.array([[30.0, 0, 15.5], [0, 30.0, 11.5], [0, 0, 1]], np.float32)
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='mask3d_mm.LoadDepthFromFile')]


def metres(scene: int, i: int) -> np.ndarray:
    """The depth written for frame ``i`` of scene ``scene``: a slanted wall, 1.2-4.6 m."""
    v = np.linspace(0, 1, H)[:, None]
    u = np.linspace(0, 1, W)[None]
    return 1.2 + 2.5 * v + 0.5 * u + 0.1 * i + 0.2 * scene


def write_captures(root: str, scenes=('kitchen', 'office'), n=12, intrinsics=True):
    """``<scene>/rgb/<i>.jpg``, ``<scene>/depth/<i>.png`` (unpadded numbers: natural order
    matters), ``<scene>/intrinsics.txt`` (3x3)."""
    for s, scene in enumerate(scenes):
        for sub in ('rgb', 'depth', 'conf'):
            os.makedirs(osp.join(root, scene, sub), exist_ok=True)
        for i in range(n):
            cv2.imwrite(osp.join(root, scene, 'rgb', f'{i}.jpg'),
                        np.full((2 * H, 2 * W, 3), 10 * i, np.uint8))
            raw = np.round(metres(s, i) * SCALE).astype(np.uint16)
            cv2.imwrite(osp.join(root, scene, 'depth', f'{i}.png'), raw)
            conf = np.full((H, W), 2, np.uint8)
            conf[:, :4] = 0
            cv2.imwrite(osp.join(root, scene, 'conf', f'{i}.png'), conf)
        if intrinsics:
            np.savetxt(osp.join(root, scene, 'intrinsics.txt'), K)


@pytest.fixture
def root(tmp_path):
    write_captures(str(tmp_path))
    return str(tmp_path)


def test_globs_scale_and_folder_intrinsics(root):
    ds = DATASETS.build(dict(
        type='mask3d_mm.RGBDFrameListDataset', data_root=root, color_glob='*/rgb/*.jpg',
        depth_glob='*/depth/*.png', pair_by='stem', depth_scale=SCALE,
        intrinsics='intrinsics.txt', pipeline=PIPELINE))
    assert isinstance(ds, RGBDFramesDataset) and len(ds) == 24
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [f['frame_id'] for f in infos[:12]] == [f'depth/{i}' for i in range(12)]  # 9 < 10
    assert {f['scene'] for f in infos} == {'kitchen', 'office'}
    info = infos[13]
    assert info['scene'] == 'office' and info['img_path'] == osp.join(root, 'office', 'rgb',
                                                                       '1.jpg')
    assert info['depth_encoding'] == 'scale:4000' and info['source'] == 'frames'
    np.testing.assert_array_equal(info['depth_intrinsics'], K)
    assert 'color_intrinsics' not in info
    for idx, (s, i) in ((0, (0, 0)), (13, (1, 1)), (23, (1, 11))):
        out = ds[idx]
        assert out['img'].shape == (2 * H, 2 * W, 3)
        # the metres out of the pipeline are the metres written, within the quantisation
        assert np.abs(out['depth'] - metres(s, i)).max() <= 0.5 / SCALE + 1e-6
    ds = RGBDFrameListDataset(data_root=root, color_glob='*/rgb/*.jpg', frame_skip=5,
                              depth_glob='*/depth/*.png', depth_scale=SCALE)
    assert [ds.get_data_info(i)['frame_id'] for i in range(len(ds))] == [
        'depth/0', 'depth/5', 'depth/10'] * 2  # pair_by='order', per scene


def test_list_file_columns_and_confidence(root):
    lines = ['# colour depth [intrinsics] [confidence]', '',
             'kitchen/rgb/3.jpg kitchen/depth/3.png kitchen/intrinsics.txt kitchen/conf/3.png',
             'office/rgb/0.jpg  office/depth/0.png  -  office/conf/0.png',
             'office/rgb/1.jpg office/depth/1.png']
    with open(osp.join(root, 'frames.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='mask3d_mm.LoadDepthFromFile', min_confidence=1)]
    ds = RGBDFrameListDataset(data_root=root, ann_file='frames.txt', encoding=f'scale:{SCALE}',
                              color_intrinsics=dict(fx=60, fy=60, cx=31.5, cy=23.5),
                              pipeline=pipeline)
    assert len(ds) == 3 and ds.get_data_info(0)['scene'] == 'kitchen'
    np.testing.assert_array_equal(ds.get_data_info(0)['depth_intrinsics'], K)
    assert 'depth_intrinsics' not in ds.get_data_info(1)
    assert ds.get_data_info(2)['color_intrinsics'][0, 0] == 60
    out = ds[0]
    assert (out['depth'][:, :4] == 0).all()  # confidence 0 < min_confidence=1
    assert np.abs(out['depth'][:, 4:] - metres(0, 3)[:, 4:]).max() <= 0.5 / SCALE + 1e-6
    assert (ds[2]['depth'] > 0).all()  # no confidence map: every pixel kept
    # a missing file is named with its line; skip_incomplete skips it
    os.remove(osp.join(root, 'office', 'depth', '1.png'))
    with pytest.raises(FileNotFoundError, match=r'frames.txt line 5: .*office/depth/1.png not '
                                                r'found'):
        RGBDFrameListDataset(data_root=root, ann_file='frames.txt')
    assert len(RGBDFrameListDataset(data_root=root, ann_file='frames.txt',
                                    skip_incomplete=True)) == 2


def test_errors_name_the_problem(root, tmp_path):
    with pytest.raises(ValueError, match='either ann_file'):
        RGBDFrameListDataset(data_root=root)
    with pytest.raises(ValueError, match='either encoding or depth_scale'):
        RGBDFrameListDataset(data_root=root, color_glob='*/rgb/*.jpg',
                             depth_glob='*/depth/*.png', depth_scale=1000, encoding='tum')
    os.remove(osp.join(root, 'office', 'depth', '7.png'))
    with pytest.raises(ValueError, match=r"as many color files as depth files .* 24 match "
                                         r"color_glob='\*/rgb/\*.jpg', 23 match"):
        RGBDFrameListDataset(data_root=root, color_glob='*/rgb/*.jpg',
                             depth_glob='*/depth/*.png')
    with pytest.raises(FileNotFoundError, match=r'1 file\(s\) .* have no partner \(first: '
                                                r'office/rgb/7.jpg'):
        RGBDFrameListDataset(data_root=root, color_glob='*/rgb/*.jpg',
                             depth_glob='*/depth/*.png', pair_by='stem')
    assert len(RGBDFrameListDataset(data_root=root, color_glob='*/rgb/*.jpg', pair_by='stem',
                                    depth_glob='*/depth/*.png', skip_incomplete=True)) == 23
    with pytest.raises(FileNotFoundError, match=r"has no file matching depth_glob='\*/d/\*.png'"
                                                r'.*the folder holds kitchen/, office/'):
        RGBDFrameListDataset(data_root=root, color_glob='*/rgb/*.jpg', depth_glob='*/d/*.png')
    bare = str(tmp_path / 'bare')
    write_captures(bare, scenes=('lab', ), n=2, intrinsics=False)
    with pytest.raises(FileNotFoundError, match=r'no intrinsics file K.txt for the frames of '
                                                r'.*lab/depth: looked in lab/depth, lab, \.'):
        RGBDFrameListDataset(data_root=bare, color_glob='*/rgb/*.jpg',
                             depth_glob='*/depth/*.png', intrinsics='K.txt')
    with open(osp.join(bare, 'list.txt'), 'w') as f:
        f.write('lab/rgb/0.jpg\n')
    with pytest.raises(ValueError, match=r'list.txt line 1: expected "colour depth'):
        RGBDFrameListDataset(data_root=bare, ann_file='list.txt')
    with pytest.raises(ValueError, match='exactly the keys'):
        RGBDFrameListDataset(data_root=bare, ann_file='list.txt', intrinsics=dict(f=1))


def test_glob_and_natural_order():
    rx = glob_to_regex('*/color/*.jpg')
    assert rx.match('room1/color/0007.jpg').groups() == ('room1', '0007')
    assert rx.match('a/b/color/1.jpg') is None  # '*' stays within a name
    assert glob_to_regex('**/*_depth.png').match('a/b/7_depth.png').groups() == ('a/b/', '7')
    assert glob_to_regex('f[0-9].png').match('f3.png') and not glob_to_regex(
        'f[!0-9].png').match('f3.png')
    assert sorted(['f10.png', 'f9.png', 'f1.png'], key=natural_key) == [
        'f1.png', 'f9.png', 'f10.png']
