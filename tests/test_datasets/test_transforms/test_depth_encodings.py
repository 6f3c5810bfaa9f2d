"""LoadDepthFromFile's encodings and plausibility check on files written in each dataset's
encoding, all derived from one known metric depth map."""
import logging
import re

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger

from mask3d_mm.datasets.transforms import LoadDepthFromFile
from mask3d_mm.datasets.transforms.depth_io import HYPERSIM_FOCAL, hypersim_intrinsics
from mask3d_mm.datasets.transforms.loading import ImplausibleDepthError

H, W = 48, 64
NYU_P1, NYU_P2 = 351.3, 1092.5  # NYU toolbox camera_params.m


def metric_depth(far: float = 1.0) -> tuple:
    """(depth in metres HxW float64, hole mask): a room, 0.8-4.9 m (x ``far``), median 3 m."""
    v = np.linspace(0, 1, H)[:, None]
    u = np.linspace(-1, 1, W)[None]
    z = (4.6 - 3.8 * v**1.3 + 0.3 * u**2) * far
    z[18:34, 20:36] = 1.6 * far  # a box
    holes = np.arange(H * W).reshape(H, W) % 23 == 0
    return z, holes


def _units(z, holes, scale, hole_value=0):
    raw = np.round(z * scale).astype(np.uint16)
    raw[holes] = hole_value
    return raw


def _rotl3(mm):  # how SUN RGB-D stores millimetres (its toolbox rotates right by 3 to read)
    return ((mm << np.uint16(3)) | (mm >> np.uint16(13))).astype(np.uint16)


def _nyu_disparity(z, holes):
    d = np.round(NYU_P2 - NYU_P1 / z).astype(np.uint16)
    d[holes] = 2047
    return d


def encode(kind: str, z, holes) -> tuple:
    """(file name, array to write) of ``z`` in a dataset's encoding."""
    if kind in ('scannet', 'redwood', 'nyu_toolbox', 'arkit'):
        return 'd.png', _units(z, holes, 1000)
    if kind == '7scenes':
        return 'd.png', _units(z, holes, 1000, hole_value=65535)
    if kind == 'sunrgbd':
        return 'd.png', _rotl3(_units(z, holes, 1000))
    if kind == 'tum':
        return 'd.png', _units(z, holes, 5000)
    if kind == 'matterport':
        return 'd.png', _units(z, holes, 4000)
    if kind == 'nyu_raw':  # PGM whose payload is little-endian, read by the toolbox's swapbytes
        return 'd.pgm', _nyu_disparity(z, holes).byteswap()
    if kind == 'float_m':
        f = z.astype(np.float32)
        f[holes] = np.nan
        return 'd.npy', f
    if kind == 'taskonomy':
        return 'd.png', _units(z, holes, 512, hole_value=65535)
    if kind == 'hypersim':  # float16 distance along the ray, Hypersim's camera scaled to WxH
        d = ray_distance(z, hypersim_intrinsics((W, H))).astype(np.float16)
        d[holes] = np.nan
        return 'd.depth_meters.hdf5', d
    if kind == 'float_m_tiff':
        f = z.astype(np.float32)
        f[holes] = 0
        return 'd.tiff', f
    raise KeyError(kind)


def ray_distance(z, k):
    """Planar depth -> distance from the camera centre along each pixel's ray."""
    u = (np.arange(z.shape[1]) - k[0, 2]) / k[0, 0]
    v = (np.arange(z.shape[0]) - k[1, 2]) / k[1, 1]
    return z * np.sqrt(1 + v[:, None]**2 + u[None]**2)


def write_hdf5(path, array, key='dataset'):
    h5py = pytest.importorskip('h5py')
    with h5py.File(path, 'w') as f:
        f.create_dataset(key, data=array)


def write(tmp_path, kind, z, holes, name=None) -> str:
    fname, array = encode(kind, z, holes)
    path = str(tmp_path / (name or f'{kind}_{fname}'))
    if path.endswith('.npy'):
        np.save(path, array)
    elif path.endswith('.hdf5'):
        write_hdf5(path, array)
    else:
        assert cv2.imwrite(path, array), path
    return path


