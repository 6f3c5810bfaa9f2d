"""TaskonomyDataset on stand-ins of its layouts (tests/helpers/native_layouts/taskonomy): metres
(1/512 m, 65535 = none), intrinsics from point_info's field of view, building lists, errors."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from helpers.native_layouts.common import depth_pipeline, write_text
from helpers.native_layouts.taskonomy import write_split_csv, write_taskonomy
from mask3d_mm.datasets.sources.taskonomy import TaskonomyDataset, read_buildings
from mask3d_mm.datasets.transforms.loading import ImplausibleDepthError

BUILDINGS = ('allensville', 'cauthron')


def _check(ds, written):
    assert len(ds) == len(written)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        exp = written[(info['scene'], info['frame_id'])]
        assert info['depth_encoding'] == 'taskonomy' and info['source'] == 'taskonomy'
        np.testing.assert_allclose(info['depth_intrinsics'], exp['k'], rtol=1e-6)
        np.testing.assert_allclose(info['color_intrinsics'], exp['k'], rtol=1e-6)
        depth = ds[i]['depth']
        # multiples of 1/512 m, exact up to float32; 65535 (no surface) -> 0
        np.testing.assert_allclose(depth, exp['depth'], atol=1e-6)
        assert (depth == 0).mean() > 0.04


@pytest.mark.parametrize('layout', ['omnidata', 'building'])
def test_metres_and_intrinsics(tmp_path, layout):
    written = write_taskonomy(str(tmp_path), layout=layout, buildings=BUILDINGS)
    ds = TaskonomyDataset(data_root=str(tmp_path), pipeline=depth_pipeline())
    assert [(ds.get_data_info(i)['scene'], ds.get_data_info(i)['frame_id'])
            for i in range(len(ds))] == [
                (b, f) for b in BUILDINGS
                for f in ('point_0_view_0', 'point_0_view_1', 'point_12_view_0')]
    info = ds.get_data_info(0)
    if layout == 'omnidata':
        assert info['depth_path'].endswith(
            'depth_zbuffer/taskonomy/allensville/point_0_view_0_domain_depth_zbuffer.png')
        assert info['img_path'].endswith('rgb/taskonomy/allensville/point_0_view_0_domain_rgb.png')
    else:
        assert info['depth_path'].endswith(
            'allensville/depth_zbuffer/point_0_view_0_domain_depth_zbuffer.png')
    # f = (res / 2) / tan(fov / 2) of the 128-pixel stand-in images, fov 1 rad
    assert info['depth_intrinsics'][0, 0] == pytest.approx(64 / np.tan(0.5), rel=1e-6)
    _check(ds, written)


def test_single_building_folder(tmp_path):
    """The sample building (taskonomy-sample-model-1) is one building's domain folders."""
    written = write_taskonomy(str(tmp_path), layout='building', buildings=('cauthron', ))
    ds = TaskonomyDataset(data_root=str(tmp_path / 'cauthron'), pipeline=depth_pipeline())
    _check(ds, written)


def test_point_info_optional(tmp_path):
    root = str(tmp_path)
    write_taskonomy(root, layout='omnidata')
    ds = TaskonomyDataset(data_root=root, point_info=False)
    assert all('depth_intrinsics' not in ds.get_data_info(i) for i in range(len(ds)))
    os.remove(osp.join(root, 'point_info/taskonomy/allensville/'
                       'point_0_view_1_domain_point_info.json'))
    ds = TaskonomyDataset(data_root=root)
    assert ['depth_intrinsics' in ds.get_data_info(i) for i in range(3)] == [True, False, True]
    write_text(osp.join(root, 'point_info/taskonomy/allensville/'
                        'point_0_view_0_domain_point_info.json'), '{"resolution": 512}')
    with pytest.raises(ValueError, match=r'point_0_view_0_domain_point_info.json has no usable '
                                         'field_of_view_rads'):
        TaskonomyDataset(data_root=root)


