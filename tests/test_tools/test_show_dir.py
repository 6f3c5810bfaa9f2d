"""tools/test.py --show-dir: reconstruction panels of a pre-training config's test set, and
mmseg's own drawing for a fine-tuning config."""
import glob
import os
import os.path as osp

import cv2
import pytest
import torch
from mmengine.config import Config

from helpers.tools import REPO, run_tool_main

SEG_CONFIG = osp.join(REPO, 'configs/benchmarks/mmseg/upernet_vit-tiny_synthetic-scannet20.py')


def test_pretrain_show_dir(tiny_pretrain_run, tmp_path):
    config, ckpt = tiny_pretrain_run
    show = tmp_path / 'panels'
    metrics = run_tool_main('test', config, ckpt, '--work-dir', str(tmp_path / 'work'),
                            '--show-dir', str(show))
    assert 'depth/masked/abs_rel' in metrics
    names = sorted(os.listdir(show))
    # every validation frame of the 2 x 4 synthetic frames, named by scene and frame
    assert names == sorted(f'scene000{s}_00_00000{f}.png' for s in range(2) for f in range(4))
    panel = cv2.imread(str(show / names[0]))
    assert panel.shape[1] == 5 * 96  # masked RGB | depth input | predicted | gt | error


@pytest.mark.slow
def test_mmseg_show_dir(synthetic_scannet, tmp_path):
    """A fine-tuning config keeps mmseg's own --show-dir: SegVisualizationHook draws through
    the visualizer into DIR/vis_data/vis_image."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    cfg = Config.fromfile(SEG_CONFIG)
    cfg.model.backbone.init_cfg = None
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader.dataset.update(data_root=synthetic_scannet, ann_file='')
    # a test run never builds the training data (absent here, as on a test-only machine)
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'no_train_data')
    # mmseg's runtime names its visualizer 'visualizer': in one process (this suite) mmengine
    # hands back the instance of an earlier mmseg run, with that run's save_dir
    cfg.visualizer.name = f'visualizer_{tmp_path.name}'
    config = str(tmp_path / 'seg.py')
    cfg.dump(config)
    init_default_scope('mmseg')
    ckpt = str(tmp_path / 'seg.pth')
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), ckpt)
    show = tmp_path / 'seg_show'
    metrics = run_tool_main('test', config, ckpt, '--work-dir', str(tmp_path / 'work'),
                            '--show-dir', str(show))
    assert 'mIoU' in metrics
    drawn = sorted(osp.basename(f) for f in glob.glob(str(show / '**' / '*.png'),
                                                      recursive=True))
    # every test frame (frame_skip=5: the first of each scene), named by scene, frame and index
    assert drawn == ['test_scene0000_00_000000_0.png', 'test_scene0001_00_000000_1.png']
