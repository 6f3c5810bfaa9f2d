"""Tests of the synthetic ScanNet-format RGB-D scene generator."""
import filecmp
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mask3d_mm.synthetic import (SCANNET_COLOR_K, SCANNET_DEPTH_K, SYNTHETIC_NYU40_IDS,
                                 camera_pose, cast_rays, generate_scannet_scenes,
                                 make_scene, scene_cameras)
from mask3d_mm.synthetic.primitives import (BATHTUB, CABINET, DESK, FRIDGE, SINK, TABLE,
                                            TOILET)

H, W = 60, 80
STEP = 25
NAMES = ['000000', '000025', '000050']
SUBDIRS = {'color': '.jpg', 'depth': '.png', 'label': '.png', 'instance': '.png', 'pose': '.txt'}


def _generate(root, **kwargs) -> list:
    args = dict(num_scenes=2, frames_per_scene=3, height=H, width=W, seed=0, frame_step=STEP)
    args.update(kwargs)
    return generate_scannet_scenes(str(root), **args)


def _read(scene_dir: str, sub: str, name: str) -> np.ndarray:
    return cv2.imread(osp.join(scene_dir, sub, name + SUBDIRS[sub]), cv2.IMREAD_UNCHANGED)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory) -> list:
    """Scene dirs of 2 scenes x 3 frames at 60x80, frame step 25."""
    return _generate(tmp_path_factory.mktemp('tiny'))


def test_layout(tiny):
    assert [osp.basename(d) for d in tiny] == ['scene0000_00', 'scene0001_00']
    for scene_dir in tiny:
        for sub, ext in SUBDIRS.items():
            assert sorted(os.listdir(osp.join(scene_dir, sub))) == [n + ext for n in NAMES]
        for name in ('intrinsics_color.txt', 'intrinsics_depth.txt'):
            assert np.loadtxt(osp.join(scene_dir, name)).shape == (4, 4)


def test_matrices_are_exact_float32(tiny):
    """Intrinsics and poses are written as the layout writes matrices: read back as float32
    they equal the cameras the frames were rendered with."""
    scene = make_scene(0, 0)
    k_depth, k_color, _, _ = scene_cameras(scene, (H, W))
    for name, k in (('intrinsics_depth.txt', k_depth), ('intrinsics_color.txt', k_color)):
        read = np.loadtxt(osp.join(tiny[0], name))
        np.testing.assert_array_equal(read[:3, :3].astype(np.float32), k.astype(np.float32))
    pose = np.loadtxt(osp.join(tiny[0], 'pose', NAMES[1] + '.txt'))
    np.testing.assert_array_equal(pose.astype(np.float32),
                                  camera_pose(scene, 1 / 3).astype(np.float32))


def test_dtypes_and_shapes(tiny):
    for name in NAMES:
        color = _read(tiny[0], 'color', name)
        assert color.dtype == np.uint8 and color.shape == (H, W, 3)
        for sub, dtype in (('depth', np.uint16), ('label', np.uint8), ('instance', np.uint16)):
            img = _read(tiny[0], sub, name)
            assert img.dtype == dtype and img.shape == (H, W), sub
        pose = np.loadtxt(osp.join(tiny[0], 'pose', name + '.txt'))
        assert pose.shape == (4, 4)
        np.testing.assert_allclose(pose[3], [0, 0, 0, 1])
        rot = pose[:3, :3]
        np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-5)
        assert np.linalg.det(rot) == pytest.approx(1, abs=1e-5)


def test_depth_is_sensor_like(tiny):
    depths = np.stack([_read(d, 'depth', n) for d in tiny for n in NAMES])
    valid = depths > 0
    assert valid.mean() > 0.7  # mostly valid
    assert (~valid).any()  # but with holes
    assert depths[valid].min() >= 300 and depths[valid].max() <= 8000  # millimetres
    assert len(np.unique(depths[valid])) > 100  # not piecewise constant