def test_building_lists(tmp_path):
    root = str(tmp_path)
    write_taskonomy(root, layout='omnidata', buildings=BUILDINGS)
    split = write_split_csv(str(tmp_path / 'train_val_test_tiny.csv'),
                            {'allensville': 'train', 'cauthron': 'test', 'wando': 'test'})
    assert read_buildings(split, 'train') == ['allensville']
    ds = TaskonomyDataset(data_root=root, ann_file=split, split='train')
    assert {ds.get_data_info(i)['scene'] for i in range(len(ds))} == {'allensville'}
    with pytest.raises(FileNotFoundError, match=r'1 building\(s\) of building list .* not found '
                                                r'under .*: wando'):
        TaskonomyDataset(data_root=root, ann_file=split, split='test')
    ds = TaskonomyDataset(data_root=root, ann_file=split, split='test', skip_incomplete=True)
    assert {ds.get_data_info(i)['scene'] for i in range(len(ds))} == {'cauthron'}
    listing = write_text(str(tmp_path / 'buildings.txt'), 'cauthron\n')
    assert len(TaskonomyDataset(data_root=root, ann_file=listing, frame_skip=2)) == 2
    assert len(TaskonomyDataset(data_root=root, buildings=['allensville'])) == 3


def test_missing_rgb(tmp_path):
    root = str(tmp_path)
    write_taskonomy(root)
    rgb = osp.join(root, 'allensville/rgb/point_0_view_1_domain_rgb.png')
    os.remove(rgb)
    with pytest.raises(FileNotFoundError,
                       match=f'frame allensville/point_0_view_1 has no rgb image {rgb}'):
        TaskonomyDataset(data_root=root)
    assert len(TaskonomyDataset(data_root=root, skip_incomplete=True)) == 2


def test_wrong_layout_names_the_folder(tmp_path):
    root = str(tmp_path)
    write_taskonomy(root, layout='building')
    # an early release's domain names (depth/ instead of depth_zbuffer/)
    b = osp.join(root, 'allensville')
    shutil.move(osp.join(b, 'depth_zbuffer'), osp.join(b, 'depth'))
    with pytest.raises(FileNotFoundError) as e:
        TaskonomyDataset(data_root=b)
    msg = str(e.value)
    assert f'{b} has no depth_zbuffer/ folder' in msg and 'holds depth/, point_info/, rgb/' in msg
    assert 'depth/ is the folder name of an early release' in msg
    with pytest.raises(FileNotFoundError, match=f'{root} has no depth_zbuffer/ folder.*'
                                                'holds allensville/'):
        TaskonomyDataset(data_root=root)
    # the Omnidata download of another component
    os.makedirs(osp.join(root, 'omni', 'depth_zbuffer', 'replica', 'frl_apartment_0'))
    os.makedirs(osp.join(root, 'omni', 'rgb', 'replica'))
    with pytest.raises(FileNotFoundError, match='has depth_zbuffer/ but neither '
                                                'depth_zbuffer/taskonomy/<building>/'):
        TaskonomyDataset(data_root=osp.join(root, 'omni'))


def test_wrong_encoding_fires_the_plausibility_check(tmp_path):
    """1/512 m read as Matterport's 0.25 mm: a room shrunk ~8x."""
    write_taskonomy(str(tmp_path))
    ds = TaskonomyDataset(data_root=str(tmp_path), encoding='matterport',
                          pipeline=depth_pipeline())
    path = ds.get_data_info(0)['depth_path']
    with pytest.raises(ImplausibleDepthError,
                       match=f"depth file {path} looks implausible for encoding='matterport'"):
        ds[0]


def test_documented_snippet_builds(tmp_path):
    """docs/data_preparation.md's Taskonomy snippet on an Omnidata-layout stand-in (data_root
    replaced; the split CSV where the snippet expects it)."""
    from helpers.native_layouts.doc_snippets import snippet_dataset_cfg
    from mask3d_mm.registry import DATASETS
    root = str(tmp_path)
    written = write_taskonomy(root, layout='omnidata', buildings=BUILDINGS)
    cfg = snippet_dataset_cfg('TaskonomyDataset')
    write_split_csv(osp.join(root, cfg['ann_file']), {'allensville': 'train', 'cauthron': 'val'})
    ds = DATASETS.build(dict(cfg, data_root=root))
    _check(ds, {k: v for k, v in written.items() if k[0] == 'allensville'})
