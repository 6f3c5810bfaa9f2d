"""The one place where mask3d_mm adapts the upstream OpenMMLab stack for current torch / numpy.

Each patch is applied once by :func:`apply_patches` (called on ``import mask3d_mm``), is as narrow
as possible, says why it exists, and has a test in ``tests/test_compat.py`` that fails without it.

Every place that adapts the upstream stack, and why it lives there:

=====================================  ==========================================================
where                                  what, and why there
=====================================  ==========================================================
:mod:`mask3d_mm._torchvision_guard`    an empty ``torchvision._meta_registrations`` when
(installed by :func:`apply_patches`    torchvision's CUDA-built ops cannot load beside the CPU
and by the ``.pth`` file that          torch (else ``import mmpretrain`` / ``mmseg.models`` /
``tools/install.sh`` writes)           ``mmdet.models`` raise). A stdlib-only meta-path finder in
                                       a file of its own, because the ``.pth`` runs it at
                                       interpreter start-up, before anything is imported: so
                                       upstream tools on stock configs work too.
this module (:func:`apply_patches`)    safe checkpoint loading: a loader of its own for every
                                       scheme of mmengine's ``CheckpointLoader`` (table below),
                                       put in its registry through mmengine's extension point
                                       ``register_scheme(..., force=True)``. No function of
                                       torch, torchvision or mmengine is rebound.
:mod:`mask3d_mm.tooling.devices`       per-run config rewrites for mmengine's GPU assumptions:
                                       CPU DDP (gloo, ``device_ids=None``, SyncBN -> BN plus
                                       ``BroadcastBuffersHook``) and ``AmpOptimWrapper`` -> fp32
                                       ``OptimWrapper`` without an AMP device. They patch no
                                       upstream code, only the config of the run that
                                       ``tools/train.py`` / ``tools/test.py`` build, and are
                                       logged; so they live with the tools' set-up.
:mod:`mask3d_mm.tooling.process_end`   the end of a rank's process: after the process group is
                                       torn down, ``os._exit`` with everything flushed, no
                                       interpreter finalization (DDP keeps the gloo group's
                                       worker threads alive; one that frees a Python tensor
                                       while the interpreter finalizes aborts the process).
                                       Only the tools' processes end this way, so it lives
                                       with them.
:mod:`mask3d_mm.tooling.strategies`    the same for FlexibleRunner's FSDP on CPU: FSDP is handed
                                       ``device_id='cpu'`` (mmengine passes ``LOCAL_RANK``, a
                                       CUDA device), ``mixed_precision`` is dropped, and
                                       ``state_dict_cfg='full'`` gathers without
                                       ``offload_to_cpu`` (a SIGSEGV in torch 2.13 on CPU).
this module (:func:`apply_patches`)    ``torch.compile`` of the optimizer step: mmengine's
                                       ``DefaultOptimWrapperConstructor`` replaced in its
                                       registry (``register_module(force=True)``) by a subclass
                                       whose param groups are plain dicts, not ``ConfigDict``
                                       (:func:`_register_plain_param_groups_constructor`).
:class:`mask3d_mm.engine.strategies.   a subclass of mmengine's ``FSDPStrategy`` (sharded
DCPFSDPStrategy`                       checkpoints with torch DCP); it also calls
                                       ``FSDP.optim_state_dict_to_load`` in torch's current
                                       argument order, which mmengine 0.10.7 does not (a full
                                       checkpoint could not resume).
=====================================  ==========================================================

Why ``import mask3d_mm`` comes first in the tools and tests (``# noqa: F401``): it installs the
torchvision guard before the first ``import torchvision`` (by mmpretrain) in an environment
without the ``.pth`` file (e.g. ``pip install -e .`` alone), and registers the safe checkpoint
loaders. No ``sys.path`` set-up is needed: ``tools/install.sh`` installs the package in editable
mode.

Checkpoint safety: every checkpoint that mmengine loads goes through its ``CheckpointLoader``
(``Runner.resume`` / ``load_checkpoint``, ``load_from``, ``init_cfg`` Pretrained, mmseg's and
mmpretrain's ``_load_checkpoint``, ``tools/test.py``, the export tool), and every scheme there ends
in :func:`_safe_torch_load` (``torch.load(weights_only=True)`` plus the allow-list
:func:`runner_checkpoint_globals`) or is refused with an error naming the source. Local and
``s3://`` files are first checked against the CRC-32 of each zip member (:func:`check_zip_crc`;
torch does not check them). The schemes, in mmengine 0.10.7 / torch 2.13:

============================================  =====================================================
scheme                                        its loader after :func:`apply_patches`
============================================  =====================================================
local file (``--resume``, ``load_from``,      :func:`load_local_checkpoint` (prefix ``''``)
``init_cfg`` Pretrained, ``tools/test.py``)
``http://``, ``https://``                     :func:`load_http_checkpoint` ->
                                              :func:`load_url_checkpoint`
``torchvision://``, ``modelzoo://``           :func:`load_torchvision_checkpoint`: name -> URL
                                              (mmengine's list) -> :func:`load_http_checkpoint`
``mmcls://``                                  :func:`load_mmcls_checkpoint`: likewise, then
                                              mmengine's ``backbone.`` key conversion
``open-mmlab://``, ``openmmlab://``           :func:`load_openmmlab_checkpoint` (URL or local file)
``s3://``, ``petrel://`` (+ cluster prefix)   :func:`load_remote_checkpoint`
``pavi://``                                   refused (:func:`refuse_pavi_checkpoint`)
============================================  =====================================================

Why a loader of its own per scheme rather than a patch of the functions they call: mmengine's
``load_from_torchvision`` / ``load_from_openmmlab`` / ``load_from_mmcls`` call the module-level
``load_from_http``, which calls ``torch.hub.load_state_dict_from_url`` (mmengine's ``load_url``)
without ``weights_only``. Replacing every scheme in the registry makes those calls unreachable
through ``CheckpointLoader``, so nothing outside mmengine's registry needs to change: torch's
and torchvision's module attributes stay as they were, and ``weights_only`` given to them by a
caller means what torch says (``tests/test_compat.py``).

Not this module's business, left as upstream has them:

- direct calls of ``torch.hub.load_state_dict_from_url`` / ``torch.utils.model_zoo.load_url``
  (and torchvision's ``Weights.get_state_dict``): torch's own behaviour, with the
  ``weights_only`` the caller passes, else torch's default (``False`` for these in torch 2.13);
- mmengine's loader functions called by name (``mmengine.runner.checkpoint.load_from_http``...)
  instead of through ``CheckpointLoader``: nothing in mmengine, mmcv, mmpretrain, mmseg or mmdet
  does so outside mmengine's own scheme loaders (checked by ``tests/test_compat.py``);
- mmpretrain's own ``torch.load`` calls for files mask3d_mm never uses (VQKD
  ``codebook_init_path``, retriever prototypes, the SwAV queue of a work dir): torch's default,
  ``weights_only=True`` unless the user sets ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``.

Config files and ``.pkl`` annotation files are Python code / pickles by design: trust them as
code.
"""
import contextlib
import io
import logging
import os
import os.path as osp
import pickle
import struct
import zipfile
from typing import IO, Any, Callable, Dict, List, Optional, Tuple, Union
from urllib.parse import urlparse

