"""Each patch in mask3d_mm.compat does what it says, and is needed (fails without it)."""
import mask3d_mm  # noqa: F401  (first: compat patches)

import json
import os
import os.path as osp
import pickle
import re
import subprocess
import sys
import sysconfig

import numpy as np
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
    """Each prefix of CheckpointLoader maps to its loader in compat.SAFE_LOADERS; none of
    mmengine's own loaders is left. A scheme added upstream fails here until it is vetted."""
    registered = dict(CheckpointLoader._schemes)
    expected = {prefix: loader for prefixes, loader in compat.SAFE_LOADERS.items()
                for prefix in ((prefixes, ) if isinstance(prefixes, str) else prefixes)}
    assert registered == expected
    assert all(loader.__module__ == compat.__name__ for loader in registered.values())


# the names mmengine 0.10.7's loader functions go by: a call by name skips CheckpointLoader
_MMENGINE_LOADER_CALL = re.compile(
    r'\b(load_from_(local|http|pavi|ceph|torchvision|openmmlab|mmcls)|load_url)\b')


def test_no_upstream_code_calls_mmengine_loader_functions_by_name():
    """Why compat registers loaders and patches no function of mmengine: apart from mmengine's
    own scheme loaders (all replaced in the registry) and its ``load_url`` alias of torch hub,
    no file of mmengine, mmcv, mmpretrain, mmseg or mmdet names a loader function of
    ``mmengine.runner.checkpoint``; they load through ``CheckpointLoader`` /
    ``_load_checkpoint``. An upstream release that adds a call by name fails here."""
    import mmcv
    import mmdet
    import mmengine
    import mmpretrain
    import mmseg
    mmengine_root = osp.dirname(mmengine.__file__)
    own = {osp.join(mmengine_root, *p) for p in (('runner', 'checkpoint.py'),
                                                  ('utils', 'dl_utils', '__init__.py'),
                                                  ('utils', 'dl_utils', 'hub.py'))}
    callers = []
    for package in (mmengine, mmcv, mmpretrain, mmseg, mmdet):
        for folder, _, files in os.walk(osp.dirname(package.__file__)):
            for name in files:
                path = osp.join(folder, name)
                if name.endswith('.py') and path not in own:
                    with open(path, encoding='utf-8', errors='replace') as f:
                        if _MMENGINE_LOADER_CALL.search(f.read()):
                            callers.append(path)
    assert callers == []


_WATCH_BINDINGS = r"""
import importlib.util, json, sys, warnings
warnings.simplefilter('ignore')
spec = importlib.util.spec_from_file_location('guard', 'mask3d_mm/_torchvision_guard.py')
guard = importlib.util.module_from_spec(spec)
spec.loader.exec_module(guard)
guard.install()  # the .pth file's guard, without importing mask3d_mm
import torch, torch.hub, torch.utils.model_zoo, torchvision, torchvision.models
HUB, LOAD = torch.hub.load_state_dict_from_url, torch.load

def describe(value):
    return f'{getattr(value, "__module__", "?")}.{getattr(value, "__qualname__", "?")}@{id(value)}'

def bindings():
    found = {}
    for module_name, module in list(sys.modules.items()):
        for name, value in list(getattr(module, '__dict__', {}).items()):
            if name in ('load_state_dict_from_url', 'load_url', 'load') and callable(value):
                found[f'{module_name}.{name}'] = describe(value)
    return found

def foreign_mask3d_mm_objects():
    found = []
    for module_name, module in list(sys.modules.items()):
        if module_name.split('.')[0] == 'mask3d_mm':
            continue
        for name, value in list(getattr(module, '__dict__', {}).items()):
            try:
                owner = getattr(value, '__module__', None)
            except Exception:
                continue
            if isinstance(owner, str) and owner.split('.')[0] == 'mask3d_mm':
                found.append(f'{module_name}.{name}')
    return found

before = bindings()
import mask3d_mm
after = bindings()
print(json.dumps(dict(
    before=before, after=after, hub=describe(HUB), load=describe(LOAD),
    foreign=foreign_mask3d_mm_objects())))
"""


