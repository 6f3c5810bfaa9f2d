"""Let torchvision's Python parts import when its compiled ops cannot load beside this torch.

Why: mmpretrain imports torchvision without declaring it, and PyPI's torchvision is a CUDA build:
beside the CPU torch of this environment its ``_meta_registrations`` raises
``RuntimeError: operator torchvision::nms does not exist`` at import, which breaks
``mmpretrain``, ``mmseg.models`` and ``mmdet.models`` (REFERENCE: a RuntimeError, so mmdet's
``except ImportError`` does not catch it). Nothing in the OpenMMLab stack needs torchvision's C
ops (mmcv.ops provides nms / RoIAlign), so when ``torchvision.extension`` reports that its ops
did not load, the fake-kernel registrations module is replaced by an empty one. With working ops
(a matching torchvision) this does nothing.

Stdlib only and cheap, because it runs in two places:
- ``mask3d_mm.compat.apply_patches`` (``import mask3d_mm`` / ``custom_imports``);
- interpreter start-up, through the ``mask3d_mm_torchvision_guard.pth`` file that
  ``tools/install.sh`` writes into the environment, so that upstream tools (mmseg's / mmdet's
  ``tools/train.py``) also run stock configs that never import mask3d_mm.
"""
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Optional, Sequence

__all__ = ['install', 'TorchvisionOpsGuard']

_GUARDED = 'torchvision._meta_registrations'


class _EmptyModule(importlib.abc.Loader):

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return types.ModuleType(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__doc__ = ('Left empty by mask3d_mm: torchvision ops not loadable beside this '
                          'torch (mask3d_mm/_torchvision_guard.py)')


class TorchvisionOpsGuard(importlib.abc.MetaPathFinder):
    """Meta path finder: an empty ``torchvision._meta_registrations`` when the ops are absent."""

    mask3d_mm_guard = True  # recognised by install() across module copies

    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target=None
                  ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != _GUARDED:
            return None
        extension = sys.modules.get('torchvision.extension')  # imported just before, by design
        if extension is None or extension._has_ops():
            return None  # the real module
        return importlib.machinery.ModuleSpec(fullname, _EmptyModule())


def install() -> None:
    """Put the guard first on ``sys.meta_path`` (once per interpreter)."""
    if not any(getattr(f, 'mask3d_mm_guard', False) for f in sys.meta_path):
        sys.meta_path.insert(0, TorchvisionOpsGuard())
