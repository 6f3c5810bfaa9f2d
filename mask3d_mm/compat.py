"""The one place where mask3d_mm adapts the upstream OpenMMLab stack to current torch / numpy.

Each patch is applied once by :func:`apply_patches` (called on ``import mask3d_mm``), is as narrow
as possible, says why it exists, and has a test in ``tests/test_compat.py`` that fails without it.
"""
import importlib.util
import os
import os.path as osp
import pickle
import sys
import types
from typing import Any, Callable, List, Optional

import numpy as np
import torch

__all__ = ['apply_patches', 'load_local_checkpoint', 'runner_checkpoint_globals']

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


def load_local_checkpoint(filename: str, map_location: Optional[Any] = None) -> Any:
    """``torch.load`` of a local checkpoint, always with ``weights_only=True``.

    Why: torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7 cannot load
    its own Runner checkpoints then (``Unsupported global: ...HistoryBuffer``), which breaks
    ``--resume`` and ``load_from`` (mmengine#1655). Instead of turning the safety off, the few
    plain-data classes that Runner checkpoints contain are allow-listed. A file that cannot be
    read (empty, truncated, not a torch file) raises a ``RuntimeError`` naming it.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        with torch.serialization.safe_globals(runner_checkpoint_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(
            f'{filename} holds Python objects that are not safe to unpickle, so it was not '
            f'loaded (torch.load(weights_only=True)). If the file comes from a source you '
            f'trust, re-save its tensors once: sd = torch.load(path, weights_only=False); '
            f"torch.save(sd.get('state_dict', sd), new_path); then use new_path. "
            f'Details: {e}') from None
    except (RuntimeError, EOFError, KeyError, ValueError) as e:  # torch names no file here
        raise RuntimeError(
            f'cannot read {filename} as a torch checkpoint: it is empty, truncated (e.g. by an '
            f'interrupted save) or not written by torch.save. Details: {type(e).__name__}: '
            f'{e}') from e


def _patch_mmengine_local_checkpoints() -> None:
    """Route mmengine's loading of local files (resume, load_from, init_cfg Pretrained)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)


def _torchvision_ops_unloadable() -> bool:
    """Whether torchvision is installed but its compiled ops cannot load beside this torch."""
    spec = importlib.util.find_spec('torchvision')
    if spec is None or 'torchvision' in sys.modules:
        return False
    folder = spec.submodule_search_locations[0]
    libs = [f for f in os.listdir(folder) if f.startswith('_C.')]
    if not libs:
        return True
    try:
        torch.ops.load_library(osp.join(folder, libs[0]))
    except (OSError, RuntimeError):
        return True
    return False


def _patch_torchvision_without_ops() -> None:
    """Let torchvision's Python parts import when its C ops cannot load.

    Why: mmpretrain imports torchvision (transforms, ``ops.boxes``) without declaring it, and
    PyPI's torchvision is a CUDA build: beside a CPU torch its ``_meta_registrations`` raises
    ``RuntimeError: operator torchvision::nms does not exist`` at import, which breaks
    ``mmpretrain`` and, through it, ``mmdet.models``. mask3d_mm needs none of torchvision's C ops
    (mmcv.ops provides nms/RoIAlign), so the fake-kernel registrations are skipped. Must run
    before the first ``import torchvision``, which ``import mask3d_mm`` does first.
    """
    if _torchvision_ops_unloadable():
        name = 'torchvision._meta_registrations'
        sys.modules.setdefault(name, types.ModuleType(name))


_PATCHES: List[Callable[[], None]] = [
    _patch_torchvision_without_ops, _patch_mmengine_local_checkpoints
]


def apply_patches() -> None:
    """Apply every patch once (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    for patch in _PATCHES:
        patch()
    _APPLIED = True
