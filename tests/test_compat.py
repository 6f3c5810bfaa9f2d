"""Each patch in mask3d_mm.compat does what it says, and is needed (fails without it)."""
import mask3d_mm  # noqa: F401  (first: compat patches)

import json
import os
import os.path as osp
import pickle
import subprocess
import sys
import sysconfig

import pytest
import torch
from helpers.malicious import serve_directory, write_malicious_checkpoint
from mmengine.fileio.backends import BaseStorageBackend
from mmengine.fileio.backends.registry_utils import backends
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

from mask3d_mm import compat
from mask3d_mm.compat import load_local_checkpoint

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


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
    with pytest.raises(pickle.UnpicklingError):  # the allow-list was scoped to that load
        torch.load(ckpt, map_location='cpu', weights_only=True)


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


def test_every_mmengine_scheme_loads_safely_or_is_refused():
    """Each prefix of CheckpointLoader maps to a loader of mask3d_mm.compat, or to mmengine's
    http loader (and the ones resolving names to URLs), whose download goes through
    compat.load_url_checkpoint. A scheme added upstream fails here until it is vetted."""
    safe = {compat.load_local_checkpoint, compat.load_openmmlab_checkpoint,
            compat.load_remote_checkpoint, compat.refuse_pavi_checkpoint}
    via_http = {mmengine_checkpoint.load_from_http, mmengine_checkpoint.load_from_torchvision,
                mmengine_checkpoint.load_from_mmcls}
    schemes = dict(CheckpointLoader._schemes)
    assert set(schemes.values()) <= safe | via_http, schemes
    assert schemes[''] is compat.load_local_checkpoint
    for alias in (mmengine_checkpoint.load_url, torch.hub.load_state_dict_from_url,
                  torch.utils.model_zoo.load_url):
        assert alias is compat.load_url_checkpoint
    from mmengine.utils import dl_utils
    assert dl_utils.load_url is compat.load_url_checkpoint


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """torch hub's download cache and mmengine's home in ``tmp_path``."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    return cache


def _first_url(models: dict) -> tuple:
    return next((k, v) for k, v in models.items() if v.startswith('https://'))


@pytest.mark.parametrize('scheme', ['torchvision', 'mmcls', 'open-mmlab'])
def test_model_zoo_names_load_safely_from_the_cache(tmp_path, hub_cache, scheme):
    """A model-zoo name whose file is in the hub cache (no download): loaded with
    weights_only=True, and the refused file leaves the cache."""
    models = dict(torchvision=mmengine_checkpoint.get_torchvision_models,
                  mmcls=mmengine_checkpoint.get_mmcls_models,
                  **{'open-mmlab': mmengine_checkpoint.get_external_models})[scheme]()
    name, url = _first_url(models)
    cached = hub_cache / osp.basename(url)
    marker = tmp_path / 'code_ran'
    write_malicious_checkpoint(str(cached), str(marker))
    with pytest.raises(pickle.UnpicklingError, match=f'{url}.*not safe to unpickle'):
        CheckpointLoader.load_checkpoint(f'{scheme}://{name}', map_location='cpu')
    assert not marker.exists() and not cached.exists()


def test_open_mmlab_local_entry_loads_safely(tmp_path, hub_cache):
    """open-mmlab:// names mapped to a file under $MMENGINE_HOME (upstream: plain torch.load)."""
    home = tmp_path / 'mmengine_home'
    home.mkdir()
    (home / 'open_mmlab.json').write_text(json.dumps({'mine': 'mine.pth'}))
    marker = tmp_path / 'code_ran'
    write_malicious_checkpoint(str(home / 'mine.pth'), str(marker))
    with pytest.raises(pickle.UnpicklingError, match='mine.pth.*not safe to unpickle'):
        CheckpointLoader.load_checkpoint('open-mmlab://mine')
    assert not marker.exists()
    torch.save({'state_dict': {'w': torch.ones(1)}}, home / 'mine.pth')
    assert CheckpointLoader.load_checkpoint('open-mmlab://mine')['state_dict']['w'] == 1


class _MemoryBackend(BaseStorageBackend):
    """A storage backend serving bytes from a dict (stands in for petrel's object store)."""
    files: dict = {}

    def __init__(self, **kwargs) -> None:
        pass

    def get(self, filepath: str) -> bytes:
        return self.files[str(filepath)]

    def get_text(self, filepath: str, encoding: str = 'utf-8') -> str:
        return self.get(filepath).decode(encoding)


