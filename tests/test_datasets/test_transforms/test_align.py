"""Colour-to-depth alignment through the two cameras' intrinsics (AlignImageTo /
AlignColorToDepth): known points, intrinsics for another image size, colour-frame labels, the
fallback resize, and edges of frames rendered through ScanNet's own two cameras."""
import logging

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger

from mask3d_mm.datasets import ScanNetRGBDDataset
from mask3d_mm.synthetic import (camera_pose, cast_rays, generate_scannet_scenes,
                                 make_scene, scene_cameras, shade)
from mask3d_mm.datasets.transforms import AlignColorToDepth, AlignImageTo, align
from mask3d_mm.datasets.transforms.camera import intrinsics_for_image, scale_intrinsics

# ScanNet scene0000_00: colour at 1296x968, depth at 640x480
K_COLOR = np.array([[1170.187988, 0, 647.75], [0, 1170.187988, 483.75], [0, 0, 1]])
K_DEPTH = np.array([[577.590698, 0, 318.905426], [0, 578.729797, 242.683609], [0, 0, 1]])


def ramp(h: int, w: int) -> np.ndarray:
    """(h, w, 3) float32 image whose channels 0/1 hold each pixel's own x / y."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([xs, ys, np.zeros_like(xs)], -1)


class Messages(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def messages():
    align._NOTED.clear()
    logger = MMLogger.get_instance('test_align')  # the current logger of print_log
    handler = Messages()
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)
    align._NOTED.clear()


def depth_frame(k_depth=K_DEPTH, hw=(480, 640), **extra) -> dict:
    return dict(depth=np.ones(hw, np.float32), depth_intrinsics=k_depth.astype(np.float32),
                img_path='c/0.jpg', depth_path='d/0.png', **extra)


def test_warp_through_intrinsics_hits_projected_points():
    results = AlignColorToDepth()(
        depth_frame(img=ramp(968, 1296), color_intrinsics=K_COLOR.astype(np.float32)))
    img = results['img']
    assert img.shape == (480, 640, 3) and results['img_shape'] == (480, 640)
    ys, xs = np.mgrid[0:480, 0:640]
    p = np.stack([xs, ys, np.ones_like(xs)], -1).astype(np.float64) @ (
        K_COLOR @ np.linalg.inv(K_DEPTH)).T
    u, v = p[..., 0] / p[..., 2], p[..., 1] / p[..., 2]
    inside = (u >= 0) & (u <= 1295) & (v >= 0) & (v <= 967)
    assert inside.mean() > 0.97  # the depth camera sees a few rows beyond the colour image
    assert np.abs(img[..., 0] - u)[inside].max() < 0.05
    assert np.abs(img[..., 1] - v)[inside].max() < 0.05
    # the colour is now in the depth camera: both intrinsics are the depth camera's
    np.testing.assert_allclose(results['color_intrinsics'], K_DEPTH, rtol=1e-6)
    np.testing.assert_allclose(results['depth_intrinsics'], K_DEPTH, rtol=1e-6)
    # a plain resize is off by about 3 px in y (ScanNet's cy differ beyond the scale)
    resized = AlignColorToDepth(use_intrinsics='never')(
        depth_frame(img=ramp(968, 1296), color_intrinsics=K_COLOR))['img']
    assert np.abs(resized[..., 1] - v)[inside].mean() * 480 / 968 > 2


def test_intrinsics_of_another_size_are_scaled_and_noted_once(messages):
    """The raw 1296x968 K with a 648x484 colour image (scannet_frames_25k ships smaller colour
    with the raw intrinsics): scaled to the image read, pixel centres at integers."""
    small = cv2.resize(ramp(968, 1296), (648, 484), interpolation=cv2.INTER_LINEAR)
    k_small = scale_intrinsics(K_COLOR, 0.5, 0.5)
    assert k_small[0, 2] == pytest.approx(323.625)  # (647.75 + 0.5) / 2 - 0.5
    assert np.allclose(intrinsics_for_image(K_COLOR, (648, 484))[0], k_small)
    assert intrinsics_for_image(K_COLOR, (1296, 968))[1] is None
    assert intrinsics_for_image(K_COLOR, (640, 480))[1] == (1296, 968)
    with pytest.raises(ValueError, match='aspect'):
        intrinsics_for_image(K_COLOR, (640, 240))
    t = AlignColorToDepth()
    raw = t(depth_frame(img=small.copy(), color_intrinsics=K_COLOR))['img']
    scaled = t(depth_frame(img=small.copy(), color_intrinsics=k_small))['img']
    assert np.abs(raw - scaled).max() < 1e-3
    t(depth_frame(img=small.copy(), color_intrinsics=K_COLOR))
    notes = [m for m in messages if 'for a 1296x968 image' in m]
    assert len(notes) == 1 and '648x484' in notes[0], messages


def test_same_camera_warp_equals_resize():
    """Colour K = depth K scaled to the colour size: the warp is the old resize."""
    k_color = scale_intrinsics(K_DEPTH, 1296 / 640, 968 / 480)
    img = (np.random.default_rng(0).random((968, 1296, 3)) * 255).astype(np.uint8)
    warped = AlignColorToDepth()(depth_frame(img=img.copy(), color_intrinsics=k_color))['img']
    resized = AlignColorToDepth(use_intrinsics='never')(
        depth_frame(img=img.copy(), color_intrinsics=k_color))['img']
    assert np.abs(warped.astype(int) - resized)[1:-1, 1:-1].max() <= 1


def test_colour_frame_labels_move_with_the_colour():
    """gt_seg_map / seg_fields loaded in the colour camera (ScanNet's 2D labels, 640x480 in
    scannet_frames_25k): nearest, ignore value where the colour camera saw nothing."""
    ys, xs = np.mgrid[0:480, 0:640]
    label = ((xs // 8 + 3 * (ys // 8)) % 50).astype(np.uint8)  # 8x8 blocks
    inst = label.astype(np.uint16) * 1000 + 7
    results = AlignColorToDepth()(depth_frame(
        img=ramp(968, 1296), color_intrinsics=K_COLOR, gt_seg_map=label.copy(),
        instance=inst.copy(), seg_fields=['instance']))
    k_label = intrinsics_for_image(K_COLOR, (640, 480))[0]
    p = np.stack([xs, ys, np.ones_like(xs)], -1).astype(np.float64) @ (
        k_label @ np.linalg.inv(K_DEPTH)).T
    u, v = np.rint(p[..., 0] / p[..., 2]).astype(int), np.rint(p[..., 1] / p[..., 2]).astype(int)
    inside = (u >= 0) & (u < 640) & (v >= 0) & (v < 480)
    got = results['gt_seg_map']
    assert got.dtype == np.uint8 and set(np.unique(got)) <= set(np.unique(label)) | {255}
    assert (got[inside] == label[v[inside], u[inside]]).mean() > 0.995
    assert np.all(got[~inside] == 255) and (~inside).any()
    assert results['instance'].dtype == np.uint16
    assert np.array_equal(results['instance'][inside] // 1000, got[inside])


def test_without_intrinsics_resize_is_noted_once_or_an_error(messages):
    frame = dict(img=np.zeros((968, 1296, 3), np.uint8), depth=np.ones((480, 640), np.float32),
                 img_path='scene/color/0.jpg')
    t = AlignColorToDepth()
    for _ in range(3):
        assert t(dict(frame))['img'].shape == (480, 640, 3)
    assert len([m for m in messages if 'not known' in m]) == 1, messages
    with pytest.raises(KeyError, match=r'scene/color/0\.jpg.*color_intrinsics'):
        AlignColorToDepth(use_intrinsics='require')(dict(frame))
    assert AlignColorToDepth(use_intrinsics='require').required_intrinsics == ('color', 'depth')
    assert AlignImageTo('gt_seg_map', use_intrinsics='require').required_intrinsics == ()


def test_resize_references_scale_colour_intrinsics():
    """Labels share the colour camera: resized onto them, the colour K is scaled along."""
    results = AlignImageTo('gt_seg_map')(dict(
        img=np.zeros((968, 1296, 3), np.uint8), gt_seg_map=np.zeros((480, 640), np.uint8),
        color_intrinsics=K_COLOR))
    np.testing.assert_allclose(results['color_intrinsics'],
                               scale_intrinsics(K_COLOR, 640 / 1296, 480 / 968), rtol=1e-6)


def test_intrinsics_that_do_not_fit_are_errors():
    wrong = K_COLOR.copy()
    wrong[0, 0] = wrong[1, 1] = 600  # a wider colour view than the depth camera's: fine
    AlignColorToDepth()(depth_frame(img=ramp(968, 1296), color_intrinsics=wrong))
    wrong[0, 0] = wrong[1, 1] = 2500  # the depth camera sees far beyond the colour image
    with pytest.raises(ValueError, match=r'beyond its border.*c/0\.jpg'):
        AlignColorToDepth()(depth_frame(img=ramp(968, 1296), color_intrinsics=wrong))
    with pytest.raises(ValueError, match='use_intrinsics'):
        AlignColorToDepth(use_intrinsics='yes')
    assert "use_intrinsics='auto'" in repr(AlignColorToDepth())


def _band_shift(img: np.ndarray, ref: np.ndarray, iters: int = 5) -> float:
    """Length of the sub-pixel shift d with img(x + d) ~ ref(x) (Lucas-Kanade on the band,
    both blurred and standardised)."""
    a, r = (cv2.GaussianBlur(x, (0, 0), 1.0) for x in (img, ref))
    a, r = (a - a.mean()) / a.std(), (r - r.mean()) / r.std()
    ys, xs = np.mgrid[0:a.shape[0], 0:a.shape[1]].astype(np.float32)
    d, m = np.zeros(2), (slice(4, -4), slice(4, -4))
    for _ in range(iters):
        aw = cv2.remap(a, (xs + d[0]).astype(np.float32), (ys + d[1]).astype(np.float32),
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        gx = cv2.Sobel(aw, cv2.CV_32F, 1, 0, ksize=3)[m] / 8
        gy = cv2.Sobel(aw, cv2.CV_32F, 0, 1, ksize=3)[m] / 8
        e = (r - aw)[m]
        a_ = np.array([[(gx * gx).sum(), (gx * gy).sum()], [(gx * gy).sum(), (gy * gy).sum()]])
        d += np.linalg.solve(a_, [(gx * e).sum(), (gy * e).sum()])
    return float(np.linalg.norm(d))


def test_rendered_scannet_cameras_edges_agree(tmp_path):
    """Frames rendered through ScanNet's colour camera (484x648) and depth camera (240x320),
    read through the dataset: after the warp the colour's edges sit where the depth camera
    sees them (< 0.5 px in every border band); the old resize is off by 1-2 px."""
    h, w = 240, 320
    generate_scannet_scenes(str(tmp_path), num_scenes=1, frames_per_scene=3, height=h,
                            width=w, color_size=(484, 648), color_camera='scannet')
    scene = make_scene(0, 0)
    k_depth = scene_cameras(scene, (h, w), (484, 648), 'scannet')[0]
    b = h // 5
    bands = [(slice(0, b), slice(None)), (slice(h - b, h), slice(None)),
             (slice(None), slice(0, b)), (slice(None), slice(w - b, w))]
    shifts = {}
    for mode in ('auto', 'never'):
        ds = ScanNetRGBDDataset(data_root=str(tmp_path), pipeline=[
            dict(type='LoadImageFromFile'), dict(type='mask3d_mm.LoadDepthFromFile'),
            dict(type='mask3d_mm.AlignColorToDepth', use_intrinsics=mode)])
        shifts[mode] = []
        for i in range(3):
            pose = camera_pose(scene, i / 3)
            depth, prim, dirs = cast_rays(scene, k_depth, pose, h, w)
            rgb = shade(scene, depth, prim, dirs, pose[:3, 3])[0]  # noise-free, depth camera
            ref = cv2.cvtColor(np.sqrt(np.clip(rgb, 0, 1))[..., ::-1] * 255, cv2.COLOR_BGR2GRAY)
            img = cv2.cvtColor(ds[i]['img'].astype(np.float32), cv2.COLOR_BGR2GRAY)
            shifts[mode] += [_band_shift(img[sl], ref[sl]) for sl in bands]
    warp, resize = max(shifts['auto']), min(shifts['never'])
    print(f'border-band misregistration at 320x240: through intrinsics max {warp:.2f} px, '
          f'resize {resize:.2f}-{max(shifts["never"]):.2f} px')
    assert warp < 0.5, shifts
    assert resize > 1.0, shifts


def test_identity_warp_is_skipped():
    """One camera at the depth size (the synthetic default): nothing is resampled (the data
    pipeline's hot path, ~2 ms per frame saved)."""
    from mask3d_mm.datasets.transforms.camera import warp_to_camera
    img = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    assert warp_to_camera(img, np.eye(3), (6, 4), 1) is img
    shifted = np.array([[1., 0., 0.5], [0., 1., 0.], [0., 0., 1.]])
    assert warp_to_camera(img, shifted, (6, 4), 1) is not img
    assert warp_to_camera(img, np.eye(3), (3, 2), 1).shape == (2, 3, 3)


def test_stated_intrinsics_size_wins_over_the_principal_point(messages):
    """TUM freiburg1's calibration (cy = 255.3) is for 640x480; guessed from its principal
    point it reads as a 640x512 image. A half-size copy aligns when the frame states the size
    (``*_intrinsics_wh``, as the corpus readers do), and is refused when it does not."""
    k = np.array([[517.3, 0, 318.6], [0, 516.5, 255.3], [0, 0, 1]], np.float32)
    frame = dict(depth_frame(k_depth=k, hw=(240, 320)), img=ramp(240, 320),
                 color_intrinsics=k.copy())
    with pytest.raises(ValueError, match='640x512'):
        AlignColorToDepth()(dict(frame))
    out = AlignColorToDepth()(dict(frame, depth_intrinsics_wh=(640, 480),
                                   color_intrinsics_wh=(640, 480)))
    assert out['img'].shape[:2] == (240, 320)
    np.testing.assert_allclose(out['img'], frame['img'], atol=1e-3)  # one camera: unchanged
    assert any('as the dataset states' in m for m in messages)
