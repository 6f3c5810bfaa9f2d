"""``tools/misc/verify_dataset.py`` reads each frame through the dataset's own ``prepare_data``
(pipeline cut after the file loaders) and still reports, not skips, the bad frames of a config
that trains with ``skip_bad_frames=True``."""
import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import os.path as osp

import pytest
from helpers.tools import run_tool_main, tiny_pretrain_cfg, write_cfg

from mask3d_mm.synthetic import generate_scannet_scenes


def test_bad_frame_reported_though_training_would_skip_it(tmp_path):
    root = str(tmp_path / 'data')
    generate_scannet_scenes(root, num_scenes=1, frames_per_scene=3, height=48, width=64, seed=0)
    bad = osp.join(root, 'scene0000_00', 'depth', '000001.png')
    with open(bad, 'wb') as f:
        f.write(b'not a png')
    cfg = tiny_pretrain_cfg(root)
    cfg.train_dataloader.dataset.skip_bad_frames = True
    out = tmp_path / 'bad_frames.txt'
    with pytest.raises(SystemExit) as exit_info:
        run_tool_main('misc/verify_dataset', write_cfg(cfg, str(tmp_path / 'v.py')),
                      '--out-path', str(out))
    assert exit_info.value.code == 1
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and bad in lines[0], lines
    assert f'ValueError: cannot decode depth file {bad}' in lines[0]  # the cause, not a skip
