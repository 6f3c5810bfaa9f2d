"""PackRGBDInputs + RGBDDataPreprocessor: shapes, dtypes, normalisation, errors."""
import numpy as np
import pytest
import torch

import mask3d_mm  # noqa: F401
from mmengine.dataset import default_collate, pseudo_collate

from mask3d_mm.datasets.transforms import PackRGBDInputs, RGBDMaskGenerator
from mask3d_mm.models.data_preprocessors import RGBDDataPreprocessor
from mask3d_mm.registry import MODELS, TRANSFORMS

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def sample(i: int, h: int = 32, w: int = 48) -> dict:
    rng = np.random.default_rng(i)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    depth = rng.uniform(0.5, 8, (h, w)).astype(np.float32)
    depth[:4, :4] = 0
    results = dict(img=img, depth=depth, img_path=f'color/{i:06d}.jpg',
                   depth_path=f'depth/{i:06d}.png', img_shape=(h, w), ori_shape=(h, w),
                   depth_intrinsics=np.eye(3, dtype=np.float32))
    results = RGBDMaskGenerator(patch_size=16, seed=i)(results)
    return results


def test_pack_rgbd_inputs():
    s = sample(0)
    packed = TRANSFORMS.build(dict(type='mask3d_mm.PackRGBDInputs'))(dict(s))
    inputs, ds = packed['inputs'], packed['data_samples']
    assert inputs.shape == (3, 32, 48) and inputs.dtype == torch.uint8
    assert torch.equal(inputs.permute(1, 2, 0), torch.from_numpy(s['img']))
    assert ds.depth.shape == (32, 48) and ds.depth.dtype == torch.float32
    assert torch.equal(ds.depth, torch.from_numpy(s['depth']))
    for key in ('rgb_mask', 'depth_mask'):
        m = getattr(ds, key)
        assert m.shape == (2, 3) and m.dtype == torch.bool
        assert torch.equal(m, torch.from_numpy(s[key]))
    assert ds.img_path == 'color/000000.jpg' and ds.depth_path == 'depth/000000.png'
    assert ds.depth_intrinsics.shape == (3, 3)
    # float64 depth is stored as float32
    ds64 = PackRGBDInputs()(dict(s, depth=s['depth'].astype(np.float64)))['data_samples']
    assert ds64.depth.dtype == torch.float32


def test_plain_pack_inputs_keeps_numpy():
    """Why PackRGBDInputs exists: mmpretrain's PackInputs stores algorithm keys as given."""
    from mmpretrain.datasets.transforms import PackInputs
    ds = PackInputs(algorithm_keys=['depth', 'rgb_mask'])(sample(0))['data_samples']
    assert isinstance(ds.depth, np.ndarray)


