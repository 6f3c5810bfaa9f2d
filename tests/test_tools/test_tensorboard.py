"""tools/train.py --vis-backend tensorboard: a tiny pre-training run writes its losses and
reconstruction panels into the TensorBoard event file (read back without a server)."""
import glob
import os.path as osp

import pytest

from helpers.tools import run_tool_main, tiny_pretrain_cfg, write_cfg

pytest.importorskip('tensorboard')


@pytest.mark.slow
def test_losses_and_panels_in_the_event_file(synthetic_scannet, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    cfg = tiny_pretrain_cfg(synthetic_scannet, max_iters=2, ckpt_interval=2, validate=True)
    cfg.custom_hooks = [dict(type='mask3d_mm.DepthReconstructionVisHook', num_samples=2)]
    config = write_cfg(cfg, str(tmp_path / 'tiny.py'))
    work_dir = tmp_path / 'work'
    run_tool_main('train', config, '--work-dir', str(work_dir), '--vis-backend', 'tensorboard')
    events = glob.glob(str(work_dir / '*' / 'vis_data' / 'events.out.tfevents.*'))
    assert len(events) == 1, events
    acc = EventAccumulator(osp.dirname(events[0]), size_guidance={'images': 0, 'scalars': 0})
    acc.Reload()
    tags = acc.Tags()
    assert {'loss', 'lr', 'depth/masked/abs_rel'} <= set(tags['scalars']), tags['scalars']
    assert [e.step for e in acc.Scalars('loss')] == [1, 2]
    assert {'reconstruction_0', 'reconstruction_1'} <= set(tags['images']), tags['images']
    image = acc.Images('reconstruction_0')[-1]
    assert image.width == 5 * 96 and image.height == 18 + 64  # five 64x96 views + titles


def test_unknown_or_missing_backend(tmp_path):
    from mmengine.config import Config
    from mask3d_mm.tooling.vis_backends import add_vis_backends
    cfg = Config(dict(visualizer=dict(type='Visualizer',
                                      vis_backends=[dict(type='LocalVisBackend')])))
    assert add_vis_backends(cfg, ['tensorboard', 'tensorboard'])[1].endswith('already in the '
                                                                              'config')
    assert [b['type'] for b in cfg.visualizer.vis_backends] == ['LocalVisBackend',
                                                               'TensorboardVisBackend']
    with pytest.raises(KeyError, match='choose from'):
        add_vis_backends(cfg, ['neptune'])
