"""Files the project writes load with weights_only=True; files users give are loaded with
weights_only=True, and one that needs more is refused with an error naming it."""
import os.path as osp
import pickle

import pytest
import torch
from mmengine.config import Config

from helpers.tools import run_tool_main


class Payload:
    """A custom class: unpickling it without weights_only would create ``marker``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __setstate__(self, state: dict) -> None:
        open(state['marker'], 'w').close()
        self.__dict__.update(state)


@pytest.fixture
def spy_torch_load(monkeypatch):
    """Records the ``weights_only`` argument of every ``torch.load``."""
    calls = []
    real = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get('weights_only'))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, 'load', spy)
    return calls


def test_export_is_tensors_only_and_loads_as_pretrained(tiny_pretrain_run, tmp_path,
                                                        spy_torch_load):
    from mmpretrain.models import VisionTransformer
    config, ckpt = tiny_pretrain_run
    out = str(tmp_path / 'rgb_encoder.pth')
    run_tool_main('model_converters/export_rgb_encoder', ckpt, out)
    state = torch.load(out, weights_only=True)['state_dict']  # plain torch, no allow-list
    arch = Config.fromfile(config).model.backbone.arch.to_dict()
    vit = VisionTransformer(arch=arch, img_size=(64, 96), patch_size=16,
                            init_cfg=dict(type='Pretrained', checkpoint=out))
    spy_torch_load.clear()
    vit.init_weights()  # mmengine's CheckpointLoader -> mask3d_mm.compat.load_local_checkpoint
    assert spy_torch_load == [True]
    loaded = vit.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


@pytest.mark.parametrize('how', ['init_cfg', 'load_from', 'resume'])
def test_unsafe_user_file_is_refused(tiny_pretrain_run, tmp_path, how):
    config, _ = tiny_pretrain_run
    marker = str(tmp_path / 'code_ran')
    evil = str(tmp_path / 'user_weights.pth')
    torch.save(dict(state_dict={}, extra=Payload(marker)), evil)
    args = [config, '--work-dir', str(tmp_path / 'work')]
    if how == 'init_cfg':
        cfg = Config.fromfile(config)
        cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=evil, prefix='backbone.')
        args[0] = str(tmp_path / 'init_cfg.py')
        cfg.dump(args[0])
    elif how == 'load_from':
        args += ['--cfg-options', f'load_from={evil}']
    else:
        args += ['--resume', evil]
    with pytest.raises(pickle.UnpicklingError) as e:
        run_tool_main('train', *args)
    msg = str(e.value)
    assert evil in msg and 'not safe to unpickle' in msg
    assert 're-save its tensors' in msg  # says what to do
    assert 'Payload' in msg  # and what is in the way
    assert not osp.exists(marker)  # nothing of the file ran
