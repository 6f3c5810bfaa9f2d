"""RGBDFramesDataset (the base of the RGB-D readers), its layout errors and intrinsics files."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mask3d_mm.datasets import RGBDFramesDataset, ScanNetRGBDDataset
from mask3d_mm.datasets.intrinsics import intrinsics_from, parse_intrinsics, read_intrinsics
from mask3d_mm.datasets.rgbd_frames import check_layout, describe_folder, layout_error
from mask3d_mm.registry import DATASETS

K = np.array([[525.0, 0, 319.5], [0, 525.0, 239.5], [0, 0, 1]])


class _TumLike(RGBDFramesDataset):
    """A reader of ``<seq>/rgb/<n>.png`` + ``<seq>/depth/<n>.png`` (depth / 5000)."""
    DEPTH_ENCODING = 'tum'
    SOURCE = 'tumlike'
    LAYOUT = '<sequence>/rgb/<n>.png and <sequence>/depth/<n>.png'

    def scan(self):
        frames = []
        for seq in sorted(os.listdir(self.data_root)):
            rgb = osp.join(self.data_root, seq, 'rgb')
            if not osp.isdir(rgb):
                continue
            for name in sorted(os.listdir(rgb)):
                frames.append(dict(img_path=osp.join(rgb, name), scene=seq,
                                   depth_path=osp.join(self.data_root, seq, 'depth', name),
                                   frame_id=name[:-4], timestamp=float(name[:-4])))
        return frames


def _write_seq(root, seq, n, metres=2.0):
    for sub in ('rgb', 'depth'):
        os.makedirs(osp.join(root, seq, sub), exist_ok=True)
    for i in range(n):
        cv2.imwrite(osp.join(root, seq, 'rgb', f'{i}.png'), np.full((12, 16, 3), 9 * i, np.uint8))
        depth = np.full((12, 16), round(metres * 5000) + i, np.uint16)
        cv2.imwrite(osp.join(root, seq, 'depth', f'{i}.png'), depth)


@pytest.fixture
def root(tmp_path):
    _write_seq(str(tmp_path), 'seq_a', 5)
    _write_seq(str(tmp_path), 'seq_b', 3)
    return str(tmp_path)


PIPELINE = [dict(type='LoadImageFromFile'), dict(type='mask3d_mm.LoadDepthFromFile')]


def test_scan_skip_and_stamps(root):
    ds = _TumLike(data_root=root)
    assert len(ds) == 8
    info = ds[0]
    assert info['depth_encoding'] == 'tum' and info['source'] == 'tumlike'
    assert info['scene'] == 'seq_a' and info['frame_id'] == '0' and info['timestamp'] == 0.0
    ds = _TumLike(data_root=root, frame_skip=2)  # per scene: 0, 2, 4 of a; 0, 2 of b
    assert [(d['scene'], d['frame_id']) for d in (ds[i] for i in range(len(ds)))] == [
        ('seq_a', '0'), ('seq_a', '2'), ('seq_a', '4'), ('seq_b', '0'), ('seq_b', '2')]
    ds = _TumLike(data_root=root, encoding='scale:5000', source='mine')
    assert ds[0]['depth_encoding'] == 'scale:5000' and ds[0]['source'] == 'mine'
    assert 'Source: mine' in repr(ds) and 'Depth encoding: scale:5000' in repr(ds)


def test_pipeline_reads_the_sources_metres(root):
    ds = _TumLike(data_root=root, pipeline=PIPELINE)  # no encoding in the pipeline
    out = ds[1]
    assert out['depth'][0, 0] == pytest.approx(2.0 + 1 / 5000)
    # a pipeline contradicting the dataset's encoding is a config error, named with the frame
    ds = _TumLike(data_root=root, pipeline=[dict(type='mask3d_mm.LoadDepthFromFile',
                                                 encoding='scannet')])
    with pytest.raises(ValueError, match="depth_encoding='tum'") as e:
        ds[0]
    notes = ' '.join(getattr(e.value, '__notes__', []))
    assert not notes or ('on frame seq_a/0' in notes and 'depth_path=' in notes)


def test_bad_arguments_and_empty_roots(root, tmp_path):
    with pytest.raises(ValueError, match='unknown depth encoding'):
        _TumLike(data_root=root, encoding='kinect')
    with pytest.raises(ValueError, match='frame_skip'):
        _TumLike(data_root=root, frame_skip=0)
    with pytest.raises(ValueError, match='skip_bad_frames is for training only'):
        _TumLike(data_root=root, skip_bad_frames=True, test_mode=True)
    empty = tmp_path / 'empty'
    (empty / 'notes').mkdir(parents=True)
    with pytest.raises(FileNotFoundError) as e:
        _TumLike(data_root=str(empty))
    msg = str(e.value)
    assert f'no frame found under {empty}' in msg and _TumLike.LAYOUT in msg
    assert 'holds notes/' in msg

    class NoKeys(RGBDFramesDataset):
        def scan(self):
            return [dict(img_path='a.jpg', depth_path='a.png', scene='s')]

    with pytest.raises(ValueError, match=r"without \['frame_id'\]"):
        NoKeys(data_root=root)
    with pytest.raises(NotImplementedError, match='must implement scan'):
        RGBDFramesDataset(data_root=root)


def test_skip_bad_frames_refetches(root):
    os.remove(osp.join(root, 'seq_b', 'depth', '1.png'))
    ds = _TumLike(data_root=root, pipeline=PIPELINE, skip_bad_frames=True)
    out = ds[6]  # seq_b/1: replaced by another frame
    assert out['depth'].shape == (12, 16) and ds.num_bad_frames >= 1
    ds = _TumLike(data_root=root, pipeline=PIPELINE)
    with pytest.raises(FileNotFoundError, match='depth file not found'):
        ds[6]


def test_layout_errors(tmp_path):
    (tmp_path / 'rgb').mkdir()
    for i in range(10):
        (tmp_path / f'f{i}.txt').write_text('x')
    text = describe_folder(str(tmp_path))
    assert text.startswith('holds f0.txt, f1.txt') and '(11 entries)' in text
    assert describe_folder(str(tmp_path / 'nope')) == 'does not exist'
    with pytest.raises(FileNotFoundError) as e:
        check_layout(str(tmp_path), 'rgb/ and depth/ folders', ['rgb', 'depth'], owner='Reader',
                     found_hint='a TUM sequence has them')
    msg = str(e.value)
    assert msg.startswith(f'Reader: {tmp_path} has no depth: expected rgb/ and depth/ folders')
    assert 'holds f0.txt' in msg and '(a TUM sequence has them)' in msg
    err = layout_error(str(tmp_path / 'x'), 'a folder', 'is missing', error=ValueError)
    assert isinstance(err, ValueError) and 'does not exist' in str(err)


def test_read_intrinsics_formats(tmp_path):
    files = {
        'k3.txt': '525 0 319.5\n0 525 239.5\n0 0 1\n',
        'k3_commas.txt': '525, 0, 319.5\n0, 525, 239.5\n0, 0, 1\n',
        'k4.txt': '525 0 319.5 0\n0 525 239.5 0\n0 0 1 0\n0 0 0 1\n',
        'frame.pincam': '640 480 525 525 319.5 239.5\n',
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        k = read_intrinsics(str(tmp_path / name))
        assert k.dtype == np.float32 and k.shape == (3, 3)
        np.testing.assert_array_equal(k, K.astype(np.float32))
    assert parse_intrinsics(files['frame.pincam'], 'x.pincam')[1] == (640, 480)
    np.testing.assert_array_equal(intrinsics_from(525, 525, 319.5, 239.5), K)
    (tmp_path / 'bad.txt').write_text('1 2 3 4')
    with pytest.raises(ValueError, match=f'{tmp_path / "bad.txt"} holds 4 numbers'):
        read_intrinsics(str(tmp_path / 'bad.txt'))
    with pytest.raises(FileNotFoundError, match='intrinsics file not found'):
        read_intrinsics(str(tmp_path / 'none.txt'))


def test_scannet_is_a_frames_dataset_with_3x3_intrinsics(tmp_path):
    scene = tmp_path / 'scene0000_00'
    for sub in ('color', 'depth'):
        (scene / sub).mkdir(parents=True)
    cv2.imwrite(str(scene / 'color' / '000000.jpg'), np.zeros((12, 16, 3), np.uint8))
    cv2.imwrite(str(scene / 'depth' / '000000.png'), np.full((6, 8), 1500, np.uint16))
    np.savetxt(str(scene / 'intrinsics_depth.txt'), K)  # 3x3, as a user writes it
    ds = DATASETS.build(dict(type='mask3d_mm.ScanNetRGBDDataset', data_root=str(tmp_path),
                             pipeline=PIPELINE))
    assert isinstance(ds, RGBDFramesDataset) and isinstance(ds, ScanNetRGBDDataset)
    info = ds.get_data_info(0)
    assert info['depth_encoding'] == 'scannet' and info['source'] == 'scannet'
    np.testing.assert_array_equal(info['depth_intrinsics'], K.astype(np.float32))
    assert ds[0]['depth'][0, 0] == pytest.approx(1.5)
    ds = ScanNetRGBDDataset(data_root=str(tmp_path), encoding='tum', pipeline=PIPELINE)
    assert ds[0]['depth'][0, 0] == pytest.approx(0.3)
