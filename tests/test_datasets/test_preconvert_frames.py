"""tools/dataset_converters/preconvert_frames.py and the recipe on its output
(configs/mask3d/vit-b_scannet_preconverted.py): the frames the pipeline makes are those of the
source frames (depth exact, colour up to the JPEG re-encoding)."""
import json
import os
import os.path as osp
import shutil
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from helpers.tools import REPO, run, run_tool_main
from mask3d_mm.converters.preconvert_frames import MARKER
from mask3d_mm.datasets.scannet_layout import ScanNetLayout
from mask3d_mm.datasets.transforms import AlignColorToDepth
from mask3d_mm.registry import DATASETS
from mask3d_mm.synthetic import generate_scannet_scenes, write_scene_splits

TOOL = 'dataset_converters/preconvert_frames'
CONFIGS = {'source': 'configs/mask3d/vit-b_scannet.py',
           'preconverted': 'configs/mask3d/vit-b_scannet_preconverted.py'}


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    """Two scenes of raw-ScanNet-like frames (a 2:1 colour camera with its own intrinsics, as
    ScanNet's 1296x968 vs 640x480) and their pre-converted copy."""
    base = tmp_path_factory.mktemp('preconvert')
    src, dst = str(base / 'src'), str(base / 'dst')
    scenes = generate_scannet_scenes(src, num_scenes=2, frames_per_scene=3, height=96,
                                     width=128, color_size=(192, 256), color_camera='scannet')
    write_scene_splits(src, scenes)
    run_tool_main(TOOL, src, dst, '--workers', '2')
    return src, dst


def _dataset(which: str, root: str, split: str = 'val'):
    cfg = Config.fromfile(osp.join(REPO, CONFIGS[which]))
    ds_cfg = cfg[f'{split}_dataloader'].dataset
    ds_cfg.data_root = root
    ds_cfg.frame_skip = 1
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return DATASETS.build(ds_cfg)


def test_files_are_the_aligned_frames(roots):
    src, dst = roots
    scene = 'scene0000_00'
    for split in ('scannetv2_train.txt', 'scannetv2_val.txt'):
        with open(osp.join(src, split)) as a, open(osp.join(dst, split)) as b:
            assert a.read() == b.read()
    k_depth = np.loadtxt(osp.join(src, scene, 'intrinsics_depth.txt'))
    assert not np.allclose(np.loadtxt(osp.join(src, scene, 'intrinsics_color.txt')), k_depth)
    for cam in ('color', 'depth'):  # the colour is now in the depth camera
        np.testing.assert_allclose(np.loadtxt(osp.join(dst, scene, f'intrinsics_{cam}.txt')),
                                   k_depth, rtol=1e-6)
    align = AlignColorToDepth()
    cameras = ScanNetLayout(src).read_cameras(scene)  # float32, as the dataset reads them
    for fid in ('000000', '000002'):
        png = cv2.imread(osp.join(src, scene, 'depth', fid + '.png'), cv2.IMREAD_UNCHANGED)
        npy = np.load(osp.join(dst, scene, 'depth', fid + '.npy'))
        assert npy.dtype == np.uint16 and np.array_equal(npy, png)  # the file values, exact
        ref = align(dict(img=cv2.imread(osp.join(src, scene, 'color', fid + '.jpg')),
                         depth=png, **cameras))['img']
        jpg = cv2.imread(osp.join(dst, scene, 'color', fid + '.jpg'))
        assert jpg.shape == (96, 128, 3) == ref.shape
        # exactly the aligned colour, JPEG-encoded at quality 95 (the re-encoding's error only)
        q95 = cv2.imdecode(cv2.imencode('.jpg', ref, (cv2.IMWRITE_JPEG_QUALITY, 95))[1],
                           cv2.IMREAD_COLOR)
        assert np.array_equal(jpg, q95)
        assert np.abs(jpg.astype(np.int16) - ref).mean() < 3
        with open(osp.join(src, scene, 'pose', fid + '.txt')) as a, \
                open(osp.join(dst, scene, 'pose', fid + '.txt')) as b:
            assert a.read() == b.read()
    assert not any(name.startswith('label') for name in os.listdir(osp.join(dst, scene)))
    with open(osp.join(dst, MARKER)) as f:
        marker = json.load(f)
    assert marker['frames'] == 6 and marker['scenes'] == 2 and marker['jpeg_quality'] == 95


def test_recipe_pipeline_gives_the_same_inputs(roots):
    """The recipe's validation pipeline (deterministic: resize, fixed-seed masks) on both
    roots: same depth, same masks, colour within JPEG error; the pre-converted frames need no
    warp (AlignColorToDepth finds one camera)."""
    src, dst = roots
    a, b = _dataset('source', src), _dataset('preconverted', dst)
    assert len(a) == len(b) == 3  # the val scene, every frame
    for i in range(len(a)):
        x, y = a[i], b[i]
        assert y['data_samples'].depth_path.endswith('.npy')
        assert np.array_equal(x['data_samples'].depth.numpy(), y['data_samples'].depth.numpy())
        for key in ('rgb_mask', 'depth_mask'):
            assert np.array_equal(x['data_samples'].get(key).numpy(),
                                  y['data_samples'].get(key).numpy())
        diff = (x['inputs'].float() - y['inputs'].float()).abs()
        assert x['inputs'].shape == y['inputs'].shape and diff.mean() < 3
    # the training pipeline (random crops) runs on them too
    out = _dataset('preconverted', dst, 'train')[0]
    assert out['inputs'].shape[-2:] == (224, 224)


