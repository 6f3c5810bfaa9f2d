"""Fixtures of the tool tests."""
import pytest
from mmengine.runner import Runner

from helpers.tools import tiny_pretrain_cfg, write_cfg


@pytest.fixture(scope='session')
def tiny_pretrain_run(synthetic_scannet, tmp_path_factory):
    """A tiny pre-training run of 2 iterations with validation: ``(config file, checkpoint)``."""
    work_dir = tmp_path_factory.mktemp('tiny_pretrain_run')
    cfg = tiny_pretrain_cfg(synthetic_scannet, max_iters=2, ckpt_interval=2, validate=True)
    cfg.work_dir = str(work_dir)
    Runner.from_cfg(cfg).train()
    cfg.work_dir = None
    return write_cfg(cfg, str(work_dir / 'tiny.py')), str(work_dir / 'iter_2.pth')
