import importlib.util
import os.path as osp
import runpy
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mask3d_mm.converters.sens_reader import SensReader
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EXPORTER = osp.join(ROOT, 'tools', 'dataset_converters', 'export_sens.py')


def _load_helper():
    # loaded by path: mmsegmentation and model-index install a top-level `tests` package that
    # shadows this repository's `tests/`
    spec = importlib.util.spec_from_file_location(
        'mask3d_mm_tests_sens_writer', osp.join(ROOT, 'tests', 'helpers', 'sens_writer.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


write_sens = _load_helper().write_sens


def _random_scene(num=7, seed=0):
    rng = np.random.default_rng(seed)
    colors, depths, poses = [], [], []
    for _ in range(num):
        img = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        ok, buf = cv2.imencode('.jpg', img)
        assert ok
        colors.append(buf.tobytes())
        depths.append(rng.integers(0, 65536, (6, 8), dtype=np.uint16))
        pose = np.eye(4, dtype=np.float32)
        pose[:3, :3] = np.linalg.qr(rng.normal(size=(3, 3)))[0]
        pose[:3, 3] = rng.normal(size=3)
        poses.append(pose.astype(np.float32))
    if num > 3:
        poses[3][:] = -np.inf  # ScanNet's marker of a lost track
    k_color = np.array([[11.7, 0, 8.1, 0], [0, 11.6, 6.2, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
                       np.float32)
    k_depth = np.array([[5.77, 0, 3.9, 0], [0, 5.78, 2.9, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
                       np.float32)
    return colors, depths, poses, k_color, k_depth


@pytest.fixture
def sens_file(tmp_path):
    colors, depths, poses, kc, kd = _random_scene()
    path = str(tmp_path / 'scans' / 'scene0007_00' / 'scene0007_00.sens')
    (tmp_path / 'scans' / 'scene0007_00').mkdir(parents=True)
    write_sens(path, colors, depths, poses, intrinsic_color=kc, intrinsic_depth=kd,
               color_size=(16, 12), num_imu_frames=3)
    return path, (colors, depths, poses, kc, kd)


def test_reader(sens_file):
    path, (colors, depths, poses, kc, kd) = sens_file
    with SensReader(path) as reader:
        assert reader.version == 4 and len(reader) == 7
        assert reader.sensor_name == 'StructureSensor'
        assert (reader.color_width, reader.color_height) == (16, 12)
        assert (reader.depth_width, reader.depth_height) == (8, 6)
        assert reader.color_compression_type == 'jpeg'
        assert reader.depth_compression_type == 'zlib_ushort'
        assert reader.depth_shift == 1000
        np.testing.assert_array_equal(reader.intrinsic_color, kc)
        np.testing.assert_array_equal(reader.intrinsic_depth, kd)
        np.testing.assert_array_equal(reader.extrinsic_depth, np.eye(4))
        frames = list(reader.iter_frames(frame_skip=3))
        assert [f.index for f in frames] == [0, 3, 6]
        for f in frames:
            assert f.color_bytes == colors[f.index]
            np.testing.assert_array_equal(reader.decode_depth(f), depths[f.index])
            np.testing.assert_array_equal(f.camera_to_world, poses[f.index])
        assert f.timestamp_color == 6000 and f.timestamp_depth == 6001
        # iterating again restarts from the first frame
        assert len(list(reader.iter_frames())) == 7
        assert 'frames=7' in repr(reader)


def test_reader_raw_depth(tmp_path):
    colors, depths, poses, _, _ = _random_scene(num=2)
    path = str(tmp_path / 'raw.sens')
    write_sens(path, colors, depths, poses, depth_compression=0)
    with SensReader(path) as reader:
        assert reader.depth_compression_type == 'raw_ushort'
        for f in reader.iter_frames():
            np.testing.assert_array_equal(reader.decode_depth(f), depths[f.index])


def test_reader_bad_files(tmp_path):
    bad = tmp_path / 'bad.sens'
    bad.write_bytes(b'\x03\x00\x00\x00' + bytes(100))
    with pytest.raises(ValueError, match='version 3'):
        SensReader(str(bad))
    colors, depths, poses, _, _ = _random_scene(num=2)
    good = str(tmp_path / 'good.sens')
    write_sens(good, colors, depths, poses)
    truncated = tmp_path / 'truncated.sens'
    truncated.write_bytes(Path(good).read_bytes()[:400])
    with SensReader(str(truncated)) as reader:
        with pytest.raises(ValueError, match='truncated'):
            list(reader.iter_frames())
    truncated.write_bytes(Path(good).read_bytes()[:100])
    with pytest.raises(ValueError, match='truncated'):
        SensReader(str(truncated))


def _run_exporter(*argv):
    old = sys.argv
    sys.argv = [EXPORTER, *argv]
    try:
        runpy.run_path(EXPORTER, run_name='__main__')
    finally:
        sys.argv = old


@pytest.mark.parametrize('use_folder', [False, True])
def test_export_round_trip(sens_file, tmp_path, use_folder):
    path, (colors, depths, poses, kc, kd) = sens_file
    out = str(tmp_path / 'frames')
    src = str(tmp_path / 'scans') if use_folder else path
    _run_exporter(src, '--out-dir', out, '--frame-skip', '3')

    scene = osp.join(out, 'scene0007_00')
    for idx in (0, 3, 6):
        name = f'{idx:06d}'
        with open(osp.join(scene, 'color', name + '.jpg'), 'rb') as f:
            assert f.read() == colors[idx]  # original JPEG bytes, no re-compression
        depth = cv2.imread(osp.join(scene, 'depth', name + '.png'), cv2.IMREAD_UNCHANGED)
        assert depth.dtype == np.uint16
        np.testing.assert_array_equal(depth, depths[idx])
        pose = np.loadtxt(osp.join(scene, 'pose', name + '.txt')).astype(np.float32)
        np.testing.assert_array_equal(pose, poses[idx])
    for idx in (1, 2, 4, 5):
        assert not osp.exists(osp.join(scene, 'color', f'{idx:06d}.jpg'))
    np.testing.assert_array_equal(
        np.loadtxt(osp.join(scene, 'intrinsics_color.txt')).astype(np.float32), kc)
    np.testing.assert_array_equal(
        np.loadtxt(osp.join(scene, 'intrinsics_depth.txt')).astype(np.float32), kd)


def test_export_readable_by_dataset(sens_file, tmp_path):
    from mask3d_mm.datasets import ScanNetRGBDDataset
    path, (colors, depths, poses, kc, kd) = sens_file
    out = str(tmp_path / 'frames')
    _run_exporter(path, '--out-dir', out, '--frame-skip', '2')
    ds = ScanNetRGBDDataset(
        data_root=out, required=('color', 'depth', 'pose', 'intrinsics'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='mask3d_mm.LoadDepthFromFile', max_depth=None, invalid_value=None,
                       allow_all_invalid=True)])
    assert [ds.get_data_info(i)['frame_id'] for i in range(len(ds))] == [
        '000000', '000002', '000004', '000006'
    ]
    item = ds[1]
    np.testing.assert_allclose(item['depth'], depths[2].astype(np.float32) / 1000, rtol=1e-6)
    np.testing.assert_array_equal(item['depth_intrinsics'], kd[:3, :3])


def test_export_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='no sceneXXXX_XX'):
        _run_exporter(str(tmp_path), '--out-dir', str(tmp_path / 'o'))
    with pytest.raises(FileNotFoundError, match='neither'):
        _run_exporter(str(tmp_path / 'x.sens'), '--out-dir', str(tmp_path / 'o'))
