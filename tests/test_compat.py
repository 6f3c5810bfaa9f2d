"""Each patch in mask3d_mm.compat does what it says, and is needed (fails without it)."""
import mask3d_mm  # noqa: F401  (first: compat patches)

import os
import pickle
import subprocess
import sys

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

from mask3d_mm.compat import load_local_checkpoint


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, labels, mode='tensor'):
        loss = ((self.linear(torch.stack(inputs)) - torch.stack(labels)) ** 2).mean()
        return dict(loss=loss) if mode == 'loss' else loss


class ToyDataset(torch.utils.data.Dataset):
    metainfo = dict(classes=('a', 'b'))

    def __len__(self):
        return 16

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(2, generator=g), labels=torch.randn(1, generator=g))


def _runner(work_dir, max_iters, resume=False) -> Runner:
    torch.manual_seed(0)  # same initial weights in every run
    return Runner(
        model=ToyModel(), work_dir=str(work_dir), experiment_name=f'toy_{max_iters}_{resume}',
        train_dataloader=dict(dataset=ToyDataset(), batch_size=4, num_workers=0,
                              sampler=dict(type='InfiniteSampler', shuffle=True)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='LinearLR', start_factor=0.5, by_epoch=False, end=6),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0), resume=resume, default_scope='mmengine')


def test_runner_checkpoint_resume_round_trip(tmp_path):
    uninterrupted = _runner(tmp_path / 'full', max_iters=6)
    uninterrupted.train()
    first = _runner(tmp_path / 'run', max_iters=4)
    first.train()
    assert (tmp_path / 'run' / 'iter_4.pth').is_file()
    resumed = _runner(tmp_path / 'run', max_iters=6, resume=True)
    resumed.train()
    assert resumed.iter == 6
    # the optimizer momentum, the scheduler and the sampler state came back: same weights
    for a, b in zip(uninterrupted.model.parameters(), resumed.model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    lr = resumed.optim_wrapper.get_lr()['lr'][0]
    assert lr == pytest.approx(uninterrupted.optim_wrapper.get_lr()['lr'][0])


def test_runner_checkpoint_needs_the_patch(tmp_path):
    """Without the patch, torch>=2.6 refuses mmengine's own checkpoints (mmengine#1655)."""
    runner = _runner(tmp_path, max_iters=2)
    runner.train()
    ckpt = str(tmp_path / 'iter_2.pth')
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt, map_location='cpu')  # what mmengine 0.10.7 does
    state = CheckpointLoader.load_checkpoint(ckpt, map_location='cpu')
    assert state['meta']['iter'] == 2 and 'message_hub' in state


class _Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_unsafe_pickle_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _Evil()}, path)
    with pytest.raises(pickle.UnpicklingError, match='evil.pth.*not safe to unpickle'):
        load_local_checkpoint(str(path))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_local_checkpoint(str(tmp_path / 'missing.pth'))


def test_torchvision_python_parts_import():
    """mmpretrain imports torchvision; its CUDA-built ops cannot load beside a CPU torch."""
    code = ('import mask3d_mm, mmpretrain.datasets, mmpretrain.models, mmdet.models; '
            'from mmpretrain.datasets import PackInputs; print("ok")')
    ok = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    from mask3d_mm.compat import _torchvision_ops_unloadable
    probe = subprocess.run(
        [sys.executable, '-c', 'from mask3d_mm.compat import _torchvision_ops_unloadable as f;'
         'print(f())'], capture_output=True, text=True)
    if probe.stdout.strip() == 'True':  # the patch is needed here: without it, import fails
        bare = subprocess.run([sys.executable, '-c', 'import torchvision'],
                              capture_output=True, text=True)
        assert bare.returncode != 0 and 'torchvision::nms' in bare.stderr
    assert callable(_torchvision_ops_unloadable)