@pytest.mark.parametrize('collate', [default_collate, pseudo_collate])
def test_preprocessor(collate):
    pack = PackRGBDInputs()
    samples = [pack(sample(i)) for i in range(3)]
    batch = collate(samples)
    pre = MODELS.build(dict(type='mask3d_mm.RGBDDataPreprocessor', mean=MEAN, std=STD,
                            to_rgb=True))
    out = pre(batch)
    rgb, depth = out['inputs']
    assert rgb.shape == (3, 3, 32, 48) and rgb.dtype == torch.float32
    assert depth.shape == (3, 1, 32, 48) and depth.dtype == torch.float32
    assert len(out['data_samples']) == 3
    for i, s in enumerate(samples):
        img = s['inputs'].float()[[2, 1, 0]]  # BGR -> RGB
        expected = (img - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
        torch.testing.assert_close(rgb[i], expected)
        torch.testing.assert_close(depth[i, 0], s['data_samples'].depth)
    assert (depth[:, :, :4, :4] == 0).all()
    masks = torch.stack([ds.rgb_mask for ds in out['data_samples']])
    assert masks.shape == (3, 2, 3) and masks.dtype == torch.bool


def test_preprocessor_no_norm_keeps_metres():
    samples = [PackRGBDInputs()(sample(i)) for i in range(2)]
    rgb, depth = RGBDDataPreprocessor()(default_collate(samples))['inputs']
    torch.testing.assert_close(rgb, torch.stack([s['inputs'] for s in samples]).float())
    torch.testing.assert_close(depth[1, 0], samples[1]['data_samples'].depth)


def test_preprocessor_refuses_depth_scale():
    """One depth scale only: LoadDepthFromFile's (file value -> metres)."""
    with pytest.raises(TypeError, match=r"no depth_scale.*mask3d_mm\.LoadDepthFromFile"):
        MODELS.build(dict(type='mask3d_mm.RGBDDataPreprocessor', depth_scale=10.0))
    with pytest.raises(ValueError, match='std must be > 0'):
        RGBDDataPreprocessor(mean=MEAN, std=[1., 0., 1.])


def test_preprocessor_leaves_data_samples_and_checks_before_the_move():
    """Data samples are not moved (no per-sample copies); NaN depth is named by its file."""
    samples = [PackRGBDInputs()(sample(i)) for i in range(2)]
    batch = default_collate(samples)
    out = RGBDDataPreprocessor()(batch)
    assert out['data_samples'][0] is batch['data_samples'][0]
    batch['data_samples'][1].depth[0, 0] = float('nan')
    with pytest.raises(ValueError, match=r'non-finite .*depth in sample 1'):
        RGBDDataPreprocessor()(batch)


def test_preprocessor_numpy_depth():
    """Depth packed as numpy (plain PackInputs) is converted too."""
    from mmpretrain.datasets.transforms import PackInputs
    pack = PackInputs(algorithm_keys=['depth'])
    out = RGBDDataPreprocessor()(default_collate([pack(sample(i)) for i in range(2)]))
    assert out['inputs'][1].shape == (2, 1, 32, 48)
    assert out['inputs'][1].dtype == torch.float32


def test_preprocessor_errors():
    pre = RGBDDataPreprocessor()
    s0, s1 = PackRGBDInputs()(sample(0)), PackRGBDInputs()(sample(1))
    del s1['data_samples'].depth
    with pytest.raises(KeyError, match='000001.jpg'):
        pre(default_collate([s0, s1]))
    s1 = PackRGBDInputs()(sample(1))
    s1['data_samples'].depth = s1['data_samples'].depth[:16]
    with pytest.raises(ValueError, match=r'000001\.jpg.*\(16, 48\).*\(32, 48\)'):
        pre(default_collate([s0, s1]))
    with pytest.raises(KeyError):
        pre(dict(inputs=torch.zeros(1, 3, 32, 48, dtype=torch.uint8)))


@pytest.mark.filterwarnings("ignore:Only use .alpha. for pillow backend")
def test_end_to_end_pipeline(synthetic_scannet):
    """Files -> pre-training pipeline -> collate -> preprocessor, rectangular 64x96."""
    from mmengine.registry import DATASETS
    import mask3d_mm.datasets  # noqa: F401
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='mask3d_mm.LoadDepthFromFile'),
        dict(type='mask3d_mm.AlignColorToDepth'),
        dict(type='mask3d_mm.RGBDRandomResizedCrop', scale=(64, 96)),
        dict(type='mask3d_mm.RGBDRandomFlip', prob=0.5),
        dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2),
        dict(type='mask3d_mm.RGBDMaskGenerator', patch_size=16, seed=0),
        dict(type='mask3d_mm.PackRGBDInputs'),
    ]
    dataset = DATASETS.build(dict(type='mask3d_mm.ScanNetRGBDDataset',
                                  data_root=synthetic_scannet, pipeline=pipeline))
    np.random.seed(0)
    batch = default_collate([dataset[i] for i in range(3)])
    out = RGBDDataPreprocessor(mean=MEAN, std=STD, to_rgb=True)(batch)
    rgb, depth = out['inputs']
    assert rgb.shape == (3, 3, 64, 96) and depth.shape == (3, 1, 64, 96)
    assert depth.dtype == torch.float32 and (depth >= 0).all() and (depth <= 10).all()
    for ds in out['data_samples']:
        assert ds.rgb_mask.shape == (4, 6) and ds.rgb_mask.sum() == 18
        assert ds.depth_mask.shape == (4, 6) and ds.depth_mask.sum() == 18
        assert ds.img_shape == (64, 96) and ds.depth_intrinsics.shape == (3, 3)
        assert ds.img_path.endswith('.jpg') and ds.depth_path.endswith('.png')