def test_torch_and_torchvision_loaders_are_torchs_own():
    """In this process (mask3d_mm imported first): torch hub's loader and every alias of it, in
    torch, torchvision and mmengine, are torch's function; ``torch.load`` is torch's."""
    import torchvision.models  # noqa: F401
    from mmengine.utils import dl_utils
    hub = torch.hub.load_state_dict_from_url
    assert (hub.__module__, hub.__qualname__) == ('torch.hub', 'load_state_dict_from_url')
    aliases = [torch.utils.model_zoo.load_url, mmengine_checkpoint.load_url, dl_utils.load_url,
               sys.modules['torchvision._internally_replaced_utils'].load_state_dict_from_url,
               sys.modules['torchvision.models._api'].load_state_dict_from_url]
    assert all(alias is hub for alias in aliases)
    assert torch.load is torch.serialization.load
    assert torch.load.__module__ == 'torch.serialization'


@pytest.mark.slow
def test_import_leaves_torch_and_torchvision_as_they_were():
    """``import mask3d_mm`` rebinds no function of torch or torchvision: in a fresh interpreter,
    every ``load_state_dict_from_url`` / ``load_url`` / ``load`` attribute of the modules that
    torch and torchvision.models import is the same object before and after it, so a caller's
    ``weights_only`` reaches torch. The modules it imports (mmengine's ``load_url``) bind torch's
    own function, and no module outside mask3d_mm holds a mask3d_mm object. (A subprocess that
    imports the stack: the slow tier; the fast one has the in-process test above.)"""
    done = subprocess.run([sys.executable, '-c', _WATCH_BINDINGS], capture_output=True,
                          text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    before, after = seen['before'], seen['after']
    hub, load = seen['hub'], seen['load']
    assert hub.startswith('torch.hub.load_state_dict_from_url@')
    assert load.startswith('torch.serialization.load@')
    watched = ['torch.hub.load_state_dict_from_url', 'torch.utils.model_zoo.load_url',
               'torchvision._internally_replaced_utils.load_state_dict_from_url',
               'torchvision.models._api.load_state_dict_from_url']
    assert {name: before[name] for name in watched} == dict.fromkeys(watched, hub)
    assert before['torch.load'] == load
    assert {name: after[name] for name in before} == before
    # imported by mask3d_mm: torch's function, unchanged
    assert after['mmengine.utils.dl_utils.load_url'] == hub
    assert after['mmengine.runner.checkpoint.load_url'] == hub
    assert seen['foreign'] == []


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
    weights_only=True, and the refused file leaves the cache. A clean file gives what
    upstream's loader gives (mmcls://: only the ``backbone.`` keys, without the prefix)."""
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
    state = {'backbone.w': torch.ones(1), 'head.b': torch.zeros(1)}
    torch.save({'state_dict': state}, cached)
    loaded = CheckpointLoader.load_checkpoint(f'{scheme}://{name}', map_location='cpu')
    if scheme == 'mmcls':
        assert list(loaded['state_dict']) == ['w']
    else:
        assert loaded['state_dict'].keys() == state.keys()


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


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A folder served over HTTP on 127.0.0.1 by this process: ``(folder, url, requests)``."""
    for var in ('http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(var, raising=False)
    folder = tmp_path / 'served'
    folder.mkdir()
    with serve_directory(str(folder)) as (url, requests):
        yield folder, url, requests


def test_http_checkpoints_refuse_code_and_clean_the_cache(tmp_path, hub_cache, served):
    """``http://`` through CheckpointLoader (load_from, init_cfg, _load_checkpoint): code is
    refused naming the URL, bytes that are no checkpoint name it too, and each refused download
    leaves the hub cache; a Runner-like checkpoint loads and stays cached."""
    folder, url, requests = served
    marker = tmp_path / 'code_ran'
    write_malicious_checkpoint(str(folder / 'evil.pth'), str(marker))
    (folder / 'broken.pth').write_bytes(b'not a checkpoint')
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': {'iter': np.int64(2)}},
               folder / 'good.pth')
    for _ in range(2):  # the refused file is not found in the cache the second time
        with pytest.raises(pickle.UnpicklingError, match=f'{url}/evil.pth.*not safe'):
            CheckpointLoader.load_checkpoint(f'{url}/evil.pth', map_location='cpu')
    with pytest.raises(RuntimeError, match=f'cannot read {url}/broken.pth'):
        CheckpointLoader.load_checkpoint(f'{url}/broken.pth')
    assert not marker.exists() and os.listdir(hub_cache) == []
    good = CheckpointLoader.load_checkpoint(f'{url}/good.pth', map_location='cpu')
    assert good['state_dict']['w'] == 1 and good['meta']['iter'] == 2
    assert requests == ['/evil.pth', '/evil.pth', '/broken.pth', '/good.pth']
    assert os.listdir(hub_cache) == ['good.pth']


class PlainObject:
    """Not in torch's weights_only allow-list, harmless to unpickle."""

    def __init__(self, value: int) -> None:
        self.value = value


def test_direct_torch_hub_calls_are_torchs_own(hub_cache, served):
    """torch.hub / model_zoo called directly are torch's functions: an explicit
    ``weights_only=False`` loads what the caller asked for, ``weights_only=True`` is torch's own
    refusal (no mask3d_mm allow-list, no mask3d_mm message), the file stays in the cache."""
    folder, url, _ = served
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': PlainObject(7)},
               folder / 'plain.pth')
    for load in (torch.hub.load_state_dict_from_url, torch.utils.model_zoo.load_url):
        assert load(f'{url}/plain.pth', weights_only=False)['meta'].value == 7
        with pytest.raises(pickle.UnpicklingError) as refused:
            load(f'{url}/plain.pth', weights_only=True)
        assert 'PlainObject' in str(refused.value)
        assert 'not safe to unpickle' not in str(refused.value)
    assert os.listdir(hub_cache) == ['plain.pth']
    # the same URL through mmengine is mask3d_mm's business: refused
    with pytest.raises(pickle.UnpicklingError, match='plain.pth.*not safe to unpickle'):
        CheckpointLoader.load_checkpoint(f'{url}/plain.pth')


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
                          env=env, cwd=REPO, timeout=300)


