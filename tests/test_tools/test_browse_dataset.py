"""tools/analysis_tools/browse_dataset.py on the tiny pre-training and mmseg configs."""
import os
import os.path as osp

import cv2

from helpers.tools import REPO, run_tool_main

PRETRAIN = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic.py')
SEG = osp.join(REPO, 'configs/benchmarks/mmseg/upernet_vit-tiny_synthetic-scannet20.py')


def test_pretrain_frames(synthetic_scannet, tmp_path, capsys):
    for phase, options in (('train', []), ('val', ['val_dataloader.dataset.frame_skip=1'])):
        out = tmp_path / phase
        written = run_tool_main(
            'analysis_tools/browse_dataset', PRETRAIN, '--output-dir', str(out), '--phase',
            phase, '--max-frames', '3', '--cfg-options',
            f'{phase}_dataloader.dataset.data_root={synthetic_scannet}',
            f'{phase}_dataloader.dataset.ann_file=', *options)
        assert sorted(os.listdir(out)) == sorted(osp.basename(f) for f in written)
        assert len(written) == 3 and osp.basename(written[0]) == '0000_scene0000_00_000000.png'
        panel = cv2.imread(written[0])
        # colour, RGB mask, depth, validity, visible depth patches at the 96x128 crop
        assert panel.shape == (18 + 96, 5 * 128, 3)
    assert 'wrote 3 panels' in capsys.readouterr().out


def test_seg_frames_show_labels(synthetic_scannet, tmp_path):
    written = run_tool_main(
        'analysis_tools/browse_dataset', SEG, '--output-dir', str(tmp_path), '--max-frames',
        '2', '--cfg-options', f'train_dataloader.dataset.data_root={synthetic_scannet}',
        'train_dataloader.dataset.ann_file=')
    assert len(written) == 2
    panel = cv2.imread(written[0])
    # colour | labels: two views of the (random, at most 96x128, 3:4) crop
    h = panel.shape[0] - 18
    assert h <= 96 and panel.shape[1] == 2 * round(h * 128 / 96)
