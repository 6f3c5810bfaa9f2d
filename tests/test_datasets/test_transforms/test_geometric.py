"""Joint RGB-D geometric transforms: pixel alignment, invalid depth, intrinsics."""
import copy

import numpy as np
import pytest

import mask3d_mm  # noqa: F401  (torchvision shim before mmpretrain)
from mask3d_mm.datasets.transforms import (AlignColorToDepth, RGBDRandomFlip,
                                           RGBDRandomResizedCrop, RGBDResize)
from mask3d_mm.registry import TRANSFORMS

H, W = 96, 128
HOLE = (slice(20, 40), slice(30, 60))  # rows, cols of a depth hole
K = np.array([[100., 0., 60.3], [0., 95., 45.7], [0., 0., 1.]], dtype=np.float32)


def encoded_depth(h: int = H, w: int = W) -> np.ndarray:
    """Depth = 1 + y + x / 1000 (metres): the source pixel can be read back from the value."""
    ys, xs = np.mgrid[0:h, 0:w]
    return (1 + ys + xs / 1000).astype(np.float32)


def decode_depth(depth: np.ndarray):
    """(x, y) source pixel of every depth value (integers; meaningless where depth == 0)."""
    d = depth.astype(np.float64) - 1
    y = np.floor(d + 1e-4)
    x = np.round((d - y) * 1000)
    return x, y


