"""HypersimDataset on a stand-in of the scene layout (tests/helpers/native_layouts/hypersim):
ray distances (float16 HDF5) back to the planar metres they were computed from, per-scene
cameras of metadata_camera_parameters.csv, the v1 split file, errors."""
import logging
import os
import os.path as osp

import h5py
import numpy as np
import pytest
from mmengine.logging import MMLogger

from helpers.native_layouts.common import depth_pipeline
from helpers.native_layouts.hypersim import (DEFAULT_M, TILT_SHIFT_M, pixel_rays,
                                             write_camera_parameters, write_hypersim,
                                             write_split_csv)
from mask3d_mm.datasets.sources.hypersim import (HypersimDataset, intrinsics_from_m_cam_from_uv,
                                                 read_split)
from mask3d_mm.datasets.transforms.loading import ImplausibleDepthError

# float16 keeps 11 significant bits: a relative error of at most 2^-11 in the distance
F16_RTOL = 2.0**-11
# a lens shift small enough for LoadDepthFromFile to attribute K to the image size
SHIFT_M = np.array([[0.5773502886169104, 0, -0.01], [0, 0.4330127164626828, 0.015], [0, 0, -1.0]])


class _Collect(logging.Handler):

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _check_metres(ds, written, planar_of=lambda e: e['planar']):
    assert len(ds) == len(written)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        cam, frame = info['frame_id'].rsplit('_', 1)
        exp = planar_of(written[(info['scene'], cam, int(frame))])
        depth = ds[i]['depth']
        valid = exp > 0
        assert (depth[~valid] == 0).all()  # NaN (no surface) -> invalid
        np.testing.assert_allclose(depth[valid], exp[valid], rtol=F16_RTOL, atol=1e-6)


def test_default_camera_planar_metres(tmp_path):
    written = write_hypersim(str(tmp_path), scenes=('ai_001_001', 'ai_002_001'),
                             cameras=('cam_00', 'cam_01'))
    ds = HypersimDataset(data_root=str(tmp_path), pipeline=depth_pipeline())
    info = ds.get_data_info(0)
    assert [ds.get_data_info(i)['frame_id'] for i in range(4)] == [
        'cam_00_0000', 'cam_00_0001', 'cam_01_0000', 'cam_01_0001']
    assert info['scene'] == 'ai_001_001' and info['depth_encoding'] == 'hypersim'
    assert info['img_path'].endswith('images/scene_cam_00_final_preview/frame.0000.tonemap.jpg')
    assert info['depth_path'].endswith(
        'images/scene_cam_00_geometry_hdf5/frame.0000.depth_meters.hdf5')
    # Hypersim's camera (60 degrees horizontal fov) for its 1024x768 images
    np.testing.assert_allclose(info['depth_intrinsics'],
                               [[886.81, 0, 511.5], [0, 886.81, 383.5], [0, 0, 1]], atol=0.01)
    _check_metres(ds, written)
    with h5py.File(info['depth_path']) as f:
        assert f['dataset'].dtype == np.float16  # as Hypersim stores it


def test_native_size_frame(tmp_path):
    written = write_hypersim(str(tmp_path), num_frames=1, size=(768, 1024))
    _check_metres(HypersimDataset(data_root=str(tmp_path), pipeline=depth_pipeline()), written)


