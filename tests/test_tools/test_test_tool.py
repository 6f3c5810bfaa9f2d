"""tools/test.py and tools/dist_test.sh on pre-training and fine-tuning configs."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from helpers.tools import REPO, free_port, run, run_tool_main

pytestmark = pytest.mark.slow  # trains or runs tools in subprocesses: the full tier only

SEG_CONFIG = osp.join(REPO, 'configs/benchmarks/mmseg/upernet_vit-tiny_synthetic-scannet20.py')


def test_pretrain_config_single_and_two_ranks(tiny_pretrain_run, tmp_path):
    """A pre-training config has no test split: the validation metric runs; 2 CPU ranks (gloo)
    give the same metrics as 1 process; predictions come out as a tensors-only file."""
    config, ckpt = tiny_pretrain_run
    single = run_tool_main('test', config, ckpt, '--work-dir', str(tmp_path / 'single'),
                           '--out', str(tmp_path / 'single.json'))
    assert 'depth/masked/abs_rel' in single and any('baseline' in k for k in single)
    with open(tmp_path / 'single.json') as f:
        assert json.load(f) == pytest.approx(single)

    dist = run(['bash', osp.join(REPO, 'tools/dist_test.sh'), config, ckpt, '2', '--work-dir',
                str(tmp_path / 'dist'), '--out', str(tmp_path / 'dist.json')],
               cwd=str(tmp_path), PORT=str(free_port()))  # mmengine's .dist_test/ goes there
    assert dist.returncode == 0, (dist.stdout + dist.stderr)[-4000:]
    assert 'gloo backend' in dist.stdout + dist.stderr
    with open(tmp_path / 'dist.json') as f:
        assert json.load(f) == pytest.approx(single, rel=1e-5)

    out = tmp_path / 'preds.pth'
    run_tool_main('test', config, ckpt, '--work-dir', str(tmp_path / 'pred'), '--out', str(out),
                  '--out-item', 'pred')
    preds = torch.load(out, weights_only=True)  # plain torch, no allow-list needed
    num_frames = 8
    assert len(preds) == num_frames
    assert len({p['img_path'] for p in preds}) == num_frames  # every frame once
    assert all(p['pred_depth'].shape == (1, 64, 96) for p in preds)
    assert all(isinstance(p['rgb_mask'], torch.Tensor) for p in preds)


def test_mmseg_config(synthetic_scannet, tmp_path):
    """The same tool on an mmseg config: its default_scope and test split decide."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    cfg = Config.fromfile(SEG_CONFIG)
    cfg.model.backbone.init_cfg = None
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader.dataset.update(data_root=synthetic_scannet, ann_file='')
    config = str(tmp_path / 'seg.py')
    cfg.dump(config)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'seg.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    metrics = run_tool_main('test', config, ckpt, '--work-dir', str(tmp_path / 'work'), '--out',
                            str(tmp_path / 'seg.json'))
    assert 'mIoU' in metrics and 0 <= metrics['mIoU'] <= 100