import numpy as np
import torch
import torch.hub

from . import _torchvision_guard

__all__ = [
    'apply_patches', 'load_local_checkpoint', 'load_http_checkpoint', 'load_url_checkpoint',
    'load_torchvision_checkpoint', 'load_mmcls_checkpoint', 'load_openmmlab_checkpoint',
    'load_remote_checkpoint', 'refuse_pavi_checkpoint', 'runner_checkpoint_globals',
    'check_zip_crc'
]

_APPLIED = False


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to what a pickled HistoryBuffer asks for.

    A HistoryBuffer pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``; a
    general ``getattr`` would hand a checkpoint any attribute (e.g. ``ndarray.tofile``).
    """
    from mmengine.logging import HistoryBuffer
    # the built-in statistics (registered lazily by the first HistoryBuffer) and custom ones
    allowed = {'min', 'max', 'mean', 'current', *HistoryBuffer._statistics_methods}
    if obj is not HistoryBuffer or name not in allowed:
        raise pickle.UnpicklingError(f'getattr({obj!r}, {name!r}) is not allowed')
    return getattr(obj, name)


def runner_checkpoint_globals() -> List[Any]:
    """Non-tensor classes that an mmengine Runner checkpoint holds besides tensors.

    ``message_hub`` keeps :class:`mmengine.logging.HistoryBuffer` objects whose state is numpy
    arrays and whose statistics methods pickle through ``getattr``; runtime info and metas hold
    numpy scalars. Nothing here can run code on load.
    """
    from mmengine.logging import HistoryBuffer
    core = np._core if hasattr(np, '_core') else np.core
    allowed = [HistoryBuffer, np.ndarray, np.dtype, core.multiarray._reconstruct,
               core.multiarray.scalar, (_history_buffer_getattr, 'builtins.getattr')]
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25 pickles dtypes by their class
    if dtypes is not None:
        allowed += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return allowed


_UNREADABLE = (RuntimeError, EOFError, KeyError, ValueError)  # torch names no file in these


def _load_error(source: str, e: Exception) -> Exception:
    """The error of a refused (``UnpicklingError``) or unreadable checkpoint, naming ``source``."""
    # torch reports bytes that are no pickle at all as an unsupported operand
    if isinstance(e, pickle.UnpicklingError) and 'Unsupported operand' not in str(e):
        return pickle.UnpicklingError(
            f'{source} holds Python objects that are not safe to unpickle, so it was not '
            f'loaded (torch.load(weights_only=True)). If the file comes from a source you '
            f'trust, re-save its tensors once: sd = torch.load(path, weights_only=False); '
            f"torch.save(sd.get('state_dict', sd), new_path); then use new_path. "
            f'Details: {e}')
    return RuntimeError(
        f'cannot read {source} as a torch checkpoint: it is empty, truncated (e.g. by an '
        f'interrupted save or download) or not written by torch.save. Details: '
        f'{type(e).__name__}: {e}')


_ZIP_MAGIC = b'PK\x03\x04'  # how torch.load tells its zip format from the legacy one


def check_zip_crc(f: Union[str, IO[bytes]], source: str) -> None:
    """Refuse a torch zip checkpoint whose bytes changed since ``torch.save`` wrote them.

    Why: ``torch.load`` does not check the CRC-32 that ``torch.save`` stores for every zip
    member, so flipped bytes inside a tensor loaded silently (a resumed run trained to NaN).
    Every member is read once and checked against its CRC (Python's ``zipfile``): the whole
    file is read, at about the speed of reading it (docs/robustness.md). Not checkable, so
    let through: the legacy (non-zip) format, and files saved with
    ``torch.serialization.set_crc32_options(False)`` (every CRC is 0).

    Raises:
        RuntimeError: naming ``source`` and the member that fails its CRC, or saying that the
            file is truncated or no torch file (a zip structure that does not parse).
    """
    start = f.tell() if not isinstance(f, str) else 0
    try:
        with (open(f, 'rb') if isinstance(f, str) else contextlib.nullcontext(f)) as stream:
            if stream.read(4) != _ZIP_MAGIC:
                return
            stream.seek(start)
            with zipfile.ZipFile(stream) as z:
                infos = z.infolist()
                if all(i.CRC == 0 for i in infos) and any(i.file_size for i in infos):
                    return
                for member in infos:
                    with z.open(member) as data:
                        try:
                            while data.read(1 << 24):
                                pass
                        except zipfile.BadZipFile as e:
                            if 'CRC' not in str(e):
                                raise
                            raise RuntimeError(
                                f'{source} is corrupt: zip member {member.filename} fails its '
                                'CRC check (bytes changed on disk or in transfer?), so it was '
                                'not loaded. Use an intact copy or an earlier checkpoint.'
                            ) from None
    except (zipfile.BadZipFile, EOFError, ValueError, struct.error) as e:
        raise _load_error(source, e) from e  # truncated, or a broken zip structure
    finally:
        if not isinstance(f, str):
            f.seek(start)


def _safe_torch_load(f: Union[str, IO[bytes]], source: str,
                     map_location: Optional[Any] = None) -> Any:
    """``torch.load(f, weights_only=True)`` with the Runner allow-list; errors name ``source``.

    Why an explicit ``weights_only=True`` and a scoped ``safe_globals``, rather than torch's
    default plus ``torch.serialization.add_safe_globals`` (issue 12, item 2): the default turns
    to ``weights_only=False`` when ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` is set, an explicit
    argument does not (torch/serialization.py); and ``add_safe_globals`` would widen the
    allow-list of every ``torch.load`` in the process, not only of checkpoint loading.
    """
    check_zip_crc(f, source)
    try:
        with torch.serialization.safe_globals(runner_checkpoint_globals()):
            return torch.load(f, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, ) + _UNREADABLE as e:
        error = _load_error(source, e)
        raise error from (None if isinstance(error, pickle.UnpicklingError) else e)


def load_local_checkpoint(filename: str, map_location: Optional[Any] = None) -> Any:
    """``torch.load`` of a local checkpoint, always with ``weights_only=True``.

    Why: torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7 cannot load
    its own Runner checkpoints then (``Unsupported global: ...HistoryBuffer``), which breaks
    ``--resume`` and ``load_from`` (mmengine#1655). Instead of turning the safety off, the few
    plain-data classes that Runner checkpoints contain are allow-listed. A file that cannot be
    read (empty, truncated, not a torch file) or whose bytes fail their CRC-32
    (:func:`check_zip_crc`) raises a ``RuntimeError`` naming it. A sharded checkpoint folder
    (FSDP, :mod:`mask3d_mm.engine.sharded_checkpoint`) is read as one full checkpoint of its
    model (``state_dict``) and ``meta``, on CPU.
    """
    filename = osp.expanduser(filename)
    from mask3d_mm.engine.sharded_checkpoint import is_sharded_checkpoint
    if is_sharded_checkpoint(filename):  # a folder of DCPFSDPStrategy: its model, in full
        from mask3d_mm.engine.sharded_checkpoint import load_sharded_checkpoint
        return load_sharded_checkpoint(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return _safe_torch_load(filename, filename, map_location)


def _discard_download(cached: str, model_dir: str) -> None:
    """Remove a refused download from torch hub's cache (and what torch extracted of a legacy
    one-file zip), so that no later load finds it, with whatever ``weights_only``."""
    if zipfile.is_zipfile(cached):
        with zipfile.ZipFile(cached) as z:
            names = z.namelist()
        if len(names) == 1:
            member = osp.realpath(osp.join(model_dir, names[0]))
            if osp.dirname(member) == osp.realpath(model_dir) and osp.isfile(member):
                os.remove(member)
    os.remove(cached)


def load_url_checkpoint(url: str, model_dir: Optional[str] = None,
                        map_location: Optional[Any] = None, progress: bool = True,
                        check_hash: bool = False, file_name: Optional[str] = None) -> Any:
    """``torch.hub.load_state_dict_from_url(..., weights_only=True)`` with the Runner allow-list.

    Why: torch 2.13's ``load_state_dict_from_url`` defaults to ``weights_only=False``, and
    mmengine's ``load_from_http`` calls it without the argument, so a checkpoint URL ran its
    pickled code. torch's function is called, not replaced: the file is downloaded to torch
    hub's cache as before (``$TORCH_HOME/hub/checkpoints``); one that is refused or unreadable
    is removed from it.
    """
    try:
        with torch.serialization.safe_globals(runner_checkpoint_globals()):
            return torch.hub.load_state_dict_from_url(
                url, model_dir=model_dir, map_location=map_location, progress=progress,
                check_hash=check_hash, file_name=file_name, weights_only=True)
    except (pickle.UnpicklingError, ) + _UNREADABLE as e:
        model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
        cached = osp.join(model_dir, file_name or osp.basename(urlparse(url).path))
        if not osp.isfile(cached):  # the download failed (e.g. a wrong hash): not a load error
            raise
        _discard_download(cached, model_dir)
        error = _load_error(f'{url} (downloaded to {cached}, now removed)', e)
        raise error from (None if isinstance(error, pickle.UnpicklingError) else e)


def load_http_checkpoint(filename: str, map_location: Optional[Any] = None,
                         model_dir: Optional[str] = None,
                         progress: Optional[bool] = None) -> Any:
    """mmengine's ``http://`` / ``https://`` loader (``load_from_http``), loading safely.

    As upstream: in a distributed run rank 0 downloads first, the other ranks read the cached
    file after a barrier; a progress bar when stdin is a terminal. Why: upstream downloads
    through :func:`torch.hub.load_state_dict_from_url` without ``weights_only`` (see
    :func:`load_url_checkpoint`).
    """
    from mmengine.dist import get_dist_info
    progress = os.isatty(0) if progress is None else progress
    rank, world_size = get_dist_info()
    checkpoint = None
    if rank == 0:
        checkpoint = load_url_checkpoint(filename, model_dir=model_dir,
                                         map_location=map_location, progress=progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            checkpoint = load_url_checkpoint(filename, model_dir=model_dir,
                                             map_location=map_location, progress=progress)
    return checkpoint


def load_torchvision_checkpoint(filename: str, map_location: Optional[Any] = None) -> Any:
    """mmengine's ``torchvision://NAME`` / ``modelzoo://NAME`` loader: NAME resolved to an URL
    by mmengine's list, as upstream, then :func:`load_http_checkpoint`.

    Why: upstream calls mmengine's own ``load_from_http`` (see :func:`load_http_checkpoint`).
    """
    from mmengine.logging import print_log
    from mmengine.runner.checkpoint import get_torchvision_models
    scheme, name = filename.split('://', 1)
    if scheme == 'modelzoo':
        print_log('The URL scheme of "modelzoo://" is deprecated, please use "torchvision://" '
                  'instead', logger='current', level=logging.WARNING)
    return load_http_checkpoint(get_torchvision_models()[name], map_location=map_location)


def load_mmcls_checkpoint(filename: str, map_location: Optional[Any] = None) -> Any:
    """mmengine's ``mmcls://NAME`` loader: NAME resolved to an URL by mmengine's list, loaded by
    :func:`load_http_checkpoint`, and its ``backbone.`` keys converted as upstream.

    Why: upstream calls mmengine's own ``load_from_http`` (see :func:`load_http_checkpoint`).
    """
    from mmengine.runner.checkpoint import _process_mmcls_checkpoint, get_mmcls_models
    url = get_mmcls_models()[filename.split('://', 1)[1]]
    return _process_mmcls_checkpoint(load_http_checkpoint(url, map_location=map_location))


def load_remote_checkpoint(filename: str, map_location: Optional[Any] = None,
                           backend: str = 'petrel') -> Any:
    """mmengine's ``s3://`` / ``petrel://`` loader (``load_from_ceph``), loading safely.

    Why: upstream reads the bytes through the file backend and calls ``torch.load`` without
    ``weights_only``. Here the bytes go through :func:`_safe_torch_load`.
    """
    from mmengine.fileio import get_file_backend
    data = get_file_backend(filename, backend_args={'backend': backend}).get(filename)
    return _safe_torch_load(io.BytesIO(data), filename, map_location)


def load_openmmlab_checkpoint(filename: str, map_location: Optional[Any] = None) -> Any:
    """mmengine's ``open-mmlab://NAME`` / ``openmmlab://NAME`` loader, resolving NAME as upstream
    does and loading the URL (:func:`load_http_checkpoint`) or the file under
    ``$MMENGINE_HOME`` (:func:`load_local_checkpoint`).

    Why: upstream calls mmengine's own ``load_from_http`` for an URL, and ``torch.load``
    without ``weights_only`` for a local file.
    """
    from mmengine.logging import print_log
    from mmengine.runner.checkpoint import (_get_mmengine_home, get_deprecated_model_names,
                                            get_external_models)
    scheme, name = filename.split('://', 1)
    deprecated = get_deprecated_model_names()
    if name in deprecated:
        print_log(f'{scheme}://{name} is deprecated in favor of {scheme}://{deprecated[name]}',
                  logger='current', level=logging.WARNING)
        name = deprecated[name]
    models = get_external_models()
    if name not in models:
        raise KeyError(f'{filename}: no model {name!r} in the open-mmlab model list')
    url = models[name]
    if url.startswith(('http://', 'https://')):
        return load_http_checkpoint(url, map_location=map_location)
    return load_local_checkpoint(osp.join(_get_mmengine_home(), url), map_location)


def refuse_pavi_checkpoint(filename: str, map_location: Optional[Any] = None) -> Any:
    """``pavi://`` is refused: upstream loads the download with ``torch.load`` without
    ``weights_only``, and pavi (not installed) cannot be tested here."""
    raise RuntimeError(
        f'{filename}: mask3d_mm does not load pavi:// checkpoints, because it can only vouch '
        f'for loaders it tests with torch.load(weights_only=True). Download the file and give '
        f'its local path.')


# every prefix of mmengine 0.10.7's CheckpointLoader, with the loader that replaces upstream's
SAFE_LOADERS: Dict[Union[str, Tuple[str, ...]], Callable[..., Any]] = {
    '': load_local_checkpoint,
    ('http://', 'https://'): load_http_checkpoint,
    ('modelzoo://', 'torchvision://'): load_torchvision_checkpoint,
    'mmcls://': load_mmcls_checkpoint,
    ('open-mmlab://', 'openmmlab://'): load_openmmlab_checkpoint,
    (r'(\S+\:)?s3://', r'(\S+\:)?petrel://'): load_remote_checkpoint,
    'pavi://': refuse_pavi_checkpoint,
}


def _register_safe_checkpoint_loaders() -> None:
    """Register :data:`SAFE_LOADERS` in mmengine's ``CheckpointLoader``, replacing upstream's.

    Why through ``register_scheme(force=True)``: it is mmengine's documented way to change the
    loader of a scheme, and every checkpoint mmengine loads goes through that registry
    (``_load_checkpoint``, ``Runner.resume`` / ``load_checkpoint``, ``init_cfg`` Pretrained), so
    no function of mmengine, torch or torchvision has to be rebound.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    for prefixes, loader in SAFE_LOADERS.items():
        CheckpointLoader.register_scheme(prefixes=prefixes, loader=loader, force=True)


def _register_plain_param_groups_constructor() -> None:
    """mmengine's ``DefaultOptimWrapperConstructor`` replaced in its registry by a subclass
    whose optimizer has plain ``dict`` param groups (same keys and values).

    mmengine builds the optimizer from a ``ConfigDict``, so with ``paramwise_cfg`` (every
    pre-training config) each param group is a ``ConfigDict``; ``torch.compile`` of the step
    (``compile=True`` compiles ``train_step``, the optimizer step included) then fails in
    torch 2.13 (``InternalTorchDynamoError: 'UserDefinedDictVariable' object has no attribute
    'items'``). Through ``register_module(force=True)``, mmengine's extension point, as the
    checkpoint loaders above: no mmengine function is rebound. Subclasses of the original
    (e.g. ``LayerDecayOptimWrapperConstructor``) keep ``ConfigDict`` groups.
    """
    from mmengine.optim import DefaultOptimWrapperConstructor
    from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS

    if getattr(OPTIM_WRAPPER_CONSTRUCTORS.get('DefaultOptimWrapperConstructor'),
               'plain_param_groups', False):
        return

    class PlainParamGroupsOptimWrapperConstructor(DefaultOptimWrapperConstructor):
        """``DefaultOptimWrapperConstructor`` with plain-dict param groups (see
        ``mask3d_mm.compat``)."""

        plain_param_groups = True

        def __call__(self, model):
            optim_wrapper = super().__call__(model)
            groups = optim_wrapper.optimizer.param_groups
            groups[:] = [dict(g) for g in groups]
            return optim_wrapper

    OPTIM_WRAPPER_CONSTRUCTORS.register_module(
        name='DefaultOptimWrapperConstructor', module=PlainParamGroupsOptimWrapperConstructor,
        force=True)


_PATCHES: List[Callable[[], None]] = [
    _torchvision_guard.install,  # first: before anything imports torchvision
    _register_safe_checkpoint_loaders,
    _register_plain_param_groups_constructor,
]


def apply_patches() -> None:
    """Apply every patch once (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    for patch in _PATCHES:
        patch()
    _APPLIED = True
