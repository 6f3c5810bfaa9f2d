"""The RGB-D contract: valid depth and patch-to-pixel masks, numpy and torch alike; one
aspect-ratio tolerance."""
import cv2
import numpy as np
import pytest
import torch

from mask3d_mm.structures import (MAX_ASPECT_CHANGE, check_patch_mask, grid_patch_size,
                                  patch_to_pixel_mask, valid_depth)


def test_valid_depth_numpy_and_torch():
    d = np.array([0., -1., 0.5, 10., 10.5, np.nan, np.inf], np.float32)
    expected = [False, False, True, True, False, False, False]
    assert valid_depth(d, 10.).tolist() == expected
    assert valid_depth(torch.from_numpy(d), 10.).tolist() == expected
    # without max_depth only 0 < d and finite
    assert valid_depth(d).tolist() == [False, False, True, True, True, False, False]


def test_patch_to_pixel_mask_is_kron():
    rng = np.random.default_rng(0)
    mask = rng.random((3, 2, 4)) > 0.5
    for i in range(3):
        np.testing.assert_array_equal(patch_to_pixel_mask(mask, 5)[i],
                                      np.kron(mask[i], np.ones((5, 5), bool)))
    t = patch_to_pixel_mask(torch.from_numpy(mask)[:, None], 5)
    assert t.shape == (3, 1, 10, 20)
    np.testing.assert_array_equal(t[:, 0].numpy(), patch_to_pixel_mask(mask, 5))


def test_grid_patch_size_and_check_patch_mask():
    assert grid_patch_size((2, 3), (32, 48)) == 16
    with pytest.raises(ValueError, match='2x4 patch grid does not tile a 32x48'):
        grid_patch_size((2, 4), (32, 48))
    with pytest.raises(ValueError, match='square'):
        grid_patch_size((2, 2), (32, 48))
    flat = check_patch_mask(np.eye(2, 3, dtype=bool), (2, 3), 'm')
    assert flat.dtype == torch.bool and flat.tolist() == [True, False, False, False, True, False]
    with pytest.raises(TypeError, match="'x' must be a bool"):
        check_patch_mask(torch.zeros(2, 3), (2, 3), "'x'")
    with pytest.raises(ValueError, match=r'shape \(3, 2\), expected \(2, 3\)'):
        check_patch_mask(torch.zeros(3, 2, dtype=torch.bool), (2, 3), 'm')


@pytest.mark.parametrize('width,ok', [(620, True), (600, False)])  # 3.1% / 6.3% narrower
def test_one_aspect_tolerance_for_colour_and_depth(tmp_path, width, ok):
    """Where the depth is read and where the colour is aligned to it, a colour/depth pair gets
    the same verdict: both checks default to MAX_ASPECT_CHANGE."""
    from mask3d_mm.datasets.transforms import AlignColorToDepth, LoadDepthFromFile
    assert (abs(1 - width / 640) <= MAX_ASPECT_CHANGE) == ok
    path = str(tmp_path / 'd.png')
    cv2.imwrite(path, np.full((480, 640), 2000, np.uint16))
    img = np.zeros((480, width, 3), np.uint8)
    for step in (lambda r: LoadDepthFromFile()(dict(r, depth_path=path)),
                 lambda r: AlignColorToDepth(use_intrinsics='never')(
                     dict(r, depth=np.full((480, 640), 2., np.float32), depth_path=path))):
        if ok:
            step(dict(img=img.copy(), img_path='c.jpg'))
        else:
            with pytest.raises(ValueError, match='aspect'):
                step(dict(img=img.copy(), img_path='c.jpg'))
