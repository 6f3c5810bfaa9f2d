"""Matterport3DDataset on a stand-in of a scan's undistorted images
(tests/helpers/native_layouts/matterport): metres (/4000), per-image intrinsics of the .conf
file, pairing without it, errors."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from helpers.native_layouts.common import depth_pipeline, write_text
from helpers.native_layouts.matterport import write_matterport
from mask3d_mm.datasets.sources.matterport import Matterport3DDataset, read_undistorted_conf
from mask3d_mm.datasets.transforms.loading import ImplausibleDepthError

SCANS = ('17DRP5sb8fy', '1LXtFkjw3qL')
UUID = '0f37bd0737e349de9d536263a4bdd60d'


@pytest.fixture(scope='module')
def scans(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('matterport') / 'v1' / 'scans')
    return root, write_matterport(root, scans=SCANS)


def test_metres_and_per_image_intrinsics(scans):
    root, written = scans
    ds = Matterport3DDataset(data_root=root, pipeline=depth_pipeline())
    assert len(ds) == len(written) == 12
    ids = [ds.get_data_info(i)['frame_id'] for i in range(6)]
    assert ids == [f'{UUID}_{c}_{y}' for c in range(3) for y in range(2)]  # the .conf's order
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        exp = written[(info['scene'], info['frame_id'])]
        assert info['depth_encoding'] == 'matterport' and info['source'] == 'matterport3d'
        cam, yaw = info['frame_id'].split('_')[1:]
        assert info['img_path'].endswith(f'undistorted_color_images/{UUID}_i{cam}_{yaw}.jpg')
        assert info['depth_path'].endswith(f'undistorted_depth_images/{UUID}_d{cam}_{yaw}.png')
        np.testing.assert_allclose(info['depth_intrinsics'], exp['k'], rtol=1e-5)
        np.testing.assert_allclose(info['color_intrinsics'], exp['k'], rtol=1e-5)
        assert info['pose'].shape == (4, 4)
        depth = ds[i]['depth']
        np.testing.assert_allclose(depth, exp['depth'], atol=1e-6)  # 0.25 mm steps, exact
    # each camera of the panorama has its own intrinsics line
    k0, k1 = ds.get_data_info(0)['depth_intrinsics'], ds.get_data_info(2)['depth_intrinsics']
    assert k0[0, 0] != k1[0, 0]


def test_conf_format(scans):
    root, _ = scans
    conf = osp.join(root, SCANS[0], 'undistorted_camera_parameters', f'{SCANS[0]}.conf')
    shots = read_undistorted_conf(conf)
    assert len(shots) == 6 and shots[0][:2] == (f'{UUID}_d0_0.png', f'{UUID}_i0_0.jpg')
    bad = write_text(str(osp.join(osp.dirname(root), 'bad.conf')),
                     'dataset matterport\nscan a_d0_0.png a_i0_0.jpg ' + ' '.join(['0'] * 16))
    with pytest.raises(ValueError, match=r'bad.conf, line 2: scan line before any '
                                         'intrinsics_matrix'):
        read_undistorted_conf(bad)


def test_scan_selection(scans, tmp_path):
    root, _ = scans
    ds = Matterport3DDataset(data_root=root, scans=[SCANS[1]], frame_skip=3)
    assert [ds.get_data_info(i)['frame_id'] for i in range(len(ds))] == [f'{UUID}_0_0',
                                                                          f'{UUID}_1_1']
    listing = write_text(str(tmp_path / 'scenes_val.txt'), f'{SCANS[0]}\n')
    ds = Matterport3DDataset(data_root=root, ann_file=listing)
    assert {ds.get_data_info(i)['scene'] for i in range(len(ds))} == {SCANS[0]}
    with pytest.raises(FileNotFoundError, match=r'1 scene\(s\) of scenes not found: nope'):
        Matterport3DDataset(data_root=root, scans=['nope'])


def test_without_conf_and_nested_folders(tmp_path):
    """No undistorted_camera_parameters: paired by name; zips unpacked into <scan>/<scan>/."""
    root = str(tmp_path)
    written = write_matterport(osp.join(root, 'tmp'), conf=False)
    os.makedirs(osp.join(root, 'scans'))
    shutil.move(osp.join(root, 'tmp', SCANS[0]), osp.join(root, 'scans', SCANS[0], SCANS[0]))
    ds = Matterport3DDataset(data_root=osp.join(root, 'scans'), pipeline=depth_pipeline())
    assert len(ds) == 6
    info = ds.get_data_info(0)
    assert 'depth_intrinsics' not in info
    assert f'{SCANS[0]}/{SCANS[0]}/undistorted_depth_images/' in info['depth_path']
    np.testing.assert_allclose(ds[0]['depth'], written[(info['scene'], info['frame_id'])]['depth'],
                               atol=1e-6)


def test_missing_image_of_the_conf(tmp_path):
    root = str(tmp_path)
    write_matterport(root)
    gone = osp.join(root, SCANS[0], 'undistorted_depth_images', f'{UUID}_d1_0.png')
    os.remove(gone)
    with pytest.raises(FileNotFoundError, match=f'scan {SCANS[0]}: {gone} not found'):
        Matterport3DDataset(data_root=root)
    assert len(Matterport3DDataset(data_root=root, skip_incomplete=True)) == 5


def test_wrong_layout_names_the_folder(scans):
    root, _ = scans
    scan = osp.join(root, SCANS[0])
    with pytest.raises(FileNotFoundError) as e:
        Matterport3DDataset(data_root=scan)
    msg = str(e.value)
    assert f'{scan} holds no scan folder with undistorted_depth_images/' in msg
    assert 'holds undistorted_camera_parameters/, undistorted_color_images/' in msg
    assert 'looks like one scan folder' in msg
    with pytest.raises(FileNotFoundError, match='point data_root at v1/scans'):
        Matterport3DDataset(data_root=osp.dirname(osp.dirname(root)))


def test_wrong_encoding_fires_the_plausibility_check(scans):
    """0.25 mm units read as millimetres: the room 4x too deep."""
    root, _ = scans
    ds = Matterport3DDataset(data_root=root, scans=[SCANS[0]], encoding='scannet',
                             pipeline=depth_pipeline())
    path = ds.get_data_info(0)['depth_path']
    with pytest.raises(ImplausibleDepthError,
                       match=f"depth file {path} looks implausible for encoding='scannet'.*"
                             "beyond max_depth.*Likely cause: the values decode plausibly as .*"
                             r"encoding='matterport' \(value / 4000\)"):
        ds[0]


def test_documented_snippet_builds(scans):
    """docs/data_preparation.md's Matterport3D snippet on the stand-in (data_root replaced)."""
    from helpers.native_layouts.doc_snippets import snippet_dataset_cfg
    from mask3d_mm.registry import DATASETS
    root, written = scans
    cfg = snippet_dataset_cfg('Matterport3DDataset')
    assert cfg['data_root'].endswith('v1/scans/')
    ds = DATASETS.build(dict(cfg, data_root=root))
    info = ds.get_data_info(0)
    np.testing.assert_allclose(ds[0]['depth'], written[(info['scene'], info['frame_id'])]['depth'],
                               atol=1e-6)