def test_per_scene_camera_parameters(tmp_path):
    root = str(tmp_path)
    m = {'ai_001_001': SHIFT_M, 'ai_003_001': TILT_SHIFT_M}
    written = write_hypersim(root, scenes=('ai_001_001', 'ai_002_001', 'ai_003_001'), m=m,
                             num_frames=1)
    write_camera_parameters(osp.join(root, 'metadata_camera_parameters.csv'),
                            dict(m, ai_002_001=DEFAULT_M), (96, 128))
    logger = MMLogger.get_instance('test_hypersim_cameras')  # the current logger now
    handler = _Collect()
    logger.addHandler(handler)
    try:  # found in data_root by default
        ds = HypersimDataset(data_root=root, pipeline=depth_pipeline())
    finally:
        logger.removeHandler(handler)
    k = {ds.get_data_info(i)['scene']: ds.get_data_info(i)['depth_intrinsics'] for i in range(3)}
    np.testing.assert_allclose(k['ai_001_001'], intrinsics_from_m_cam_from_uv(SHIFT_M, (128, 96)))
    assert k['ai_001_001'][0, 2] > 64 and k['ai_001_001'][1, 2] > 48  # shifted principal point
    # the tilt-shift scene keeps its own camera: each frame states the size its K is for
    np.testing.assert_allclose(k['ai_003_001'],
                               intrinsics_from_m_cam_from_uv(TILT_SHIFT_M, (128, 96)))
    np.testing.assert_allclose(k['ai_002_001'], intrinsics_from_m_cam_from_uv(DEFAULT_M,
                                                                              (128, 96)))
    assert all(ds.get_data_info(i)['depth_intrinsics_wh'] == (128, 96) for i in range(3))
    # the shifted camera's planar depth from its own rays (the stand-in casts them with
    # Hypersim's M_cam_from_uv, the reader's K is derived from it)
    written.pop(('ai_003_001', 'cam_00', 0))
    ds_ = HypersimDataset(data_root=root, scenes=['ai_001_001', 'ai_002_001'],
                          pipeline=depth_pipeline())
    _check_metres(ds_, written)
    # '' turns the file off; an explicit path must exist
    ds = HypersimDataset(data_root=root, camera_parameters='', scenes=['ai_001_001'])
    np.testing.assert_allclose(ds.get_data_info(0)['depth_intrinsics'][0, 2], 511.5)
    with pytest.raises(FileNotFoundError, match='camera parameters .*nope.csv does not exist'):
        HypersimDataset(data_root=root, camera_parameters='nope.csv')