def test_s3_checkpoints_load_safely(tmp_path, monkeypatch):
    monkeypatch.setitem(backends, 'petrel', _MemoryBackend)
    marker = tmp_path / 'code_ran'
    evil = write_malicious_checkpoint(str(tmp_path / 'evil.pth'), str(marker))
    torch.save({'state_dict': {'w': torch.ones(1)}}, tmp_path / 'good.pth')
    files = {f'cluster:s3://bucket/{n}': (tmp_path / n).read_bytes()
             for n in ('evil.pth', 'good.pth')}
    monkeypatch.setattr(_MemoryBackend, 'files', files)
    with pytest.raises(pickle.UnpicklingError, match='cluster:s3://bucket/evil.pth'):
        CheckpointLoader.load_checkpoint('cluster:s3://bucket/evil.pth')
    assert not marker.exists() and osp.isfile(evil)
    good = CheckpointLoader.load_checkpoint('cluster:s3://bucket/good.pth')
    assert good['state_dict']['w'] == 1


def test_pavi_is_refused_naming_the_source():
    with pytest.raises(RuntimeError, match='pavi://project/model.pth: .*local path'):
        CheckpointLoader.load_checkpoint('pavi://project/model.pth')


def test_hub_aliases_refuse_code_and_clean_the_cache(tmp_path, hub_cache, monkeypatch):
    """torch.hub / model_zoo called directly, asking for weights_only=False: still refused."""
    for var in ('http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(var, raising=False)
    marker = tmp_path / 'code_ran'
    served = tmp_path / 'served'
    served.mkdir()
    write_malicious_checkpoint(str(served / 'evil.pth'), str(marker))
    (served / 'broken.pth').write_bytes(b'not a checkpoint')
    with serve_directory(str(served)) as (url, requests):
        for load in (torch.hub.load_state_dict_from_url, torch.utils.model_zoo.load_url):
            with pytest.raises(pickle.UnpicklingError, match=f'{url}/evil.pth'):
                load(f'{url}/evil.pth', weights_only=False)
        with pytest.raises(RuntimeError, match=f'cannot read {url}/broken.pth'):
            torch.hub.load_state_dict_from_url(f'{url}/broken.pth')
    assert requests == ['/evil.pth', '/evil.pth', '/broken.pth']  # each refusal emptied the cache
    assert not marker.exists() and os.listdir(hub_cache) == []


def test_explicit_weights_only_resists_torch_force_no_weights_only_load(tmp_path, monkeypatch):
    """Why compat passes weights_only=True instead of relying on torch's default: the variable
    TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 turns the default off (what mmengine's own loader would
    get), not an explicit argument."""
    marker = tmp_path / 'code_ran'
    evil = write_malicious_checkpoint(str(tmp_path / 'evil.pth'), str(marker))
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    with pytest.raises(pickle.UnpicklingError, match='evil.pth'):
        CheckpointLoader.load_checkpoint(evil)
    assert not marker.exists()
    with pytest.warns(UserWarning, match='TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'):
        torch.load(evil, map_location='cpu')  # mmengine 0.10.7's load_from_local, verbatim
    assert marker.exists()


def _run_without_site(code: str) -> subprocess.CompletedProcess:
    """``code`` in a Python that neither processed site-packages' ``.pth`` files (``-S``: no
    torchvision guard, no editable finder) nor imported mask3d_mm: the packages are found
    through ``PYTHONPATH`` (site-packages, then the repository)."""
    site_packages = sysconfig.get_paths()['purelib']
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([site_packages, REPO]))
    return subprocess.run([sys.executable, '-S', '-c', code], capture_output=True, text=True,
                          env=env, cwd=REPO)


GUARDED_DOC = 'import torchvision._meta_registrations as m; print(m.__doc__)'


def test_torchvision_guard_is_needed_and_compat_installs_it():
    """mmpretrain (and through it mmseg / mmdet models) imports torchvision, whose CUDA-built
    ops cannot load beside a CPU torch. Without the guard ``import mmseg.models`` fails exactly
    when the guard would replace ``torchvision._meta_registrations``; ``import mask3d_mm``
    (compat) installs the guard, and then the stack imports. (The ``.pth`` file of
    tools/install.sh, for processes that never import mask3d_mm: test_upstream_tools.py.)"""
    bare = _run_without_site('import mmseg.models')
    guarded = _run_without_site(
        'import mask3d_mm, mmpretrain.models, mmseg.models, mmdet.models; '
        'from mmpretrain.datasets import PackInputs; ' + GUARDED_DOC)
    assert guarded.returncode == 0, guarded.stderr
    replaced = 'mask3d_mm' in guarded.stdout
    if replaced:  # the ops are unloadable here (the CPU environment of tools/install.sh)
        assert bare.returncode != 0 and 'torchvision::nms' in bare.stderr, bare.stderr
    else:  # a torchvision whose ops load: the guard leaves the real module alone
        assert bare.returncode == 0, bare.stderr

