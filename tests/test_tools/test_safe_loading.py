"""Files the project writes load with weights_only=True; files users give, local or by URL, are
loaded with weights_only=True, and one that needs more is refused with an error naming it."""
import os
import os.path as osp
import pickle
import shutil
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from helpers.malicious import serve_directory, write_malicious_checkpoint
from helpers.tools import run_tool_main

pytestmark = pytest.mark.slow  # trains or runs tools in subprocesses: the full tier only


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
    # --img-size: pos_embed for the 4x6 grid below (the default writes a square grid)
    run_tool_main('model_converters/export_rgb_encoder', ckpt, out, '--img-size', '64', '96')
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


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A folder served over HTTP on 127.0.0.1 by this process, with torch hub's download cache
    in ``tmp_path``: ``.root``, ``.url``, ``.cache`` (the hub's checkpoints folder),
    ``.requests`` (the paths served)."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    for var in ('http_proxy', 'https_proxy', 'all_proxy'):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    root = tmp_path / 'served'
    root.mkdir()
    with serve_directory(str(root)) as (url, requests):
        yield SimpleNamespace(root=root, url=url, requests=requests,
                              cache=tmp_path / 'torch_home' / 'hub' / 'checkpoints')


def _mmseg_vit_init(checkpoint: str) -> None:
    from mmseg.models.backbones import VisionTransformer
    vit = VisionTransformer(img_size=(32, 32), patch_size=16, embed_dims=32, num_layers=1,
                            num_heads=2, init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    vit.init_weights()


@pytest.mark.parametrize('how', ['load_from', 'export', 'test_tool', 'mmseg_init_cfg'])
def test_url_checkpoint_with_code_is_refused(tiny_pretrain_run, tmp_path, served, how):
    config, _ = tiny_pretrain_run
    marker = str(tmp_path / 'code_ran')
    write_malicious_checkpoint(str(served.root / 'weights.pth'), marker)
    url = f'{served.url}/weights.pth'
    work = ['--work-dir', str(tmp_path / 'work')]
    with pytest.raises(pickle.UnpicklingError) as e:
        if how == 'load_from':
            run_tool_main('train', config, *work, '--cfg-options', f'load_from={url}')
        elif how == 'export':
            run_tool_main('model_converters/export_rgb_encoder', url, str(tmp_path / 'out.pth'))
        elif how == 'test_tool':
            run_tool_main('test', config, url, *work)
        else:
            _mmseg_vit_init(url)
    assert served.requests == ['/weights.pth']  # it went over HTTP
    assert url in str(e.value) and 'not safe to unpickle' in str(e.value)
    assert 'MarkerPayload' in str(e.value)
    assert not osp.exists(marker)  # nothing of the file ran
    # the refused download left the hub cache: no later load (any weights_only) finds it
    assert not served.cache.exists() or os.listdir(served.cache) == []
    assert not osp.exists(tmp_path / 'out.pth')


def test_good_checkpoint_over_http_loads(tiny_pretrain_run, tmp_path, served):
    """A Runner checkpoint (message hub, numpy metas) by URL: tools/test.py and the export give
    what they give for the local file."""
    config, ckpt = tiny_pretrain_run
    shutil.copy(ckpt, served.root / 'iter_2.pth')
    url = f'{served.url}/iter_2.pth'
    work = ['--work-dir', str(tmp_path / 'work')]
    by_url = run_tool_main('test', config, url, *work)
    assert by_url == run_tool_main('test', config, ckpt, *work)
    assert osp.isfile(served.cache / 'iter_2.pth')  # downloaded once, kept in the cache
    run_tool_main('model_converters/export_rgb_encoder', url, str(tmp_path / 'url.pth'))
    run_tool_main('model_converters/export_rgb_encoder', ckpt, str(tmp_path / 'local.pth'))
    a, b = (torch.load(tmp_path / f, weights_only=True)['state_dict']
            for f in ('url.pth', 'local.pth'))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert served.requests == ['/iter_2.pth']  # later loads read the cache
