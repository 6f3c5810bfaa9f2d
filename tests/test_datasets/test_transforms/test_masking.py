"""RGBDMaskGenerator: shapes, exact counts, options, determinism, errors."""
import numpy as np
import pytest

import mask3d_mm  # noqa: F401
from mask3d_mm.datasets.transforms import RGBDMaskGenerator
from mask3d_mm.registry import TRANSFORMS


def frame(h: int, w: int, depth=None) -> dict:
    return dict(img=np.zeros((h, w, 3), np.uint8),
                depth=np.ones((h, w), np.float32) if depth is None else depth,
                img_path='scene0000_00/color/000000.jpg')


@pytest.mark.parametrize('hw,grid,ratios', [
    ((224, 224), (14, 14), (0.75, 0.75)),
    ((240, 320), (15, 20), (0.75, 0.6)),
    ((32, 48), (4, 6), (0.5, 0.0)),
    ((64, 32), (2, 1), (0.25, 0.9)),  # patch 32
])
def test_shapes_and_exact_counts(hw, grid, ratios):
    p = hw[0] // grid[0]
    t = RGBDMaskGenerator(rgb_mask_ratio=ratios[0], depth_mask_ratio=ratios[1], patch_size=p)
    n = grid[0] * grid[1]
    for _ in range(5):
        results = t(frame(*hw))
        for key, ratio in zip(('rgb_mask', 'depth_mask'), ratios):
            m = results[key]
            assert m.shape == grid and m.dtype == np.bool_
            assert m.sum() == round(ratio * n)


def test_default_counts_and_independence():
    np.random.seed(0)
    t = TRANSFORMS.build(dict(type='mask3d_mm.RGBDMaskGenerator'))
    overlap = []
    for _ in range(50):
        r = t(frame(224, 224))
        assert r['rgb_mask'].sum() == 147 and r['depth_mask'].sum() == 147
        overlap.append((~r['rgb_mask'] & ~r['depth_mask']).sum())
    # independent masks: E[visible in both] = 49 * 49 / 196 = 12.25
    assert 9 < np.mean(overlap) < 16
    # every patch is masked sometimes and visible sometimes (uniform)
    masks = np.stack([t(frame(224, 224))['rgb_mask'] for _ in range(200)])
    assert 0 < masks.mean(0).min() and masks.mean(0).max() < 1


def test_complementary():
    t = RGBDMaskGenerator(complementary=True, seed=0)
    for _ in range(20):
        r = t(frame(240, 320))
        assert r['depth_mask'].sum() == 225 and r['rgb_mask'].sum() == 225
        # 75 visible depth patches, all among the 225 RGB-masked ones
        assert not (~r['rgb_mask'] & ~r['depth_mask']).any()
    # more visible depth patches than RGB-masked ones: all RGB-masked patches are used first
    t = RGBDMaskGenerator(rgb_mask_ratio=0.25, depth_mask_ratio=0.25, complementary=True, seed=1)
    r = t(frame(224, 224))
    assert r['rgb_mask'].sum() == 49 and (~r['depth_mask']).sum() == 147
    assert (~r['depth_mask'])[r['rgb_mask']].all()


