"""mask3d_mm.apis.RGBDInferencer and demo/rgbd_demo.py on the tiny pre-training checkpoint:
a ScanNet-layout scene, a colour/depth pair, a list file, a config; hole filling keeps the
measured depth; the PNG, .npy and PLY outputs agree."""
import importlib.util
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from helpers.tools import REPO
from mask3d_mm.apis import RGBDInferencer
from mask3d_mm.apis.depth_output import encode_depth
from mask3d_mm.datasets.transforms import LoadDepthFromFile


@pytest.fixture(scope='module')
def inferencer(tiny_pretrain_run):
    config, ckpt = tiny_pretrain_run
    return RGBDInferencer(config, ckpt, device='cpu', show_progress=False)


def _demo_main():
    spec = importlib.util.spec_from_file_location('rgbd_demo', osp.join(REPO, 'demo',
                                                                         'rgbd_demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _read_metres(path: str, encoding: str) -> np.ndarray:
    load = LoadDepthFromFile(encoding=encoding, max_depth=None, on_implausible='ignore',
                             allow_all_invalid=True)
    return load.transform(dict(depth_path=path))['depth']


def _ply_vertices(path: str) -> int:
    with open(path, 'rb') as f:
        header = f.read(400).split(b'end_header')[0].decode('ascii')
    assert 'format binary_little_endian 1.0' in header
    return int(header.split('element vertex ')[1].split()[0])


def _holey_pair(synthetic_scannet: str, tmp_path, encoding: str = 'scannet', scale=1000.):
    """A frame of the synthetic set with a sensor hole (a 40x50 block of 0) written as a
    NAME_color.jpg + NAME_depth.png pair in ``encoding``."""
    scene = osp.join(synthetic_scannet, 'scene0000_00')
    depth = cv2.imread(osp.join(scene, 'depth', '000001.png'), cv2.IMREAD_UNCHANGED)
    metres = depth.astype(np.float64) / 1000.
    metres[30:70, 40:90] = 0
    folder = tmp_path / 'pairs'
    folder.mkdir(exist_ok=True)
    shutil.copy(osp.join(scene, 'color', '000001.jpg'), folder / 'kitchen_color.jpg')
    cv2.imwrite(str(folder / 'kitchen_depth.png'), np.rint(metres * scale).astype(np.uint16))
    return str(folder / 'kitchen_color.jpg'), str(folder / 'kitchen_depth.png')


def test_scannet_scene_reconstruction(inferencer, synthetic_scannet, tmp_path):
    scene = osp.join(synthetic_scannet, 'scene0000_00')
    out = inferencer(scene, mode='reconstruct', batch_size=3, out_dir=str(tmp_path))
    preds = out['predictions']
    assert [p['name'] for p in preds] == [f'scene0000_00_{i:06d}' for i in range(4)]
    for p, panel in zip(preds, out['visualization']):
        assert p['depth'].shape == (120, 160)  # the frame's own size
        assert p['model_input_size'] == (64, 96)  # the config's crop area, whole patches
        assert p['intrinsics_known']  # intrinsics_depth.txt of the scene
        assert np.isfinite(p['depth']).all() and p['abs_rel'] is not None
        assert p['depth_mask'].mean() == pytest.approx(0.75, abs=0.05)
        assert panel.shape[1] == 5 * 160  # input, depth input, predicted, ground truth, error
        for key in ('png', 'npy', 'ply'):
            assert osp.isfile(p['files'][key])
        assert osp.isfile(tmp_path / 'vis' / f"{p['name']}.png")


def test_pair_at_native_size_and_batches(inferencer, synthetic_scannet):
    color = osp.join(synthetic_scannet, 'scene0001_00', 'color', '000002.jpg')
    depth = osp.join(synthetic_scannet, 'scene0001_00', 'depth', '000002.png')
    out = inferencer(f'{color},{depth}', size='native', draw_panels=False)
    p = out['predictions'][0]
    assert p['depth'].shape == (120, 160)
    h, w = p['model_input_size']
    assert h % 16 == 0 and w % 16 == 0 and abs(h - 120) <= 8 and w == 160
    assert not p['intrinsics_known']  # a bare pair: the documented default intrinsics
    # any batch size: frames grouped by mask counts, same result as one at a time
    scene = osp.join(synthetic_scannet, 'scene0000_00')
    one = inferencer(scene, mode='fill', batch_size=1)['predictions']
    four = inferencer(scene, mode='fill', batch_size=4)['predictions']
    for a, b in zip(one, four):
        np.testing.assert_allclose(a['depth'], b['depth'], atol=1e-4)


def test_hole_filling_keeps_measured_depth(inferencer, synthetic_scannet, tmp_path):
    color, depth_png = _holey_pair(synthetic_scannet, tmp_path)
    region = np.zeros((120, 160), np.uint8)
    region[80:112, 100:140] = 255  # valid depth the user wants re-predicted
    cv2.imwrite(str(tmp_path / 'region.png'), region)
    out = inferencer([(color, depth_png)], mode='fill', mask=str(tmp_path / 'region.png'),
                     out_dir=str(tmp_path / 'out'))
    p = out['predictions'][0]
    measured = _read_metres(depth_png, 'scannet')
    valid = measured > 0
    keep = valid & (region == 0)
    np.testing.assert_array_equal(p['depth'][keep], measured[keep])  # exactly
    holes = ~keep
    assert holes[30:70, 40:90].all()
    assert np.isfinite(p['depth'][holes]).all() and (p['depth'][holes] > 0).all()
    assert p['abs_rel'] is not None  # scored on the measured depth inside the region
    assert not p['rgb_mask'].any()  # rgb_visible='all'
    # model input 64x96: 4x6 patches of 30x26.7 frame pixels; masked: those less than half
    # valid (the hole covers one whole) and every one the region touches
    assert p['depth_mask'][30:60, 54:80].all() and p['depth_mask'][60:120, 80:160].all()
    assert not p['depth_mask'][:30].any()
    # files: PNG in the input's encoding, the metres, a point per valid output pixel
    files = p['files']
    npy = np.load(files['npy'])
    np.testing.assert_array_equal(npy, p['depth'])
    assert p['png_encoding'] == 'scannet'
    np.testing.assert_allclose(_read_metres(files['png'], 'scannet'), npy, atol=0.5e-3 + 1e-6)
    assert _ply_vertices(files['ply']) == int((npy > 0).sum()) == 120 * 160
    # the RGB visible only in the holes (the pre-training's complementary masks); the
    # prediction fitted to the kept depth: still exactly the measured depth there
    p2 = inferencer([(color, depth_png)], mode='fill', rgb_visible='holes', align=True,
                    mask=str(tmp_path / 'region.png'))['predictions'][0]
    np.testing.assert_array_equal(p2['rgb_mask'], ~p2['depth_mask'])
    np.testing.assert_array_equal(p2['depth'][keep], measured[keep])
    assert (p2['depth'][holes] > 0).all() and not np.array_equal(p2['pred_depth'],
                                                                  p['pred_depth'])


def test_png_in_the_input_encoding(inferencer, synthetic_scannet, tmp_path):
    color, depth_png = _holey_pair(synthetic_scannet, tmp_path, scale=5000.)
    out = inferencer([(color, depth_png)], mode='fill', encoding='tum',
                     out_dir=str(tmp_path / 'out'))
    p = out['predictions'][0]
    assert p['png_encoding'] == 'tum'
    np.testing.assert_allclose(_read_metres(p['files']['png'], 'tum'), p['depth'],
                               atol=0.5 / 5000 + 1e-6)


@pytest.mark.parametrize('encoding,scale', [('scannet', 1000), ('tum', 5000),
                                             ('sunrgbd', 1000), ('scale:4000', 4000)])
def test_encode_depth_round_trip(encoding, scale, tmp_path):
    rng = np.random.default_rng(0)
    metres = rng.uniform(0.3, 9.0, (12, 16)).astype(np.float32)
    metres[0, :4] = 0
    values, written = encode_depth(metres, encoding)
    assert written == encoding and values.dtype == np.uint16
    cv2.imwrite(str(tmp_path / 'd.png'), values)
    back = _read_metres(str(tmp_path / 'd.png'), encoding)
    np.testing.assert_allclose(back, metres, atol=0.5 / scale + 1e-6)
    assert (back[0, :4] == 0).all()
    assert encode_depth(metres, 'float_m')[1] == 'scannet'  # no 16-bit form: millimetres


def test_list_file_config_and_default_checkpoint(tiny_pretrain_run, synthetic_scannet,
                                                 tmp_path):
    config, ckpt = tiny_pretrain_run
    cfg = Config.fromfile(config)
    cfg.work_dir = osp.dirname(ckpt)  # its last_checkpoint names the checkpoint
    inferencer = RGBDInferencer(cfg, device='cpu', show_progress=False)
    assert inferencer.weights == ckpt
    lst = tmp_path / 'frames.txt'
    rel = osp.relpath(synthetic_scannet, tmp_path)
    lst.write_text(f'# colour depth\n{rel}/scene0000_00/color/000000.jpg '
                   f'{rel}/scene0000_00/depth/000000.png\n'
                   f'{rel}/scene0001_00/color/000003.jpg {rel}/scene0001_00/depth/000003.png\n')
    preds = inferencer(str(lst), draw_panels=False)['predictions']
    assert len(preds) == 2 and preds[0]['depth'].shape == (120, 160)
    preds = inferencer(config, draw_panels=False, return_arrays=False)['predictions']
    assert len(preds) == 8 and 'depth' not in preds[0]  # the config's validation frames
    with pytest.raises(FileNotFoundError, match='last_checkpoint'):
        cfg.work_dir = str(tmp_path / 'nothing')
        RGBDInferencer(cfg, device='cpu')


def test_demo_command(tiny_pretrain_run, synthetic_scannet, tmp_path, capsys):
    config, ckpt = tiny_pretrain_run
    main = _demo_main()
    out_dir = str(tmp_path / 'demo')
    preds = main([synthetic_scannet, config, ckpt, '--out-dir', out_dir, '--mode', 'fill',
                  '--batch-size', '3', '--max-frames', '5', '--device', 'cpu'])
    assert len(preds) == 5
    for sub, ext in (('depth', '.png'), ('depth', '.npy'), ('vis', '.png'), ('ply', '.ply')):
        names = sorted(f for f in os.listdir(osp.join(out_dir, sub)) if f.endswith(ext))
        assert names == sorted(p['name'] + ext for p in preds)
    assert 'wrote 5 frames' in capsys.readouterr().out
    # colour and depth as two arguments, reconstruction at given ratios
    scene = osp.join(synthetic_scannet, 'scene0000_00')
    preds = main([osp.join(scene, 'color', '000000.jpg'), osp.join(scene, 'depth', '000000.png'),
                  config, ckpt, '--out-dir', str(tmp_path / 'pair'), '--mask-ratio', '0.5',
                  '--rgb-mask-ratio', '0.25', '--no-ply'])
    assert len(preds) == 1 and not osp.exists(tmp_path / 'pair' / 'ply')
    assert preds[0]['abs_rel'] is not None


def test_benchmark_hole_filling(tiny_pretrain_run, tmp_path):
    from helpers.tools import load_tool
    config, ckpt = tiny_pretrain_run
    bench = load_tool('tools/analysis_tools/benchmark_hole_filling.py')
    out = bench.main([config, ckpt, '--hole-sizes', '1', '2', '--max-frames', '3',
                      '--rgb-visible', 'all', '--out', str(tmp_path / 'holes.json')])
    assert out['frames'] == 3 and out['model_input_size'] == [64, 96]
    for k in ('1', '2'):
        row = out['table'][k]
        assert set(row) == {'Mask3D, RGB all', 'Mask3D, RGB all, aligned',
                            'nearest visible pixel', 'nearest visible patch'}
        # every method scored on the same removed valid pixels
        assert len({v['pixels'] for v in row.values()}) == 1
        assert all(np.isfinite(v['abs_rel']) and v['abs_rel'] >= 0 for v in row.values())
    with pytest.raises(ValueError, match='larger than the 4x6 patch grid'):
        bench.main([config, ckpt, '--hole-sizes', '5', '--max-frames', '1'])
