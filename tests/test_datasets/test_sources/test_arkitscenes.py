"""ARKitScenesDataset on a stand-in of the raw layout (tests/helpers/native_layouts/arkitscenes)."""
import logging
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.logging import MMLogger

from mask3d_mm.datasets.sources.arkitscenes import (ARKitScenesDataset, nearest_within,
                                                    read_video_ids)
from helpers.native_layouts.arkitscenes import FPS_STEP, write_arkitscenes, write_splits_csv
from helpers.native_layouts.common import write_text

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='mask3d_mm.LoadDepthFromFile')]


@pytest.fixture(scope='module')
def raw(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('arkitscenes') / 'raw')
    frames = write_arkitscenes(root, colour_only_frames=(3, ), num_frames=4)
    return root, frames


class _Collect(logging.Handler):

    def __init__(self, level=logging.WARNING):
        super().__init__(level)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_metres_intrinsics_and_frames(raw):
    root, written = raw
    ds = ARKitScenesDataset(data_root=osp.join(root, 'Training'), pipeline=PIPELINE)
    # 2 videos x 3 frames with depth (the 4th has colour only: left out)
    assert len(ds) == 6
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['scene'] for i in infos] == ['41069025'] * 3 + ['41069042'] * 3
    assert [i['frame_id'] for i in infos[:3]] == ['3052.107', '3052.124', '3052.141']
    assert infos[1]['timestamp'] == pytest.approx(3052.107 + FPS_STEP)
    for i, info in enumerate(infos):
        exp = written[(info['scene'], info['frame_id'])]
        assert info['depth_encoding'] == 'arkit' and info['source'] == 'arkitscenes'
        assert osp.basename(info['img_path']) == osp.basename(info['depth_path'])
        # frame 1's .pincam is named 1 ms later: found within max_time_diff
        np.testing.assert_allclose(info['depth_intrinsics'], exp['k'], rtol=1e-6)
        np.testing.assert_allclose(info['color_intrinsics'], exp['k'], rtol=1e-6)
        assert info['depth_intrinsics'].dtype == np.float32
        out = ds[i]
        assert out['img'].shape[:2] == out['depth'].shape == (192, 256)
        # millimetres: exact up to float32
        np.testing.assert_allclose(out['depth'], exp['depth'], atol=1e-6)


def test_confidence_masks_low_pixels(raw):
    root, written = raw
    for min_conf in (1, 2):
        ds = ARKitScenesDataset(
            data_root=osp.join(root, 'Training'), video_ids=['41069042'],
            pipeline=[dict(type='mask3d_mm.LoadDepthFromFile', min_confidence=min_conf)])
        info = ds.get_data_info(0)
        assert info['confidence_path'].endswith('confidence/41069042_3052.107.png')
        exp = written[(info['scene'], info['frame_id'])]
        keep = exp['confidence'] >= min_conf
        depth = ds[0]['depth']
        assert (depth[~keep] == 0).all() and (~keep).any()
        np.testing.assert_allclose(depth[keep], exp['depth'][keep], atol=1e-6)
    # without min_confidence the map is read whole
    ds = ARKitScenesDataset(data_root=osp.join(root, 'Training'), video_ids=['41069042'],
                            pipeline=[dict(type='mask3d_mm.LoadDepthFromFile')])
    np.testing.assert_allclose(ds[0]['depth'], exp['depth'], atol=1e-6)
    # confidence=False: no confidence_path
    ds = ARKitScenesDataset(data_root=osp.join(root, 'Training'), video_ids=['41069042'],
                            confidence=False, intrinsics=False)
    assert 'confidence_path' not in ds.get_data_info(0)
    assert 'depth_intrinsics' not in ds.get_data_info(0)


def test_nearest_timestamp_pairing(tmp_path):
    """Colour named 1 ms off its depth frame pairs within max_time_diff, not beyond."""
    root = str(tmp_path / 'Training')
    write_arkitscenes(str(tmp_path), video_ids=['47333462'], num_frames=3)
    wide = osp.join(root, '47333462', 'lowres_wide')
    os.rename(osp.join(wide, '47333462_3052.124.png'), osp.join(wide, '47333462_3052.125.png'))
    ds = ARKitScenesDataset(data_root=root)
    assert len(ds) == 3
    assert ds.get_data_info(1)['img_path'].endswith('47333462_3052.125.png')
    assert ds.get_data_info(1)['depth_path'].endswith('47333462_3052.124.png')
    ds = ARKitScenesDataset(data_root=root, max_time_diff=0)
    assert len(ds) == 2  # the frame without an exactly named colour image is left out
    assert nearest_within([1.0, 1.017, 1.034], 1.0165, 0.002) == 1
    assert nearest_within([1.0, 1.017], 1.008, 0.002) is None


def test_video_selection(raw, tmp_path):
    root, _ = raw
    split = osp.join(root, 'Training')
    csv = write_splits_csv(str(tmp_path / 'raw_train_val_splits.csv'),
                           {'41069042': 'Training', '41069021': 'Validation'})
    # the CSV's rows of the data_root's fold (Training)
    assert read_video_ids(csv, 'Training') == ['41069042']
    ds = ARKitScenesDataset(data_root=split, ann_file=csv)
    assert {ds.get_data_info(i)['scene'] for i in range(len(ds))} == {'41069042'}
    listing = write_text(str(tmp_path / 'videos.txt'), '41069025\n')
    ds = ARKitScenesDataset(data_root=split, ann_file=listing, frame_skip=2)
    assert [ds.get_data_info(i)['frame_id'] for i in range(len(ds))] == ['3052.107', '3052.141']
    with pytest.raises(FileNotFoundError, match=r'1 video\(s\) of video_ids not under .*: 404'):
        ARKitScenesDataset(data_root=split, video_ids=['41069025', '404'])
    ds = ARKitScenesDataset(data_root=split, video_ids=['41069025', '404'], skip_incomplete=True)
    assert len(ds) == 3


