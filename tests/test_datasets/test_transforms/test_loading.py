import cv2
import numpy as np
import pytest

from mask3d_mm.datasets.transforms import LoadDepthFromFile
from mask3d_mm.registry import TRANSFORMS


def _write(tmp_path, name, array):
    path = str(tmp_path / name)
    assert cv2.imwrite(path, array), path
    return path


@pytest.fixture
def depth_file(tmp_path):
    raw = np.full((6, 8), 1500, np.uint16)
    raw[0, 0] = 0  # hole
    raw[0, 1] = 65535  # invalid flag
    raw[0, 2] = 12000  # 12 m > max_depth
    raw[0, 3] = 10000  # exactly 10 m: valid
    raw[1, 0] = 1  # 1 mm
    return _write(tmp_path, 'depth.png', raw), raw


def test_mm_to_metres_and_invalid(depth_file):
    path, raw = depth_file
    results = LoadDepthFromFile()(dict(depth_path=path))
    depth = results['depth']
    assert depth.dtype == np.float32 and depth.shape == (6, 8)
    assert results['depth_shape'] == (6, 8)
    assert depth[0, 0] == 0 and depth[0, 1] == 0 and depth[0, 2] == 0
    assert depth[0, 3] == pytest.approx(10.0)
    assert depth[1, 0] == pytest.approx(0.001)
    assert depth[2, 2] == pytest.approx(1.5)


def test_options(depth_file):
    path, raw = depth_file
    depth = LoadDepthFromFile(max_depth=None, invalid_value=None)(dict(depth_path=path))['depth']
    assert depth[0, 1] == pytest.approx(65.535)
    assert depth[0, 2] == pytest.approx(12.0)
    depth = LoadDepthFromFile(depth_scale=5000, max_depth=None)(dict(depth_path=path))['depth']
    assert depth[2, 2] == pytest.approx(0.3)
    assert depth[0, 1] == 0
    depth = LoadDepthFromFile(invalid_value=12000, max_depth=None)(dict(depth_path=path))['depth']
    assert depth[0, 2] == 0 and depth[0, 3] == pytest.approx(10.0)
    with pytest.raises(ValueError):
        LoadDepthFromFile(depth_scale=0)


def test_build_and_repr(depth_file):
    path, _ = depth_file
    t = TRANSFORMS.build(dict(type='mask3d_mm.LoadDepthFromFile', max_depth=5.0,
                              backend_args=dict(backend='local')))
    assert isinstance(t, LoadDepthFromFile)
    assert t(dict(depth_path=path))['depth'].max() == pytest.approx(1.5)
    r = repr(t)
    assert r.startswith('LoadDepthFromFile(') and 'max_depth=5.0' in r


def test_aspect_ratio(tmp_path):
    path = _write(tmp_path, 'd.png', np.full((480, 640), 1000, np.uint16))
    t = LoadDepthFromFile()
    # real ScanNet pairing: 1296x968 color with 640x480 depth
    t(dict(depth_path=path, img=np.zeros((968, 1296, 3), np.uint8)))
    t(dict(depth_path=path, img=np.zeros((240, 320, 3), np.uint8)))
    with pytest.raises(ValueError, match='aspect ratio') as e:
        t(dict(depth_path=path, img=np.zeros((640, 480, 3), np.uint8), img_path='c.jpg'))
    assert path in str(e.value) and 'c.jpg' in str(e.value)
    with pytest.raises(ValueError, match=path):
        t(dict(depth_path=path, img=np.zeros((480, 600, 3), np.uint8)))


def _error(path, exc=ValueError, **kwargs):
    with pytest.raises(exc) as e:
        LoadDepthFromFile(**kwargs)(dict(depth_path=path))
    assert path in str(e.value)
    return str(e.value)


def test_missing_file(tmp_path):
    _error(str(tmp_path / 'nope.png'), FileNotFoundError)
    _error(str(tmp_path), FileNotFoundError)  # a folder


def test_corrupt_and_empty(tmp_path):
    corrupt = tmp_path / 'corrupt.png'
    corrupt.write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(range(200)))
    assert 'cannot decode' in _error(str(corrupt))
    text = tmp_path / 'text.png'
    text.write_text('not an image')
    assert 'cannot decode' in _error(str(text))
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    _error(str(empty))


def test_8bit(tmp_path):
    path = _write(tmp_path, 'd8.png', np.full((6, 8), 100, np.uint8))
    msg = _error(path)
    assert '8-bit depth is almost certainly wrong input: ScanNet depth is uint16 millimetres' in msg


def test_3_channel(tmp_path):
    assert '3 channels' in _error(_write(tmp_path, 'c16.png', np.ones((6, 8, 3), np.uint16)))
    assert '3 channels' in _error(_write(tmp_path, 'c8.jpg', np.ones((6, 8, 3), np.uint8)))


def test_float_and_nan(tmp_path):
    path = _write(tmp_path, 'f.tiff', np.full((6, 8), 1.5, np.float32))
    assert 'float32' in _error(path)
    nan = np.full((6, 8), 1.5, np.float32)
    nan[2, 3] = np.nan
    path = _write(tmp_path, 'nan.tiff', nan)
    assert 'NaN' in _error(path)


def test_all_invalid(tmp_path):
    path = _write(tmp_path, 'zero.png', np.zeros((6, 8), np.uint16))
    assert 'no valid pixel' in _error(path)
    far = _write(tmp_path, 'far.png', np.full((6, 8), 20000, np.uint16))
    _error(far)
    depth = LoadDepthFromFile(allow_all_invalid=True)(dict(depth_path=path))['depth']
    assert depth.shape == (6, 8) and not depth.any()
