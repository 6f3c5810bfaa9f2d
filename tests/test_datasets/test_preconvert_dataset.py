"""``tools/dataset_converters/preconvert_frames.py`` on any RGB-D reader (``--dataset-type`` or a
dataset of a config): the ScanNet frames layout, the depth values copied unchanged, the
source's encoding in the marker, the output read back to the same metres."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import json
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.registry import DATASETS, DefaultScope

from helpers.native_layouts.common import depth_pipeline
from helpers.native_layouts.sunrgbd import write_sunrgbd
from helpers.tools import REPO, run_tool_main

TOOL = 'dataset_converters/preconvert_frames'


def _build(cfg: dict):
    with DefaultScope.overwrite_default_scope('mask3d_mm'):
        return DATASETS.build(cfg)


def _metres(dataset) -> list:
    return [dataset[i]['depth'] for i in range(len(dataset))]


def test_sunrgbd_frames_preconverted_read_back_to_the_same_metres(tmp_path):
    written = write_sunrgbd(str(tmp_path / 'src'))
    root, out = str(tmp_path / 'src' / 'SUNRGBD'), str(tmp_path / 'out')
    run_tool_main(TOOL, root, out, '--dataset-type', 'mask3d_mm.SUNRGBDDataset',
                  '--dataset-args', "sensors=['kv1','kv2']")
    with open(osp.join(out, 'preconverted.json')) as f:
        marker = json.load(f)
    assert marker['complete'] and marker['encoding'] == 'sunrgbd'
    assert marker['reader'] == 'mask3d_mm.SUNRGBDDataset' and marker['source_name'] == 'sunrgbd'
    assert marker['source'] == osp.realpath(root) and marker['frames'] == 4
    first = osp.join(out, 'kv1__NYUdata__NYU0001')
    raw = np.load(osp.join(first, 'depth', '000000.npy'))
    assert np.array_equal(raw, cv2.imread(written[0]['depth_path'], cv2.IMREAD_UNCHANGED))
    assert cv2.imread(osp.join(first, 'color', '000000.jpg')).shape[:2] == raw.shape
    assert written[0]['img_path'] in open(osp.join(first, 'frames.txt')).read()

    source = _build(dict(type='mask3d_mm.SUNRGBDDataset', data_root=root,
                         sensors=['kv1', 'kv2'], pipeline=depth_pipeline(max_depth=10.0)))
    back = _build(dict(type='mask3d_mm.ScanNetRGBDDataset', data_root=out,
                       suffixes=dict(depth='.npy'), encoding=marker['encoding'],
                       source=marker['source_name'], pipeline=depth_pipeline(max_depth=10.0)))
    assert len(back) == len(source) == 4
    for a, b, w in zip(_metres(source), _metres(back), written):
        assert np.array_equal(a, b)
        assert np.allclose(b, w['metres'], atol=1e-6)  # the metres written, after the round trip
    assert back[0]['source'] == 'sunrgbd'


def test_a_source_of_a_mixture_config_and_the_marker_rules(tmp_path, monkeypatch):
    """The TUM-scaled frame list of the tiny mixture, named by --config and --dataset-key; a
    rerun continues it, other settings are refused naming them, a ConcatDataset is refused."""
    from mask3d_mm.synthetic.frame_list import write_synthetic_frame_list
    write_synthetic_frame_list(str(tmp_path / 'data' / 'synthetic_frames_tum'), encoding='tum',
                               num_scenes=1, frames_per_scene=3)
    monkeypatch.chdir(tmp_path)  # the config's data roots are relative
    config = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic-mixed.py')
    key = ['--config', config, '--dataset-key', 'train_dataloader.dataset.datasets.1']
    run_tool_main(TOOL, 'out', *key)
    marker = json.load(open(tmp_path / 'out' / 'preconverted.json'))
    assert (marker['encoding'], marker['source_name'], marker['frames']) == ('tum', 'tum', 3)
    assert marker['scene_frames'] == {'scene0000_00': 3}
    run_tool_main(TOOL, 'out', *key)  # the same source and settings: continued
    with pytest.raises(ValueError, match="jpeg_quality 95 there, 80 now"):
        run_tool_main(TOOL, 'out', *key, '--quality', '80')
    back = _build(dict(type='mask3d_mm.ScanNetRGBDDataset', data_root=str(tmp_path / 'out'),
                       suffixes=dict(depth='.npy'), encoding='tum',
                       pipeline=depth_pipeline(max_depth=10.0)))
    source = _build(dict(type='mask3d_mm.RGBDFrameListDataset',
                         data_root=str(tmp_path / 'data' / 'synthetic_frames_tum'),
                         ann_file='frames.txt', encoding='tum',
                         pipeline=depth_pipeline(max_depth=10.0)))
    assert all(np.array_equal(a, b) for a, b in zip(_metres(source), _metres(back)))
    with pytest.raises(TypeError, match='builds ConcatDataset.*each of its datasets'):
        run_tool_main(TOOL, 'out2', '--config', config)
    with pytest.raises(SystemExit):  # a ScanNet-root option with a reader
        run_tool_main(TOOL, 'out3', *key, '--encoding', 'tum')


def test_hypersim_ray_distances_copied_and_read_back_as_planar_depth(tmp_path):
    """Hypersim's HDF5 distances along the ray are copied as they are (.npy); read back with
    the recorded encoding and the written camera they give the same planar metres."""
    pytest.importorskip('h5py')
    from helpers.native_layouts.hypersim import write_hypersim
    write_hypersim(str(tmp_path / 'src'), num_frames=2, size=(48, 64))
    out = str(tmp_path / 'out')
    run_tool_main(TOOL, str(tmp_path / 'src'), out, '--dataset-type', 'mask3d_mm.HypersimDataset')
    marker = json.load(open(osp.join(out, 'preconverted.json')))
    assert marker['encoding'] == 'hypersim' and marker['frames'] == 2
    source = _build(dict(type='mask3d_mm.HypersimDataset', data_root=str(tmp_path / 'src'),
                         pipeline=depth_pipeline(max_depth=10.0)))
    back = _build(dict(type='mask3d_mm.ScanNetRGBDDataset', data_root=out,
                       suffixes=dict(depth='.npy'), encoding='hypersim',
                       pipeline=depth_pipeline(max_depth=10.0)))
    for a, b in zip(_metres(source), _metres(back)):
        assert np.allclose(a, b, atol=1e-5) and (b > 0).mean() > 0.5