@pytest.mark.parametrize('m', [DEFAULT_M, SHIFT_M, TILT_SHIFT_M], ids=['default', 'shift', 'tilt'])
def test_intrinsics_reproduce_hypersim_rays(m):
    """K (with the rotation of the RQ decomposition) casts the rays Hypersim's M_cam_from_uv
    casts: the angles between pixel rays agree, so planar depth with K keeps the geometry."""
    w, h = 1024, 768
    k = intrinsics_from_m_cam_from_uv(m, (w, h)).astype(np.float64)
    assert k[1, 0] == k[2, 0] == k[2, 1] == 0 and k[2, 2] == 1
    px = np.array([[0, 0], [1023, 0], [0, 767], [1023, 767], [511, 383], [100, 600]], float)
    rays_m = pixel_rays(m, w, h)[px[:, 1].astype(int), px[:, 0].astype(int)]
    rays_k = (np.linalg.inv(k) @ np.c_[px, np.ones(len(px))].T).T
    unit = lambda r: r / np.linalg.norm(r, axis=1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(unit(rays_k) @ unit(rays_k).T, unit(rays_m) @ unit(rays_m).T,
                               atol=1e-6)


def test_split_file(tmp_path):
    root = str(tmp_path)
    write_hypersim(root, scenes=('ai_001_001', 'ai_001_002'), num_frames=3)
    split = write_split_csv(osp.join(root, 'metadata_images_split_scene_v1.csv'), [
        ('ai_001_001', 'cam_00', 0, True, 'train'), ('ai_001_001', 'cam_00', 1, False, ''),
        ('ai_001_001', 'cam_00', 2, True, 'train'), ('ai_001_002', 'cam_00', 0, True, 'val'),
        ('ai_009_009', 'cam_00', 0, True, 'test')])
    assert read_split(split, 'train') == [('ai_001_001', 'cam_00', 0), ('ai_001_001', 'cam_00', 2)]
    ds = HypersimDataset(data_root=root, ann_file='metadata_images_split_scene_v1.csv',
                         split='train')
    assert [ds.get_data_info(i)['frame_id'] for i in range(len(ds))] == ['cam_00_0000',
                                                                          'cam_00_0002']
    ds = HypersimDataset(data_root=root, ann_file=split, split='val')
    assert len(ds) == 1 and ds.get_data_info(0)['scene'] == 'ai_001_002'
    # the test split's scene is not downloaded
    with pytest.raises(FileNotFoundError, match=r'1 scene\(s\) of .* not under .*: ai_009_009'):
        HypersimDataset(data_root=root, ann_file=split)
    assert len(HypersimDataset(data_root=root, ann_file=split, skip_incomplete=True)) == 3
    with pytest.raises(ValueError, match='split needs the split file as ann_file'):
        HypersimDataset(data_root=root, split='train')


def test_missing_colour_and_hdr_colour(tmp_path):
    root = str(tmp_path)
    write_hypersim(root, colour_missing=[('ai_001_001', 'cam_00', 1)])
    missing = osp.join(root, 'ai_001_001/images/scene_cam_00_final_preview/frame.0001.tonemap.jpg')
    with pytest.raises(FileNotFoundError, match=f'frame ai_001_001/cam_00/0001 lacks {missing}'):
        HypersimDataset(data_root=root)
    assert len(HypersimDataset(data_root=root, skip_incomplete=True)) == 1
    with pytest.raises(ValueError, match=r'HDR colour .* is not supported.*tonemap'):
        HypersimDataset(data_root=root, color_suffix='.color.hdf5')


def test_wrong_layout_names_the_folder(tmp_path):
    root = str(tmp_path / 'hypersim')
    write_hypersim(root)
    scene = osp.join(root, 'ai_001_001')
    with pytest.raises(FileNotFoundError) as e:
        HypersimDataset(data_root=scene)
    msg = str(e.value)
    assert f'{scene} holds no scene folder with an images/ folder' in msg
    assert 'the folder holds images/' in msg and 'looks like one scene folder' in msg
    with pytest.raises(FileNotFoundError, match="looks like a scene's images/ folder"):
        HypersimDataset(data_root=osp.join(scene, 'images'))
    os.makedirs(tmp_path / 'other' / 'ai_001_001' / 'images' / 'scene_cam_00_final_preview')
    with pytest.raises(FileNotFoundError,
                       match=r'images has no scene_cam_XX_geometry_hdf5/ folder.*holds '
                             r'scene_cam_00_final_preview/'):
        HypersimDataset(data_root=str(tmp_path / 'other'))


def test_wrong_encoding_is_named(tmp_path):
    root = str(tmp_path)
    written = write_hypersim(root, num_frames=1)
    ds = HypersimDataset(data_root=root, encoding='float_m', pipeline=depth_pipeline())
    with pytest.raises(ValueError, match=r"depth file .*frame.0000.depth_meters.hdf5 is HDF5.*"
                                         r"encoding='hypersim' only"):
        ds[0]
    # a depth_meters.hdf5 re-exported in millimetres: the plausibility check names it
    path = HypersimDataset(data_root=root).get_data_info(0)['depth_path']
    dist = written[('ai_001_001', 'cam_00', 0)]['distance']
    with h5py.File(path, 'w') as f:
        f.create_dataset('dataset', data=(dist * 1000).astype(np.float16))
    ds = HypersimDataset(data_root=root, pipeline=depth_pipeline(max_depth=None))
    with pytest.raises(ImplausibleDepthError, match=f'depth file {path} looks implausible'):
        ds[0]


def test_documented_snippet_builds(tmp_path):
    """docs/data_preparation.md's Hypersim snippet on the stand-in (data_root replaced; the split
    file where the snippet expects it)."""
    from helpers.native_layouts.doc_snippets import snippet_dataset_cfg
    from mask3d_mm.registry import DATASETS
    root = str(tmp_path)
    written = write_hypersim(root, num_frames=2)
    cfg = snippet_dataset_cfg('HypersimDataset')
    write_split_csv(osp.join(root, cfg['ann_file']), [('ai_001_001', 'cam_00', 0, True, 'train'),
                                                      ('ai_001_001', 'cam_00', 1, True, 'val')])
    ds = DATASETS.build(dict(cfg, data_root=root))
    assert len(ds) == 1
    written.pop(('ai_001_001', 'cam_00', 1))
    _check_metres(ds, written)