def test_wrong_layout_names_the_folder(raw, tmp_path):
    root, _ = raw
    # the download folder instead of its split folder
    with pytest.raises(FileNotFoundError) as e:
        ARKitScenesDataset(data_root=root)
    msg = str(e.value)
    assert f'{root} holds no video folder with a lowres_depth/ folder' in msg
    assert 'holds Training/' in msg and 'point data_root at its Training/ or Validation/' in msg
    # the depth upsampling download (wide/, highres_depth/) of a listed video
    up = tmp_path / 'upsampling' / 'Training' / '41069021'
    for sub in ('wide', 'highres_depth', 'lowres_depth_x'):
        (up / sub).mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r'41069021 has no lowres_depth/ folder.*'
                       r'holds highres_depth/, lowres_depth_x/, wide/.*depth upsampling'):
        ARKitScenesDataset(data_root=str(up.parent), video_ids=['41069021'])
    # a video with depth but no colour folder
    bad = tmp_path / 'nocolour'
    shutil.copytree(osp.join(root, 'Training', '41069025', 'lowres_depth'),
                    str(bad / 'Training' / '41069025' / 'lowres_depth'))
    with pytest.raises(FileNotFoundError, match='has no lowres_wide/ folder'):
        ARKitScenesDataset(data_root=str(bad / 'Training'))


def test_3dod_frames_folder(raw, tmp_path):
    """The 3DOD download keeps the same files in <video_id>/<video_id>_frames/."""
    root, _ = raw
    dst = tmp_path / '3dod' / 'Training' / '41069025' / '41069025_frames'
    shutil.copytree(osp.join(root, 'Training', '41069025'), str(dst))
    ds = ARKitScenesDataset(data_root=str(tmp_path / '3dod' / 'Training'))
    assert len(ds) == 3 and '41069025_frames/lowres_depth/' in ds.get_data_info(0)['depth_path']


def test_wrong_encoding_fires_the_plausibility_check(raw):
    """Millimetres read as Matterport's 0.25 mm units: a room shrunk 4x, named with the
    likely encoding."""
    root, _ = raw
    ds = ARKitScenesDataset(data_root=osp.join(root, 'Training'), video_ids=['41069025'],
                            encoding='matterport', pipeline=PIPELINE)
    assert ds.get_data_info(0)['depth_encoding'] == 'matterport'
    logger = MMLogger.get_instance('test_arkitscenes_encoding')  # the current logger now
    handler = _Collect()
    logger.addHandler(handler)
    try:
        ds[0]
    finally:
        logger.removeHandler(handler)
    assert len(handler.messages) == 1, handler.messages
    msg = handler.messages[0]
    assert f"depth file {ds.get_data_info(0)['depth_path']} looks implausible" in msg
    assert "encoding='matterport'" in msg and "encoding='scannet'" in msg  # mm (= 'arkit')


@pytest.mark.slow
def test_pretrains_through_train_tool(raw, tmp_path):
    """tools/train.py on ARKitScenes frames, configs/mask3d/vit-tiny_synthetic.py changed by
    --cfg-options only (its LoadDepthFromFile(depth_scale=1000) agrees with 'arkit')."""
    from helpers.tools import PRETRAIN_CONFIG, run_tool_main
    root, _ = raw
    work = str(tmp_path / 'work')
    run_tool_main(
        'train', PRETRAIN_CONFIG, '--work-dir', work, '--no-validate', '--cfg-options',
        'train_dataloader.dataset.type=mask3d_mm.ARKitScenesDataset',
        f'train_dataloader.dataset.data_root={osp.join(root, "Training")}',
        'train_dataloader.dataset.ann_file=', 'train_dataloader.batch_size=3',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=1', 'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1')
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    logs = [osp.join(dp, f) for dp, _, fs in os.walk(work) for f in fs if f.endswith('.log')]
    text = ''.join(open(p).read() for p in logs)
    assert 'Epoch(train) [1][2/2]' in text and 'loss' in text


def test_documented_snippet_builds(raw):
    """docs/data_preparation.md's ARKitScenes snippet on the stand-in (data_root replaced)."""
    from helpers.native_layouts.doc_snippets import snippet_dataset_cfg
    from mask3d_mm.registry import DATASETS
    root, written = raw
    cfg = snippet_dataset_cfg('ARKitScenesDataset')
    assert cfg['data_root'].endswith('raw/Training/')
    ds = DATASETS.build(dict(cfg, data_root=osp.join(root, 'Training')))
    info = ds.get_data_info(0)
    exp = written[(info['scene'], info['frame_id'])]
    # the snippet's min_confidence=2 and max_depth=5.0
    keep = (exp['confidence'] >= 2) & (exp['depth'] <= 5.0)
    np.testing.assert_allclose(ds[0]['depth'], np.where(keep, exp['depth'], 0), atol=1e-6)