def test_resume_keeps_frames_and_overwrite_rewrites(roots, tmp_path):
    src, _ = roots
    dst = str(tmp_path / 'out')
    run_tool_main(TOOL, src, dst, '--scenes', 'scene0001_00')
    frame = osp.join(dst, 'scene0001_00', 'depth', '000001.npy')
    os.utime(frame, (1, 1))
    # an interrupted run: a frame's colour not renamed into place yet
    color = osp.join(dst, 'scene0001_00', 'color', '000002.jpg')
    os.replace(color, color + '.tmp')
    run_tool_main(TOOL, src, dst, '--scenes', 'scene0001_00')
    assert os.stat(frame).st_mtime == 1  # kept
    assert osp.exists(color)  # redone
    os.replace(color, color + '.tmp')  # a leftover is not a frame of the layout
    with pytest.raises(FileNotFoundError, match='000002'):
        ScanNetLayout(dst, dict(depth='.npy')).scan_scene('scene0001_00', ('color', 'depth'))
    run_tool_main(TOOL, src, dst, '--scenes', 'scene0001_00')
    run_tool_main(TOOL, src, dst, '--scenes', 'scene0001_00', '--overwrite')
    assert os.stat(frame).st_mtime > 1


def test_bad_input_is_named(roots, tmp_path):
    src, _ = roots
    with pytest.raises(ValueError, match='must differ from the source'):
        run_tool_main(TOOL, src, src)
    bad = str(tmp_path / 'bad')
    generate_scannet_scenes(bad, num_scenes=1, frames_per_scene=2, height=48, width=64)
    depth = osp.join(bad, 'scene0000_00', 'depth', '000001.png')
    cv2.imwrite(depth, np.full((48, 64), 7, np.uint8))  # a visualisation, not depth
    with pytest.raises(ValueError, match=f'{depth}.*8-bit'):
        run_tool_main(TOOL, bad, str(tmp_path / 'out'))
    color = osp.join(bad, 'scene0000_00', 'color', '000000.jpg')
    with open(color, 'wb') as f:
        f.write(b'not a jpeg')
    proc = run([sys.executable, osp.join(REPO, 'tools', TOOL + '.py'), bad,
                str(tmp_path / 'out2')])
    assert proc.returncode != 0 and f'cannot decode colour file {color}' in proc.stderr


def test_sensreader_export_is_converted(tmp_path):
    """ScanNet's own SensReader layout (unpadded names, ``intrinsic/`` folder, extrinsics):
    the copy keeps the names and the numeric frame order, and the recipe reads it."""
    src, dst = str(tmp_path / 'src'), str(tmp_path / 'dst')
    scenes = generate_scannet_scenes(src, num_scenes=2, frames_per_scene=11, height=48,
                                     width=64, color_size=(96, 128), color_camera='scannet',
                                     layout='sensreader')
    write_scene_splits(src, scenes)
    run_tool_main(TOOL, src, dst)
    assert sorted(os.listdir(osp.join(dst, 'scene0001_00', 'depth')))[:3] == [
        '0.npy', '1.npy', '10.npy']
    a, b = _dataset('source', src), _dataset('preconverted', dst)
    assert len(a) == len(b) == 11
    for i in (0, 2, 10):  # numeric order: frame 10 last
        x, y = a.get_data_info(i), b.get_data_info(i)
        assert osp.basename(y['depth_path']) == osp.basename(x['depth_path'])[:-4] + '.npy'
        assert np.array_equal(a[i]['data_samples'].depth.numpy(),
                              b[i]['data_samples'].depth.numpy())


def test_other_encodings_are_copied_unchanged(tmp_path):
    """Float metres (``encoding='float_m'``, 32-bit TIFF): checked against the encoding,
    copied bit for bit; read with the wrong encoding, the file is named."""
    src = str(tmp_path / 'src')
    generate_scannet_scenes(src, num_scenes=1, frames_per_scene=2, height=48, width=64)
    depth_dir = osp.join(src, 'scene0000_00', 'depth')
    for name in sorted(os.listdir(depth_dir)):
        png = osp.join(depth_dir, name)
        metres = cv2.imread(png, cv2.IMREAD_UNCHANGED).astype(np.float32) / 1000
        metres[0, :4] = np.nan  # float_m: NaN = no depth
        assert cv2.imwrite(png[:-4] + '.tiff', metres)
        os.remove(png)
    with pytest.raises(ValueError, match=r'000000\.tiff.*float'):
        run_tool_main(TOOL, src, str(tmp_path / 'wrong'), '--depth-suffix', '.tiff')
    dst = str(tmp_path / 'dst')
    run_tool_main(TOOL, src, dst, '--depth-suffix', '.tiff', '--encoding', 'float_m')
    for fid in ('000000', '000001'):
        tiff = cv2.imread(osp.join(depth_dir, fid + '.tiff'), cv2.IMREAD_UNCHANGED)
        npy = np.load(osp.join(dst, 'scene0000_00', 'depth', fid + '.npy'))
        assert npy.dtype == np.float32 and np.array_equal(npy, tiff, equal_nan=True)
    with open(osp.join(dst, MARKER)) as f:
        assert json.load(f)['encoding'] == 'float_m'
    assert os.listdir(osp.join(dst, 'scene0000_00', 'pose'))  # copied
    shutil.rmtree(osp.join(src, 'scene0000_00', 'pose'))  # a scene without poses
    run_tool_main(TOOL, src, str(tmp_path / 'no_pose'), '--depth-suffix', '.tiff',
                  '--encoding', 'float_m')
    assert not osp.exists(osp.join(str(tmp_path / 'no_pose'), 'scene0000_00', 'pose'))