GUARDED_DOC = 'import torchvision._meta_registrations as m; print(m.__doc__)'


@pytest.mark.slow
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



@pytest.mark.slow  # dynamo tracing: 5-20 s on 2 shared cores
@pytest.mark.parametrize('patched', [True, False])
def test_paramwise_optimizer_step_compiles(patched):
    """``compile=True`` compiles ``train_step``, the optimizer step included: mmengine's
    ``paramwise_cfg`` param groups are ``ConfigDict`` (built from the config), on which torch
    2.13's dynamo fails; the registered constructor makes them dicts."""
    import torch._dynamo
    from mmengine.config import ConfigDict
    from mmengine.optim import DefaultOptimWrapperConstructor, build_optim_wrapper
    model = torch.nn.Linear(4, 2)
    optimizer = dict(type='AdamW', lr=1e-3, weight_decay=0.05)
    paramwise = dict(custom_keys={'bias': dict(decay_mult=0.)})
    if patched:
        ow = build_optim_wrapper(model, ConfigDict(optimizer=optimizer, paramwise_cfg=paramwise))
    else:  # the upstream class, as mmengine registers it
        ow = DefaultOptimWrapperConstructor(ConfigDict(optimizer=optimizer), paramwise)(model)
    assert all(type(g) is dict for g in ow.optimizer.param_groups) is patched

    @torch.compile(backend='eager')  # tracing only
    def step(x):
        ow.update_params(model(x).sum())

    torch._dynamo.reset()
    try:
        if patched:
            step(torch.randn(3, 4))
        else:
            with pytest.raises(torch._dynamo.exc.InternalTorchDynamoError, match='items'):
                step(torch.randn(3, 4))
    finally:
        torch._dynamo.reset()
