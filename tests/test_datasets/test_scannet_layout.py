"""Tests of the one owner of the ScanNet frames layout (mask3d_mm/datasets/scannet_layout.py)."""
import os
import os.path as osp

import numpy as np
import pytest

from mask3d_mm.datasets.scannet_layout import (FILE_LOADERS, ScanNetLayout, frame_name,
                                               frame_sort_key, read_matrix, write_matrix)


def _touch(path: str) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    open(path, 'w').close()


def test_matrix_text_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    mat = (rng.normal(size=(4, 4)) * 1000).astype(np.float32)
    mat[3] = -np.inf  # ScanNet's marker of a lost track
    path = str(tmp_path / 'pose.txt')
    write_matrix(path, mat)
    np.testing.assert_array_equal(read_matrix(path), mat)
    assert len(open(path).read().splitlines()) == 4
    with open(path, 'w') as f:
        f.write('1 2 3\n')
    with pytest.raises(ValueError, match=r'pose\.txt is not a 4x4 matrix'):
        read_matrix(path)


def test_frame_names_sort_numerically():
    assert frame_name(25) == '000025' and frame_name(25, padded=False) == '25'
    ids = ['10', '9', '000100', 'b', 'a', '0']
    assert sorted(ids, key=frame_sort_key) == ['0', '9', '10', '000100', 'a', 'b']


def test_scan_only_the_modalities_asked_for(tmp_path):
    """Unpadded SensReader names, a required label, depth optional and absent, pose never
    asked for: only color + label decide the frames."""
    scene = tmp_path / 'scene0000_00'
    for fid in ('0', '1', '2', '10'):
        _touch(str(scene / 'color' / f'{fid}.jpg'))
    for fid in ('0', '2', '10'):
        _touch(str(scene / 'label' / f'{fid}.png'))
    _touch(str(scene / 'pose' / '0.txt'))
    layout = ScanNetLayout(str(tmp_path))
    assert layout.scene_names() == ['scene0000_00']
    with pytest.raises(FileNotFoundError, match=r'frame 1 of scene scene0000_00 lacks .*1\.png'):
        layout.scan_scene('scene0000_00', required=('color', 'label'))
    frames, skipped = layout.scan_scene('scene0000_00', required=('color', 'label'),
                                        optional=('depth', ), skip_incomplete=True)
    assert [f['frame_id'] for f in frames] == ['0', '2', '10'] and skipped == [['label']]
    assert set(frames[0]['files']) == {'color', 'label'}  # no pose: not asked for
    assert frames[2]['files']['label'] == osp.join(str(scene), 'label', '10.png')
    frames = layout.scan(['scene0000_00'], required=('color', ), optional=('pose', ),
                         frame_skip=2)
    assert [(f['frame_id'], sorted(f['files'])) for f in frames] == [
        ('0', ['color', 'pose']), ('2', ['color'])]
    with pytest.raises(ValueError, match='no frame found'):
        layout.scan(['scene0000_00'], required=('instance', ))
    with pytest.raises(ValueError, match="unknown modality 'rgb'"):
        ScanNetLayout(str(tmp_path), suffixes=dict(rgb='.png'))


@pytest.mark.parametrize('sensreader', [False, True])
def test_cameras_of_both_layouts(tmp_path, sensreader):
    k = np.array([[500.5, 0, 320.25, 0], [0, 501, 240.125, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    scene = tmp_path / 'scene0000_00'
    (scene / 'intrinsic').mkdir(parents=True)
    if sensreader:
        write_matrix(str(scene / 'intrinsic' / 'intrinsic_depth.txt'), k)
        write_matrix(str(scene / 'intrinsic' / 'extrinsic_depth.txt'), np.eye(4))
    else:
        write_matrix(str(scene / 'intrinsics_depth.txt'), k)
    layout = ScanNetLayout(str(tmp_path))
    cams = layout.read_cameras('scene0000_00', dict(depth='me'))
    np.testing.assert_array_equal(cams['depth_intrinsics'], k[:3, :3].astype(np.float32))
    assert ('depth_extrinsics' in cams) == sensreader and 'color_intrinsics' not in cams
    with pytest.raises(FileNotFoundError, match=r'no color camera intrinsics, needed by you: '
                       r'looked for .*intrinsics_color\.txt and .*intrinsic_color\.txt'):
        layout.read_cameras('scene0000_00', dict(color='you'))


def test_file_loaders_are_the_layout_readers():
    names = {t.__name__ for t in FILE_LOADERS}
    assert names == {'LoadImageFromFile', 'LoadAnnotations', 'LoadDepthFromFile'}