def make_frame(float_img: bool = False, hole: bool = True, h: int = H, w: int = W) -> dict:
    """Colour channels 0/1 encode x/y (times 2 for uint8), depth encodes the same (x, y)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    if float_img:
        img = np.stack([xs, ys, np.full_like(xs, 7)], -1).astype(np.float32)
    else:
        assert w <= 128 and h <= 128
        img = np.stack([2 * xs, 2 * ys, np.full_like(xs, 7)], -1).astype(np.uint8)
    depth = encoded_depth(h, w)
    if hole:
        depth[HOLE] = 0
    return dict(img=img, depth=depth, depth_intrinsics=K.copy(), img_shape=(h, w),
                img_path='color/000000.jpg', depth_path='depth/000000.png')


def decode_img(img: np.ndarray):
    """Continuous (x, y) source position encoded by the colour."""
    scale = 1.0 if img.dtype == np.float32 else 2.0
    return img[..., 0].astype(np.float64) / scale, img[..., 1].astype(np.float64) / scale


def assert_aligned(results: dict, tol: float = 0.5 + 0.25 + 1e-3):
    """The colour (bilinear) and depth (nearest) at every pixel come from the same place.

    Nearest resampling picks the source pixel whose cell contains the bilinear sample point,
    so the decoded positions differ by <= 0.5 px (+ 0.25 px uint8 rounding of the colour).
    """
    img, depth = results['img'], results['depth']
    assert img.shape[:2] == depth.shape[:2] == tuple(results['img_shape'])
    cx, cy = decode_img(img)
    dx, dy = decode_depth(depth)
    valid = depth > 0
    assert valid.any()
    assert np.abs(cx - dx)[valid].max() <= tol
    assert np.abs(cy - dy)[valid].max() <= tol


def assert_invalid_kept(results: dict, src_depth: np.ndarray):
    """No new depth values; the hole stays a hole (away from its border)."""
    depth = results['depth']
    assert depth.dtype == np.float32
    assert np.isin(np.unique(depth), np.unique(src_depth)).all()
    cx, cy = decode_img(results['img'])
    r, c = HOLE
    deep_inside = ((cx > c.start + 1) & (cx < c.stop - 2) & (cy > r.start + 1) &
                   (cy < r.stop - 2))
    assert (depth[deep_inside] == 0).all()
    outside = ((cx < c.start - 1) | (cx > c.stop) | (cy < r.start - 1) | (cy > r.stop))
    assert (depth[outside] > 0).all()


def assert_intrinsics_consistent(results: dict, K_src: np.ndarray):
    """K' K^-1 maps every source position (decoded from a float colour) to its output pixel.

    Equivalently: a 3D point that projects to source pixel (u, v) under K projects to the
    output pixel showing it under K'.
    """
    img = results['img']
    assert img.dtype == np.float32
    h, w = img.shape[:2]
    src_h, src_w = H, W
    cx, cy = decode_img(img)
    # skip pixels whose bilinear sample was clamped at the border of the crop (upscaling
    # replicates the crop's edge pixels, as any crop-then-resize does)
    x0, y0, x1, y1 = results.get('crop_bbox', (0, 0, src_w, src_h))
    inner = (cx > x0) & (cx < x1 - 1) & (cy > y0) & (cy < y1 - 1)
    vs, us = np.nonzero(inner)
    A = results['depth_intrinsics'].astype(np.float64) @ np.linalg.inv(K_src.astype(np.float64))
    src = np.stack([cx[inner], cy[inner], np.ones(inner.sum())])
    proj = A @ src
    np.testing.assert_allclose(proj[0] / proj[2], us, atol=2e-3)
    np.testing.assert_allclose(proj[1] / proj[2], vs, atol=2e-3)
    assert proj.shape[1] > 0.3 * h * w


def project(K: np.ndarray, P) -> np.ndarray:
    p = K.astype(np.float64) @ np.asarray(P, np.float64)
    return p[:2] / p[2]


# --------------------------------------------------------------------------------------------
def test_registered():
    for name in ('AlignColorToDepth', 'RGBDRandomResizedCrop', 'RGBDRandomFlip', 'RGBDResize'):
        assert TRANSFORMS.get(f'mask3d_mm.{name}') is not None


@pytest.mark.parametrize('color_hw', [(121, 162), (192, 256), (60, 80)])
def test_align_color_to_depth(color_hw):
    """Colour (a different size) is resized onto the depth grid, bilinear, aligned."""
    ch, cw = color_hw
    dh, dw = 60, 80
    ys, xs = np.mgrid[0:ch, 0:cw].astype(np.float64)
    # colour pixel centre (xc, yc) lies at depth coordinate (xc + 0.5) * dw / cw - 0.5
    img = np.stack([(xs + 0.5) * dw / cw - 0.5, (ys + 0.5) * dh / ch - 0.5,
                    np.zeros_like(xs)], -1).astype(np.float32)
    depth = encoded_depth(dh, dw)
    results = AlignColorToDepth()(dict(img=img, depth=depth.copy(), depth_intrinsics=K.copy()))
    assert results['img'].shape == (dh, dw, 3) and results['img_shape'] == (dh, dw)
    assert results['depth'] is not None and np.array_equal(results['depth'], depth)
    np.testing.assert_array_equal(results['depth_intrinsics'], K)
    cx, cy = decode_img(results['img'])
    ys, xs = np.mgrid[0:dh, 0:dw]
    inner = (xs > 0) & (xs < dw - 1) & (ys > 0) & (ys < dh - 1)
    # exact up to the bilinear weights' precision (linear ramps; downscale < 2x is exact)
    tol = 1e-3 if max(ch / dh, cw / dw) <= 2 else 0.3
    assert np.abs(cx - xs)[inner].max() <= tol
    assert np.abs(cy - ys)[inner].max() <= tol


def test_align_color_to_depth_uint8_and_errors():
    results = AlignColorToDepth()(dict(img=np.zeros((968, 1296, 3), np.uint8),
                                       depth=np.ones((480, 640), np.float32)))
    assert results['img'].shape == (480, 640, 3) and results['img'].dtype == np.uint8
    with pytest.raises(KeyError, match='x.jpg'):
        AlignColorToDepth()(dict(img=np.zeros((4, 4, 3), np.uint8), img_path='x.jpg'))
    assert 'bilinear' in repr(AlignColorToDepth())


@pytest.mark.parametrize('float_img', [False, True])
@pytest.mark.parametrize('scale', [(32, 32), (40, 56), (240, 320)])
def test_resize(scale, float_img):
    frame = make_frame(float_img)
    src_depth = frame['depth'].copy()
    results = RGBDResize(scale)(frame)
    assert results['img'].shape[:2] == scale and results['depth'].shape == scale
    assert results['img_shape'] == scale
    assert_aligned(results)
    assert_invalid_kept(results, src_depth)
    if float_img:
        assert_intrinsics_consistent(results, K)


def test_resize_known_point():
    """A 3D point projects to the output pixel predicted by the half-pixel resize map."""
    frame = make_frame(True)
    results = RGBDResize((48, 64))(frame)  # exact 2x downscale
    P = [0.3, -0.2, 2.0]
    u, v = project(K, P)
    u2, v2 = project(results['depth_intrinsics'], P)
    assert u2 == pytest.approx((u + 0.5) / 2 - 0.5, abs=1e-4)
    assert v2 == pytest.approx((v + 0.5) / 2 - 0.5, abs=1e-4)
    Kn = results['depth_intrinsics']
    assert Kn[0, 0] == pytest.approx(50.) and Kn[1, 1] == pytest.approx(47.5)
    # and the colour at that output pixel shows the source position (u, v)
    cx, cy = decode_img(results['img'])
    iu, iv = int(round(u2)), int(round(v2))
    assert cx[iv, iu] == pytest.approx(u + (iu - u2) * 2, abs=1e-3)
    assert cy[iv, iu] == pytest.approx(v + (iv - v2) * 2, abs=1e-3)


@pytest.mark.parametrize('float_img', [False, True])
@pytest.mark.parametrize('scale', [32, (24, 40), (240, 320)])
def test_random_resized_crop(scale, float_img):
    np.random.seed(0)
    t = RGBDRandomResizedCrop(scale)
    out_hw = (scale, scale) if isinstance(scale, int) else scale
    for _ in range(20):
        frame = make_frame(float_img)
        src_depth = frame['depth'].copy()
        results = t(frame)
        assert results['img'].shape[:2] == out_hw and results['depth'].shape == out_hw
        assert results['img'].dtype == frame['img'].dtype
        assert results['img'].flags.c_contiguous and results['depth'].flags.c_contiguous
        x0, y0, x1, y1 = results['crop_bbox']
        assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
        frac = (x1 - x0) * (y1 - y0) / (H * W)
        assert 0.18 <= frac <= 1.0
        assert_aligned(results)
        assert np.isin(np.unique(results['depth']), np.unique(src_depth)).all()
        if float_img:
            assert_intrinsics_consistent(results, K)
            # the crop box defines the intrinsics: fx' = fx * out_w / crop_w, ...
            sx = out_hw[1] / (x1 - x0)
            Kn = results['depth_intrinsics']
            assert Kn[0, 0] == pytest.approx(K[0, 0] * sx, rel=1e-5)
            assert Kn[0, 2] == pytest.approx((K[0, 2] - x0 + 0.5) * sx - 0.5, rel=1e-5)


def test_random_resized_crop_hole_and_aspect():
    np.random.seed(1)
    t = RGBDRandomResizedCrop((32, 32), crop_ratio_range=(0.5, 1.0))
    ratios = []
    for _ in range(30):
        frame = make_frame()
        src = frame['depth'].copy()
        results = t(frame)
        assert_invalid_kept(results, src)
        x0, y0, x1, y1 = results['crop_bbox']
        ratios.append((x1 - x0) / (y1 - y0))
    assert min(ratios) >= 3 / 4 - 0.05 and max(ratios) <= 4 / 3 + 0.05


def test_random_resized_crop_relative_aspect_and_fallback():
    np.random.seed(2)
    t = RGBDRandomResizedCrop((24, 48), crop_ratio_range=(0.3, 0.3), relative_aspect=True)
    for _ in range(10):
        x0, y0, x1, y1 = t(make_frame())['crop_bbox']
        assert 1.5 - 0.1 <= (x1 - x0) / (y1 - y0) <= 2.67 + 0.1
    # impossible draws -> central crop with the aspect clamped to the range
    t = RGBDRandomResizedCrop(16, crop_ratio_range=(1.0, 1.0), aspect_ratio_range=(2., 3.))
    results = t(make_frame())
    np.testing.assert_array_equal(results['crop_bbox'], [0, 16, 128, 80])
    assert_aligned(results)


def test_random_resized_crop_seeded_and_misaligned():
    t = RGBDRandomResizedCrop(32)
    np.random.seed(3)
    a = t(make_frame())
    np.random.seed(3)
    b = t(make_frame())
    np.testing.assert_array_equal(a['crop_bbox'], b['crop_bbox'])
    np.testing.assert_array_equal(a['depth'], b['depth'])
    frame = make_frame()
    frame['depth'] = frame['depth'][:50]
    with pytest.raises(ValueError, match='AlignColorToDepth.*|000000'):
        t(frame)
    with pytest.raises(ValueError):
        RGBDRandomResizedCrop((0, 3))
    with pytest.raises(ValueError):
        RGBDRandomResizedCrop(8, crop_ratio_range=(0.5, 0.2))
    assert 'scale=(32, 32)' in repr(t)


def test_crop_without_depth_and_seg_map():
    """Works on colour only; label maps are cropped nearest with the image."""
    frame = make_frame()
    seg = (np.arange(H * W) % 7).astype(np.uint8).reshape(H, W)
    del frame['depth'], frame['depth_intrinsics']
    frame['gt_seg_map'] = seg
    np.random.seed(4)
    results = RGBDRandomResizedCrop((24, 40))(frame)
    assert 'depth' not in results
    assert results['gt_seg_map'].shape == (24, 40)
    assert np.isin(np.unique(results['gt_seg_map']), np.unique(seg)).all()


@pytest.mark.parametrize('float_img', [False, True])
def test_flip(float_img):
    frame = make_frame(float_img)
    src = copy.deepcopy(frame)
    frame['rgb_mask'] = np.zeros((6, 8), bool)
    frame['rgb_mask'][:, 0] = True
    frame['gt_seg_map'] = np.tile(np.arange(W, dtype=np.uint8), (H, 1))
    results = RGBDRandomFlip(prob=1.0)(frame)
    assert results['flip'] is True and results['flip_direction'] == 'horizontal'
    np.testing.assert_array_equal(results['img'], src['img'][:, ::-1])
    np.testing.assert_array_equal(results['depth'], src['depth'][:, ::-1])
    assert results['rgb_mask'][:, -1].all() and not results['rgb_mask'][:, :-1].any()
    assert results['gt_seg_map'][0, 0] == W - 1
    assert_aligned(results, tol=1e-6)
    assert_invalid_kept(results, src['depth'])
    # intrinsics: the mirrored point (-X, Y, Z) lands on the flipped pixel (W - 1 - u, v)
    P = np.array([0.3, -0.2, 2.0])
    u, v = project(K, P)
    u2, v2 = project(results['depth_intrinsics'], P * [-1, 1, 1])
    assert (u2, v2) == pytest.approx((W - 1 - u, v), abs=1e-4)
    assert results['depth_intrinsics'][0, 0] > 0
    if float_img:
        assert_intrinsics_consistent(
            dict(results, depth_intrinsics=results['depth_intrinsics'] @ np.diag([-1, 1, 1])),
            K)


def test_flip_vertical_and_prob():
    frame = make_frame()
    src = copy.deepcopy(frame)
    results = RGBDRandomFlip(prob=1.0, direction='vertical')(frame)
    np.testing.assert_array_equal(results['depth'], src['depth'][::-1])
    assert results['depth_intrinsics'][1, 2] == pytest.approx(H - 1 - K[1, 2])
    frame = make_frame()
    results = RGBDRandomFlip(prob=0.0)(frame)
    assert results['flip'] is False and results['flip_direction'] is None
    np.testing.assert_array_equal(results['img'], src['img'])
    np.random.seed(0)
    flips = [RGBDRandomFlip(0.5)(make_frame())['flip'] for _ in range(200)]
    assert 60 < sum(flips) < 140
    with pytest.raises(ValueError):
        RGBDRandomFlip(1.5)
    with pytest.raises(ValueError):
        RGBDRandomFlip(direction='diagonal')


def test_full_chain_from_config():
    """Align -> crop -> flip built from configs keeps alignment and intrinsics."""
    from mmcv.transforms import Compose
    pipeline = Compose([
        dict(type='mask3d_mm.AlignColorToDepth'),
        dict(type='mask3d_mm.RGBDRandomResizedCrop', scale=(32, 48)),
        dict(type='mask3d_mm.RGBDRandomFlip', prob=0.5),
    ])
    np.random.seed(5)
    for _ in range(10):
        frame = make_frame(float_img=True)
        # colour twice the depth size, encoding depth-grid coordinates
        ys, xs = np.mgrid[0:2 * H, 0:2 * W].astype(np.float32)
        frame['img'] = np.stack([(xs + 0.5) / 2 - 0.5, (ys + 0.5) / 2 - 0.5,
                                 np.zeros_like(xs)], -1)
        results = pipeline(frame)
        assert results['img'].shape == (32, 48, 3)
        assert_aligned(results)
        Kn = results['depth_intrinsics'] @ np.diag([-1 if results['flip'] else 1, 1, 1])
        assert_intrinsics_consistent(dict(results, depth_intrinsics=Kn), K)


@pytest.mark.filterwarnings("ignore:Only use .alpha. for pillow backend")
def test_photometric_aug_touches_rgb_only():
    """MMPretrain's photometric transforms read and write results['img'] only."""
    from mmpretrain.registry import TRANSFORMS as PRETRAIN_TRANSFORMS
    np.random.seed(0)
    for cfg in (dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1),
                dict(type='mmpretrain.RandomGrayscale', prob=1.0, keep_channels=True),
                dict(type='mmpretrain.GaussianBlur', magnitude_range=(0.1, 2.0), prob=1.0)):
        t = PRETRAIN_TRANSFORMS.build(cfg)
        frame = make_frame()
        frame['img'] = np.random.randint(0, 255, frame['img'].shape, dtype=np.uint8)
        src = copy.deepcopy(frame)
        results = t(frame)
        np.testing.assert_array_equal(results['depth'], src['depth'])
        np.testing.assert_array_equal(results['depth_intrinsics'], src['depth_intrinsics'])
        assert not np.array_equal(results['img'], src['img']), cfg['type']