# encoding -> the largest error of its quantisation (metres) at depth z
QUANTUM = {
    'scannet': lambda z: 0.5e-3, 'redwood': lambda z: 0.5e-3, 'nyu_toolbox': lambda z: 0.5e-3,
    '7scenes': lambda z: 0.5e-3, 'sunrgbd': lambda z: 0.5e-3, 'tum': lambda z: 0.1e-3,
    'matterport': lambda z: 0.125e-3, 'nyu_raw': lambda z: 0.5 * z**2 / NYU_P1 * 1.01,
    'float_m': lambda z: 0 * z, 'float_m_tiff': lambda z: 0 * z,
    'taskonomy': lambda z: 0.5 / 512, 'arkit': lambda z: 0.5e-3,
    'hypersim': lambda z: 2**-11 * 1.2 * z,  # float16 (11 significant bits) of d >= z
}


@pytest.mark.parametrize('kind', sorted(QUANTUM))
def test_preset_recovers_metric_depth(tmp_path, kind):
    z, holes = metric_depth()
    path = write(tmp_path, kind, z, holes)
    t = LoadDepthFromFile(encoding=kind.replace('_tiff', ''), on_implausible='error')
    depth = t(dict(depth_path=path))['depth']
    assert depth.dtype == np.float32 and depth.shape == (H, W)
    assert (depth[holes] == 0).all()
    err = np.abs(depth[~holes] - z[~holes])
    assert (err <= QUANTUM[kind](z[~holes]) + 1e-6 * z[~holes]).all(), err.max()
    assert t.num_checked == 1 and t.num_implausible == 0


def test_overrides_and_legacy_arguments(tmp_path):
    z, holes = metric_depth()
    path = write(tmp_path, 'tum', z, holes)
    # the configs' legacy arguments keep their meaning
    legacy = LoadDepthFromFile(depth_scale=5000.0, max_depth=10.0)(dict(depth_path=path))['depth']
    preset = LoadDepthFromFile(encoding='tum')(dict(depth_path=path))['depth']
    np.testing.assert_array_equal(legacy, preset)
    t = LoadDepthFromFile(encoding='sunrgbd', depth_scale=1000.0)  # same as the preset: silent
    assert t.encoding.bit_rotation == 3 and t.depth_scale == 1000
    logger = MMLogger.get_instance('test_depth_encodings_override')  # the current logger now
    handler = _Collect()
    logger.addHandler(handler)
    try:
        t = LoadDepthFromFile(encoding='sunrgbd', bit_rotation=0, invalid_values=[7])
    finally:
        logger.removeHandler(handler)
    assert len(handler.messages) == 1 and "override encoding='sunrgbd'" in handler.messages[0]
    assert 'bit_rotation=0 (preset 3)' in handler.messages[0]
    assert t.encoding.bit_rotation == 0 and t.encoding.invalid_values == (7, )
    assert "encoding='sunrgbd'" in repr(t) and 'bit_rotation=0' in repr(t)
    with pytest.raises(ValueError, match='unknown depth encoding'):
        LoadDepthFromFile(encoding='kinect')
    with pytest.raises(ValueError, match='unknown plausibility thresholds'):
        LoadDepthFromFile(plausibility=dict(min_valid=0.1))
    with pytest.raises(ValueError, match='on_implausible'):
        LoadDepthFromFile(on_implausible='skip')
    with pytest.raises(ValueError, match='uint16'):
        LoadDepthFromFile(encoding='float_m', bit_rotation=3)


def test_big_endian_npy(tmp_path):
    z, holes = metric_depth()
    path = str(tmp_path / 'be.npy')
    np.save(path, _units(z, holes, 1000).astype('>u2'))
    depth = LoadDepthFromFile(on_implausible='error')(dict(depth_path=path))['depth']
    assert np.abs(depth[~holes] - z[~holes]).max() <= 0.5e-3 + 1e-5


def test_file_dtype_mismatch_and_hdf5(tmp_path):
    z, holes = metric_depth()
    npy = write(tmp_path, 'float_m', z, holes)
    with pytest.raises(ValueError, match="encoding='float_m'") as e:
        LoadDepthFromFile()(dict(depth_path=npy))
    assert npy in str(e.value) and 'NaN' in str(e.value)
    png = write(tmp_path, 'scannet', z, holes)
    with pytest.raises(ValueError, match="encoding='scannet'") as e:
        LoadDepthFromFile(encoding='float_m')(dict(depth_path=png))
    assert png in str(e.value)
    h5 = tmp_path / 'frame.hdf5'
    h5.write_bytes(b'\x89HDF\r\n\x1a\n')
    with pytest.raises(ValueError, match='HDF5.*Hypersim'):
        LoadDepthFromFile(encoding='float_m')(dict(depth_path=str(h5)))