def test_depth_visible_from_valid():
    h, w, p = 64, 96, 16  # 4x6 grid
    depth = np.ones((h, w), np.float32)
    depth[:, :48] = 0  # left 3 patch columns invalid
    depth[0:16, 48:64] = 0  # patch (0, 3) invalid
    depth[16:32, 48:64][::2] = 0  # patch (1, 3): 50% valid
    depth[32:48, 48:64][:9] = 0  # patch (2, 3): 7/16 valid
    t = RGBDMaskGenerator(depth_mask_ratio=0.5, depth_visible_from_valid=True,
                          min_valid_fraction=0.5, patch_size=p, seed=0)
    valid = t.valid_patches(depth, (4, 6))
    assert valid.sum() == 10 and valid[1, 3] and not valid[2, 3] and not valid[0, 3]
    for _ in range(10):
        r = t(frame(h, w, depth))
        visible = ~r['depth_mask']
        assert visible.sum() == 12
        assert visible[valid].all()  # all 10 valid patches used, 2 others as fallback
    t = RGBDMaskGenerator(depth_mask_ratio=0.75, depth_visible_from_valid=True,
                          patch_size=p, seed=0)
    for _ in range(10):
        visible = ~t(frame(h, w, depth))['depth_mask']
        assert visible.sum() == 6 and not visible[~valid].any()
    # valid depth takes precedence over complementarity
    t = RGBDMaskGenerator(rgb_mask_ratio=0.5, depth_mask_ratio=0.75, complementary=True,
                          depth_visible_from_valid=True, patch_size=p, seed=3)
    for _ in range(10):
        r = t(frame(h, w, depth))
        visible = ~r['depth_mask']
        assert not visible[~valid].any()
        n_pref = (valid & r['rgb_mask']).sum()
        assert (visible & r['rgb_mask']).sum() == min(6, n_pref)
    with pytest.raises(KeyError, match='depth'):
        RGBDMaskGenerator(depth_visible_from_valid=True)(dict(img=np.zeros((32, 32, 3))))


def test_seed_determinism():
    """Seeded masks are a function of (seed, frame): repeat validations see the same masks."""
    def frame_at(i):
        return dict(frame(96, 128), img_path=f'scene0000_00/color/{i:06d}.jpg')

    a = RGBDMaskGenerator(seed=123, complementary=True)
    b = RGBDMaskGenerator(seed=123, complementary=True)
    c = RGBDMaskGenerator(seed=124, complementary=True)
    seq_a = [a(frame_at(i)) for i in range(3)]
    seq_b = [b(frame_at(i)) for i in reversed(range(3))][::-1]  # any order
    seq_c = [c(frame_at(i)) for i in range(3)]
    for ra, rb in zip(seq_a, seq_b):
        np.testing.assert_array_equal(ra['rgb_mask'], rb['rgb_mask'])
        np.testing.assert_array_equal(ra['depth_mask'], rb['depth_mask'])
    np.testing.assert_array_equal(a(frame_at(1))['rgb_mask'], seq_a[1]['rgb_mask'])
    assert not np.array_equal(seq_a[0]['rgb_mask'], seq_a[1]['rgb_mask'])
    assert not all(np.array_equal(ra['rgb_mask'], rc['rgb_mask'])
                   for ra, rc in zip(seq_a, seq_c))
    # the frame decides, not where its root lies nor the file's suffix (pre-converted frames)
    for path in ('/data/scannet/scene0000_00/color/000001.jpg',
                 'C:\\copy\\scene0000_00\\color\\000001.png'):
        moved = a(dict(frame(96, 128), img_path=path))
        np.testing.assert_array_equal(moved['rgb_mask'], seq_a[1]['rgb_mask'])
    other_scene = a(dict(frame(96, 128), img_path='scene0001_00/color/000001.jpg'))
    assert not np.array_equal(other_scene['rgb_mask'], seq_a[1]['rgb_mask'])
    # seed=None follows the global np.random (seeded per worker by mmengine)
    np.random.seed(0)
    x = RGBDMaskGenerator(seed=None)(frame(96, 128))
    np.random.seed(0)
    y = RGBDMaskGenerator(seed=None)(frame(96, 128))
    np.testing.assert_array_equal(x['depth_mask'], y['depth_mask'])
    z = RGBDMaskGenerator(seed=None)(frame(96, 128))
    assert not np.array_equal(x['depth_mask'], z['depth_mask'])


def test_errors_and_repr():
    with pytest.raises(ValueError, match=r'100x128.*patch_size=16'):
        RGBDMaskGenerator()(dict(img=np.zeros((100, 128, 3), np.uint8), img_path='a.jpg'))
    for kwargs in (dict(rgb_mask_ratio=1.0), dict(depth_mask_ratio=-0.1),
                   dict(patch_size=0), dict(min_valid_fraction=0)):
        with pytest.raises(ValueError):
            RGBDMaskGenerator(**kwargs)
    assert 'complementary=False' in repr(RGBDMaskGenerator())
