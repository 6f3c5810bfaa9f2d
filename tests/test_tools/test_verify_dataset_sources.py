"""``tools/misc/verify_dataset.py`` on the RGB-D sources (issue 20): every loading transform runs
(an unknown one is named, not silently cut), the transforms not run are named, and depth
plausibility is reported per source, also for a ConcatDataset mixture."""
import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import os
import os.path as osp

import cv2
import numpy as np
import pytest
from helpers.tools import run_tool_main, write_cfg
from mmengine.config import Config

from mask3d_mm.synthetic import generate_scannet_scenes

H, W = 48, 64


def write_captures(root: str, scale: float, n: int = 3) -> None:
    """``cap/rgb/<i>.jpg`` + ``cap/depth/<i>.png``: a room of 1.5-4 m, uint16 metres x scale."""
    for sub in ('rgb', 'depth'):
        os.makedirs(osp.join(root, 'cap', sub), exist_ok=True)
    z = 1.5 + 2.5 * np.linspace(0, 1, H)[:, None] + 0 * np.linspace(0, 1, W)[None]
    for i in range(n):
        cv2.imwrite(osp.join(root, 'cap', 'rgb', f'{i}.jpg'), np.full((H, W, 3), 80, np.uint8))
        cv2.imwrite(osp.join(root, 'cap', 'depth', f'{i}.png'),
                    np.round(z * scale).astype(np.uint16))


def _cfg(dataset: dict) -> Config:
    return Config(dict(default_scope='mask3d_mm', train_dataloader=dict(
        batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dataset)))


def _run(tmp_path, cfg, capsys):
    out = tmp_path / 'bad.txt'
    with pytest.raises(SystemExit) as e:
        run_tool_main('misc/verify_dataset', write_cfg(cfg, str(tmp_path / 'v.py')),
                      '--out-path', str(out))
    assert e.value.code == 1
    return out.read_text().splitlines(), capsys.readouterr().out


def test_unknown_loader_runs_and_is_named(tmp_path, capsys):
    """The NYUv2-style depth pipeline of issue 20 (colour, then mmseg's LoadDepthAnnotation):
    a corrupt depth file was a '0 bad frames' pass, the pipeline cut before the loader."""
    pytest.importorskip('mmseg')
    root = str(tmp_path / 'data')
    generate_scannet_scenes(root, num_scenes=1, frames_per_scene=2, height=H, width=W, seed=0)
    bad = osp.join(root, 'scene0000_00', 'depth', '000001.png')
    with open(bad, 'wb') as f:
        f.write(b'not a png')
    cfg = _cfg(dict(type='mask3d_mm.ScanNetDepthDataset', data_root=root, pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='mmseg.LoadDepthAnnotation', depth_rescale_factor=1e-3),
        dict(type='mmseg.RandomCrop', crop_size=(32, 32)),
        dict(type='mmseg.PackSegInputs')]))
    lines, stdout = _run(tmp_path, cfg, capsys)
    assert len(lines) == 1 and bad in lines[0], lines
    assert stdout.startswith('WARNING: ScanNetDepthDataset: ran LoadDepthAnnotation, loading '
                             'transform(s) this tool does not know'), stdout
    assert 'WARNING: ScanNetDepthDataset: did not run RandomCrop, PackSegInputs' in stdout
    summary = stdout[stdout.index('1 bad frame(s) out of 2'):]
    assert 'source scannet: 1 bad frame(s) out of 2' in summary
    assert 'did not run RandomCrop, PackSegInputs' in summary  # repeated in the summary


def test_mixture_reports_implausible_depth_per_source(tmp_path, capsys):
    scannet = str(tmp_path / 'scannet')
    generate_scannet_scenes(scannet, num_scenes=1, frames_per_scene=2, height=H, width=W,
                            seed=0)
    own = str(tmp_path / 'own')
    write_captures(own, scale=5000)  # TUM's scale, stated as millimetres: implausible
    pipeline = [dict(type='LoadImageFromFile'), dict(type='mask3d_mm.LoadDepthFromFile')]
    cfg = _cfg(dict(type='ConcatDataset', ignore_keys=['dataset_name'], datasets=[
        dict(type='mask3d_mm.ScanNetRGBDDataset', data_root=scannet, pipeline=pipeline),
        dict(type='mask3d_mm.RGBDFrameListDataset', data_root=own, source='phone',
             color_glob='*/rgb/*.jpg', depth_glob='*/depth/*.png', depth_scale=1000,
             pipeline=pipeline)]))
    lines, stdout = _run(tmp_path, cfg, capsys)
    assert len(lines) == 3 and all('ImplausibleDepthError' in ln and 'own/cap/depth' in ln
                                   for ln in lines), lines
    assert "looks implausible for encoding='scale:1000'" in lines[0]
    assert '3 bad frame(s) out of 5' in stdout and '(3 with implausible depth)' in stdout
    assert 'source phone: 3 bad frame(s) out of 3, 3 with implausible depth' in stdout
    assert 'source scannet: 0 bad frame(s) out of 2, 0 with implausible depth' in stdout
    # stated correctly, the same frames pass
    cfg.train_dataloader.dataset.datasets[1].depth_scale = 5000
    write_cfg(cfg, str(tmp_path / 'v.py'))
    run_tool_main('misc/verify_dataset', str(tmp_path / 'v.py'))
    assert '0 bad frame(s) out of 5' in capsys.readouterr().out