# (file's encoding, far factor, how it is read, pattern of the symptom, pattern of the cause)
WRONG_READINGS = {
    'sunrgbd-as-scannet': ('sunrgbd', 1.0, {}, r'median valid depth [89]\.\d+ m > 8 m',
                           r"decode plausibly as encoding='sunrgbd'"),
    # Kinect v2 depth of SUN RGB-D as ESANet ships it: farther, so hardly any pixel survives
    'sunrgbd-kv2-as-scannet': ('sunrgbd', 1.5, {}, r'only 0\.\d+% of the pixels are valid',
                               r"decode plausibly as encoding='sunrgbd'"),
    'tum-at-1000': ('tum', 1.0, dict(depth_scale=1000.0),
                    r'\d+% of the measured pixels lie beyond max_depth=10 m',
                    r"decode plausibly as encoding='tum'"),
    'metres-as-uint16': ('metres', 1.0, {}, r'median valid depth 0\.00\d m < 0\.2 m',
                         r'take only \d distinct levels.*whole metres as integers'),
    'nyu-raw-as-scannet': ('nyu_raw', 1.0, {}, r'% of the measured pixels lie beyond',
                           r"decode plausibly as encoding='nyu_raw' \(Kinect disparity"),
    'nyu-raw-png-as-scannet': ('nyu_raw_swapped', 1.0, {}, r'2047',
                               r"decode plausibly as encoding='nyu_raw', swap_bytes=False"),
}


def _write_wrong(tmp_path, kind, far):
    z, holes = metric_depth(far)
    if kind == 'metres':  # metres rounded into a uint16 PNG
        path = str(tmp_path / 'metres.png')
        cv2.imwrite(path, _units(z, holes, 1))
        return path
    if kind == 'nyu_raw_swapped':  # raw disparity re-saved as PNG after the toolbox's swapbytes
        path = str(tmp_path / 'nyu_disparity.png')
        cv2.imwrite(path, _nyu_disparity(z, holes))
        return path
    return write(tmp_path, kind, z, holes)


@pytest.mark.parametrize('case', sorted(WRONG_READINGS))
def test_wrong_reading_is_named(tmp_path, case):
    kind, far, args, symptom, cause = WRONG_READINGS[case]
    path = _write_wrong(tmp_path, kind, far)
    with pytest.raises(ImplausibleDepthError) as e:
        LoadDepthFromFile(on_implausible='error', **args)(dict(depth_path=path))
    msg = str(e.value)
    assert f'depth file {path} looks implausible' in msg, msg
    assert re.search(symptom, msg), msg
    assert re.search(f'Likely cause: the values {cause}', msg), msg


def test_8bit_names_file_and_cause(tmp_path):
    z, holes = metric_depth()
    path = str(tmp_path / 'vis.png')
    cv2.imwrite(path, np.clip(z * 50, 0, 255).astype(np.uint8))
    with pytest.raises(ValueError, match='8-bit depth is almost certainly wrong input') as e:
        LoadDepthFromFile()(dict(depth_path=path))
    assert path in str(e.value)


class _Collect(logging.Handler):

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_warns_once_with_counts_then_log_spaced(tmp_path):
    z, holes = metric_depth()
    good = write(tmp_path, 'scannet', z, holes)
    bad = write(tmp_path, 'tum', z, holes)
    logger = MMLogger.get_instance('test_depth_encodings_warn')  # the current logger now
    handler = _Collect()
    logger.addHandler(handler)
    try:
        t = LoadDepthFromFile()
        for _ in range(3):
            t(dict(depth_path=good))
        for _ in range(12):
            depth = t(dict(depth_path=bad))['depth']  # read all the same (warn mode)
        assert depth.max() <= 10
    finally:
        logger.removeHandler(handler)
    assert t.num_checked == 15 and t.num_implausible == 12
    assert len(handler.messages) == 2, handler.messages  # the 1st and the 10th
    first, tenth = handler.messages
    assert bad in first and "encoding='tum'" in first
    assert '1 of 4 depth files read by this process' in first
    assert '10 of 13 depth files' in tenth
    # ignore: no check at all
    t = LoadDepthFromFile(on_implausible='ignore')
    t(dict(depth_path=bad))
    assert t.num_checked == 0