def test_labels_and_instances(tiny):
    for scene_dir in tiny:
        classes = {}
        for name in NAMES:
            label = _read(scene_dir, 'label', name)
            inst = _read(scene_dir, 'instance', name)
            assert set(np.unique(label)) <= set(SYNTHETIC_NYU40_IDS)
            fg = inst > 0
            np.testing.assert_array_equal(inst[fg] // 1000, label[fg])
            stuff = np.isin(label, (1, 2, 22))  # wall, floor, ceiling: instance id 0
            assert np.all(inst[stuff] % 1000 == 0)
            assert np.all(inst[~stuff] % 1000 > 0)
            for value in np.unique(inst[~stuff]):  # one class per object over all frames
                assert classes.setdefault(value % 1000, value // 1000) == value // 1000
        assert classes, 'no objects visible'


def test_determinism(tiny, tmp_path):
    same = _generate(tmp_path / 'same', num_scenes=1)
    other = _generate(tmp_path / 'other', num_scenes=1, seed=1)
    for sub, ext in SUBDIRS.items():
        for name in NAMES:
            rel = osp.join(sub, name + ext)
            assert filecmp.cmp(osp.join(tiny[0], rel), osp.join(same[0], rel), shallow=False)
            if sub != 'label':  # two rooms may show the same classes in the same place
                assert not filecmp.cmp(
                    osp.join(tiny[0], rel), osp.join(other[0], rel), shallow=False)


def test_workers_match_serial(tiny, tmp_path):
    parallel = _generate(tmp_path / 'par', workers=2)
    assert [osp.basename(d) for d in parallel] == [osp.basename(d) for d in tiny]
    for a, b in zip(tiny, parallel):
        for sub, ext in SUBDIRS.items():
            files = [n + ext for n in NAMES]
            match, mismatch, errors = filecmp.cmpfiles(
                osp.join(a, sub), osp.join(b, sub), files, shallow=False)
            assert match == files, (mismatch, errors)


def test_color_size(tmp_path):
    scene_dir = _generate(tmp_path, num_scenes=1, frames_per_scene=1, color_size=(90, 120))[0]
    assert _read(scene_dir, 'color', '000000').shape == (90, 120, 3)
    assert _read(scene_dir, 'depth', '000000').shape == (H, W)
    k_depth = np.loadtxt(osp.join(scene_dir, 'intrinsics_depth.txt'))
    k_color = np.loadtxt(osp.join(scene_dir, 'intrinsics_color.txt'))
    np.testing.assert_allclose(k_color[:2, :3], k_depth[:2, :3] * 1.5, rtol=1e-5)
    np.testing.assert_allclose(k_color[2:], k_depth[2:])
    # depth intrinsics follow ScanNet's 640x480 camera scaled to the image size
    assert k_depth[0, 0] == pytest.approx(577.87 * W / 640, rel=0.02)
    assert k_depth[0, 2] == pytest.approx(W / 2, abs=1)


def test_scannet_cameras(tmp_path):
    """color_camera='scannet': ScanNet's colour / depth intrinsics scaled with pixel centres at
    integers; labels seen by the colour camera (at the label size), as ScanNet's 2D labels."""
    scene_dir = _generate(tmp_path, num_scenes=1, frames_per_scene=1, color_size=(121, 162),
                          color_camera='scannet')[0]
    assert _read(scene_dir, 'color', '000000').shape == (121, 162, 3)
    assert _read(scene_dir, 'depth', '000000').shape == (H, W)
    k_depth = np.loadtxt(osp.join(scene_dir, 'intrinsics_depth.txt'))[:3, :3]
    k_color = np.loadtxt(osp.join(scene_dir, 'intrinsics_color.txt'))[:3, :3]
    s = 162 / 1296
    assert k_color[0, 0] == pytest.approx(SCANNET_COLOR_K[0, 0] * s, rel=1e-5)
    assert k_color[0, 2] == pytest.approx((SCANNET_COLOR_K[0, 2] + 0.5) * s - 0.5, rel=1e-5)
    assert k_depth[1, 2] == pytest.approx((SCANNET_DEPTH_K[1, 2] + 0.5) * H / 480 - 0.5,
                                          rel=1e-5)
    scene = make_scene(0, 0)
    k_label = scene_cameras(scene, (H, W), (121, 162), 'scannet')[3]
    pose = np.loadtxt(osp.join(scene_dir, 'pose', '000000.txt'))
    labels = np.array([p.label for p in scene.prims])
    seen_by_color = labels[cast_rays(scene, k_label, pose, H, W)[1]]
    seen_by_depth = labels[cast_rays(scene, k_depth, pose, H, W)[1]]
    label = _read(scene_dir, 'label', '000000')
    assert np.array_equal(label, seen_by_color)
    assert not np.array_equal(label, seen_by_depth)  # the cameras differ by about a pixel
    with pytest.raises(ValueError, match='color_camera'):
        _generate(tmp_path / 'x', num_scenes=1, frames_per_scene=1, color_camera='kinect')


def test_sensreader_layout(tmp_path):
    """layout='sensreader': what ScanNet's SensReader writes (unpadded names, intrinsic/)."""
    scene_dir = _generate(tmp_path, num_scenes=1, frames_per_scene=3, layout='sensreader')[0]
    names = ['0', '25', '50']
    for sub, ext in (('color', '.jpg'), ('depth', '.png'), ('pose', '.txt')):
        assert sorted(os.listdir(osp.join(scene_dir, sub))) == sorted(n + ext for n in names)
    assert sorted(os.listdir(scene_dir)) == ['color', 'depth', 'intrinsic', 'pose']
    assert sorted(os.listdir(osp.join(scene_dir, 'intrinsic'))) == [
        'extrinsic_color.txt', 'extrinsic_depth.txt', 'intrinsic_color.txt',
        'intrinsic_depth.txt']
    np.testing.assert_allclose(np.loadtxt(osp.join(scene_dir, 'intrinsic', 'extrinsic_depth.txt')),
                               np.eye(4))
    # same pixels as the default layout
    default_dir = _generate(tmp_path / 'default', num_scenes=1, frames_per_scene=3)[0]
    assert np.array_equal(cv2.imread(osp.join(scene_dir, 'depth', '25.png'), -1),
                          _read(default_dir, 'depth', '000025'))


def _backproject(scene_dir: str, name: str) -> tuple:
    """World points (N, 3), their depths (N, ) metres and labels (N, ) of valid pixels."""
    depth = _read(scene_dir, 'depth', name).astype(np.float64) / 1000
    label = _read(scene_dir, 'label', name)
    k = np.loadtxt(osp.join(scene_dir, 'intrinsics_depth.txt'))
    pose = np.loadtxt(osp.join(scene_dir, 'pose', name + '.txt'))
    v, u = np.nonzero(depth > 0)
    z = depth[v, u]
    cam = np.stack([(u - k[0, 2]) / k[0, 0] * z, (v - k[1, 2]) / k[1, 1] * z, z], axis=1)
    return cam @ pose[:3, :3].T + pose[:3, 3], z, label[v, u]


def test_geometry(tiny):
    for index, scene_dir in enumerate(tiny):
        room = make_scene(0, index).room
        for name in NAMES:
            pose = np.loadtxt(osp.join(scene_dir, 'pose', name + '.txt'))
            assert np.all(pose[:3, 3] > 0) and np.all(pose[:3, 3] < room)
            assert pose[2, 2] < 0  # looking slightly down (camera +z forward, world z up)
            pts, z, label = _backproject(scene_dir, name)
            tol = 0.01 + 5 * (0.0012 + 0.0019 * (z - 0.4) ** 2)  # 5 sigma of the noise model
            assert np.all(pts > -tol[:, None]) and np.all(pts < room + tol[:, None])
            floor = label == 2
            assert floor.sum() > 20
            assert np.all(np.abs(pts[floor, 2]) < tol[floor])
            assert np.median(np.abs(pts[floor, 2])) < 0.01


def test_camera_trajectory_is_smooth():
    scene = make_scene(0, 0)
    poses = np.stack([camera_pose(scene, s) for s in np.linspace(0, 1, 101)])
    steps = np.linalg.norm(np.diff(poses[:, :3, 3], axis=0), axis=1)
    assert steps.max() < 0.3 and steps.max() < 3 * steps.mean()


def test_shared_fixture(synthetic_scannet):
    scenes = sorted(os.listdir(synthetic_scannet))
    assert scenes == ['scene0000_00', 'scene0001_00']
    scene_dir = osp.join(synthetic_scannet, scenes[0])
    names = [f'{i:06d}' for i in range(4)]
    assert sorted(os.listdir(osp.join(scene_dir, 'color'))) == [n + '.jpg' for n in names]
    assert _read(scene_dir, 'color', names[0]).shape == (240, 320, 3)
    assert _read(scene_dir, 'depth', names[0]).shape == (120, 160)
    k_depth = np.loadtxt(osp.join(scene_dir, 'intrinsics_depth.txt'))
    k_color = np.loadtxt(osp.join(scene_dir, 'intrinsics_color.txt'))
    np.testing.assert_allclose(k_color[:2, :3], 2 * k_depth[:2, :3], rtol=1e-5)


def _white_share(materials: str, classes: tuple, scenes: int = 40) -> float:
    """Share of the parts of ``classes`` objects in ``scenes`` scenes with a white albedo."""
    white = [np.min(p.albedo) > 0.65 for i in range(scenes)
             for p in make_scene(0, i, materials).prims if p.label in classes]
    return float(np.mean(white))


def test_independent_materials(tiny, tmp_path):
    """``materials='independent'`` renders the same scenes (depth, labels, instances and poses
    byte-identical) with object materials that no longer name the class: with the class
    palettes sinks, toilets, bathtubs and fridges are white and cabinets, tables and desks
    are not; independent of the class, both groups are white equally often."""
    other = _generate(tmp_path, materials='independent')
    for a, b in zip(tiny, other):
        for name in NAMES:
            for sub in ('depth', 'label', 'instance'):
                np.testing.assert_array_equal(_read(a, sub, name), _read(b, sub, name))
            assert filecmp.cmp(osp.join(a, 'pose', name + '.txt'),
                               osp.join(b, 'pose', name + '.txt'), shallow=False)
        assert not np.array_equal(_read(a, 'color', NAMES[0]), _read(b, 'color', NAMES[0]))
    white_classes = (SINK, TOILET, BATHTUB, FRIDGE)
    wood_classes = (CABINET, TABLE, DESK)
    by_class = _white_share('class', white_classes) - _white_share('class', wood_classes)
    independent = (_white_share('independent', white_classes)
                   - _white_share('independent', wood_classes))
    assert by_class > 0.6 and abs(independent) < 0.2, (by_class, independent)
    with pytest.raises(ValueError, match='materials must be one of'):
        make_scene(0, 0, 'random')


def test_held_out_split(tmp_path):
    """``val_fraction=1`` (the comparison's report split): every scene in val, none in train,
    also for a single scene."""
    from mask3d_mm.synthetic.output import write_synthetic_set
    for scenes in (1, 3):
        root = str(tmp_path / f'held_out{scenes}')
        dirs = write_synthetic_set(root, val_fraction=1, num_scenes=scenes, frames_per_scene=1,
                                   height=H, width=W)
        with open(osp.join(root, 'scannetv2_val.txt')) as f:
            assert f.read().split() == [osp.basename(d) for d in dirs]
        assert osp.getsize(osp.join(root, 'scannetv2_train.txt')) == 0
    with pytest.raises(ValueError, match='val_fraction'):
        write_synthetic_set(str(tmp_path / 'bad'), val_fraction=1.5, num_scenes=2,
                            frames_per_scene=1, height=H, width=W)