def test_thresholds_are_options(tmp_path):
    z, holes = metric_depth()
    path = write(tmp_path, 'scannet', z, holes)
    with pytest.raises(ImplausibleDepthError, match=r'median valid depth 3\.\d+ m < 3\.5 m'):
        LoadDepthFromFile(on_implausible='error',
                          plausibility=dict(min_median_depth=3.5))(dict(depth_path=path))
    # a small max_depth on purpose: relax the beyond-max_depth share
    LoadDepthFromFile(max_depth=2.0, on_implausible='error',
                      plausibility=dict(max_beyond_fraction=1.0, max_median_ratio=1.0))(
                          dict(depth_path=path))


def test_error_mode_with_skip_bad_frames_skips_and_counts(tmp_path):
    from mask3d_mm.datasets import ScanNetRGBDDataset
    z, holes = metric_depth()
    for d in ('color', 'depth'):
        (tmp_path / 'scene0000_00' / d).mkdir(parents=True)
    for fid, kind in (('000000', 'scannet'), ('000001', 'tum')):
        cv2.imwrite(str(tmp_path / 'scene0000_00' / 'color' / f'{fid}.jpg'),
                    np.zeros((H, W, 3), np.uint8))
        write(tmp_path, kind, z, holes, name=f'scene0000_00/depth/{fid}.png')
    dataset = ScanNetRGBDDataset(
        data_root=str(tmp_path), skip_bad_frames=True,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='mask3d_mm.LoadDepthFromFile', on_implausible='error')])
    assert dataset[1]['depth_path'].endswith('000000.png')  # the TUM frame: skipped
    assert dataset.num_bad_frames >= 1


# ---- the encodings of issue 20: Taskonomy, ARKitScenes, Hypersim, custom scales -------------


def test_hypersim_camera_and_ray_to_planar(tmp_path):
    assert HYPERSIM_FOCAL == pytest.approx(886.81, abs=0.01)
    k = hypersim_intrinsics((1024, 768))
    # OpenCV pixel convention: Hypersim's pixel centres u + 0.5 against cx = 512
    assert k[0, 2] == 511.5 and k[1, 2] == 383.5 and k[0, 0] == k[1, 1] == HYPERSIM_FOCAL
    assert hypersim_intrinsics((512, 384))[0, 0] == pytest.approx(HYPERSIM_FOCAL / 2)
    # the frame's own intrinsics (here for 2x the map's size: scaled to it) decide
    z, holes = metric_depth()
    k2 = np.array([[100.0, 0, 2 * W / 2 - 0.5], [0, 90.0, 2 * H / 2 - 0.5], [0, 0, 1]])
    k_map = np.array([[50.0, 0, W / 2 - 0.5], [0, 45.0, H / 2 - 0.5], [0, 0, 1]])
    path = str(tmp_path / 'frame.0000.depth_meters.hdf5')
    write_hdf5(path, ray_distance(z, k_map).astype(np.float32))
    out = LoadDepthFromFile()(dict(depth_path=path, depth_encoding='hypersim',
                                   depth_intrinsics=k2.astype(np.float32)))
    np.testing.assert_allclose(out['depth'], z, rtol=1e-5)
    # without intrinsics: Hypersim's camera; the corner rays are longer than z
    d = LoadDepthFromFile()(dict(depth_path=path, depth_encoding='hypersim'))['depth']
    assert not np.allclose(d, z, rtol=1e-3)


def test_hdf5_only_for_hypersim(tmp_path):
    z, holes = metric_depth()
    path = write(tmp_path, 'hypersim', z, holes)
    with pytest.raises(ValueError, match=r"is HDF5, which LoadDepthFromFile reads for "
                                         r"encoding='hypersim' only"):
        LoadDepthFromFile(encoding='float_m')(dict(depth_path=path))
    wrong_key = str(tmp_path / 'other.hdf5')
    write_hdf5(wrong_key, z.astype(np.float32), key='depth')
    with pytest.raises(ValueError, match=r"has no HDF5 dataset 'dataset' \(it holds \['depth'\]"):
        LoadDepthFromFile(encoding='hypersim')(dict(depth_path=wrong_key))


def test_custom_scale_encoding(tmp_path):
    from mask3d_mm.datasets.transforms.depth_encoding import get_encoding, scale_encoding_name
    z, holes = metric_depth()
    path = str(tmp_path / 'd.png')
    cv2.imwrite(path, _units(z, holes, 250))
    name = scale_encoding_name(250)
    assert name == 'scale:250' and get_encoding(name).depth_scale == 250
    for t, results in ((LoadDepthFromFile(encoding=name), dict(depth_path=path)),
                       (LoadDepthFromFile(), dict(depth_path=path, depth_encoding=name))):
        depth = t(results)['depth']
        assert np.abs(depth[~holes] - z[~holes]).max() <= 0.5 / 250 + 1e-6
    for bad in ('scale:0', 'scale:x', 'scale:-3'):
        with pytest.raises(ValueError, match='scale:<positive number>'):
            get_encoding(bad)


def test_frame_encoding_decides_and_contradictions_are_refused(tmp_path):
    z, holes = metric_depth()
    tum = write(tmp_path, 'tum', z, holes)
    mm = write(tmp_path, 'scannet', z, holes)
    t = LoadDepthFromFile(on_implausible='error')  # one pipeline, frames of two sources
    for path, enc in ((tum, 'tum'), (mm, 'scannet'), (tum, 'tum')):
        depth = t(dict(depth_path=path, depth_encoding=enc))['depth']
        assert np.abs(depth[~holes] - z[~holes]).max() < 1e-3
    assert set(t._encodings) == {'tum', 'scannet'}
    # a pipeline agreeing with the frame (an alias with the same numbers, or the shipped
    # configs' depth_scale=1000 on millimetres) is fine
    for ok in (dict(encoding='scannet'), dict(encoding='arkit'), dict(depth_scale=1000.0)):
        LoadDepthFromFile(**ok)(dict(depth_path=mm, depth_encoding='scannet'))
    for bad in (dict(encoding='scannet'), dict(depth_scale=1000.0)):
        with pytest.raises(ValueError) as e:
            LoadDepthFromFile(**bad)(dict(depth_path=tum, depth_encoding='tum'))
        msg = str(e.value)
        assert tum in msg and "depth_encoding='tum'" in msg and 'value / 5000' in msg
        assert 'value / 1000' in msg and "dataset's encoding=" in msg
    with pytest.raises(ValueError, match="its dataset states unknown depth encoding 'kinect'"):
        t(dict(depth_path=mm, depth_encoding='kinect'))


def test_messages_name_the_frames_encoding(tmp_path):
    z, holes = metric_depth()
    mm = write(tmp_path, 'scannet', z, holes)  # millimetres said to be TUM's: a shrunk room
    with pytest.raises(ImplausibleDepthError, match="looks implausible for encoding='tum': "
                                                    'uint16 value / 5000'):
        LoadDepthFromFile(on_implausible='error')(dict(depth_path=mm, depth_encoding='tum'))
    npy = write(tmp_path, 'float_m', z, holes)
    with pytest.raises(ValueError, match=r"expected uint16 depth for encoding='taskonomy'"):
        LoadDepthFromFile()(dict(depth_path=npy, depth_encoding='taskonomy'))


def test_confidence_threshold(tmp_path):
    z, holes = metric_depth()
    path = write(tmp_path, 'arkit', z, holes)
    conf = np.full((H, W), 2, np.uint8)
    conf[:, :8] = 0  # low
    conf[:, 8:16] = 1  # medium
    cpath = str(tmp_path / 'conf.png')
    cv2.imwrite(cpath, conf)
    frame = dict(depth_path=path, confidence_path=cpath, depth_encoding='arkit')
    plain = LoadDepthFromFile()(dict(frame))['depth']
    assert (plain[:, :16][~holes[:, :16]] > 0).all()  # no min_confidence: not read
    for level, cut in ((1, 8), (2, 16)):
        depth = LoadDepthFromFile(min_confidence=level)(dict(frame))['depth']
        assert (depth[:, :cut] == 0).all()
        np.testing.assert_array_equal(depth[:, cut:], plain[:, cut:])
    # uint16 maps work too; frames without a confidence map are read as usual
    cv2.imwrite(cpath, conf.astype(np.uint16))
    assert (LoadDepthFromFile(min_confidence=1)(dict(frame))['depth'][:, :8] == 0).all()
    LoadDepthFromFile(min_confidence=1)(dict(depth_path=path))
    small = str(tmp_path / 'small.png')
    cv2.imwrite(small, conf[::2, ::2])
    with pytest.raises(ValueError, match=rf'confidence file {small} \(32x24, WxH\) does not have '
                                         rf'the size of depth file {path} \(64x48\)'):
        LoadDepthFromFile(min_confidence=1)(dict(frame, confidence_path=small))
    with pytest.raises(ValueError, match='min_confidence must be an int'):
        LoadDepthFromFile(min_confidence=0.5)
