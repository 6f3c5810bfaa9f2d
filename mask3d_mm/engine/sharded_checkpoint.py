"""Sharded checkpoints (folders written by :class:`~mask3d_mm.engine.strategies.DCPFSDPStrategy`
with ``torch.distributed.checkpoint``): recognise them and read them safely, also as a whole in
one process.

torch's ``FileSystemReader`` unpickles the folder's ``.metadata`` with plain ``pickle`` (code
could run on load); :class:`SafeFileSystemReader` reads it with an unpickler that only builds
the metadata classes of ``torch.distributed.checkpoint``. The shards themselves are read by
DCP with ``torch.load(weights_only=True)``; ``extra.pth`` is an ordinary checkpoint, read by
the safe loaders of :mod:`mask3d_mm.compat`.
"""
import os.path as osp
import pickle
from typing import Iterable, Optional, Set

import torch
from torch.distributed.checkpoint import FileSystemReader
from torch.distributed.checkpoint.metadata import Metadata, StorageMeta

__all__ = ['EXTRA_FILE', 'is_sharded_checkpoint', 'SafeFileSystemReader', 'sharded_keys',
           'load_sharded_checkpoint']

EXTRA_FILE = 'extra.pth'  # meta, message hub, parameter schedulers (rank 0)
METADATA_FILE = '.metadata'  # DCP's index of the shards

# modules whose classes a DCP .metadata file may build (dataclasses and enums, no code)
_SAFE_MODULES = ('torch.distributed.checkpoint.metadata',
                 'torch.distributed.checkpoint.planner',
                 'torch.distributed._shard.sharded_tensor.metadata',
                 'torch.distributed._shard.metadata')
_SAFE_GLOBALS = {('torch', 'Size'), ('collections', 'OrderedDict'), ('builtins', 'set'),
                 ('builtins', 'frozenset'), ('torch', 'strided'), ('torch', 'sparse_coo'),
                 ('torch', 'contiguous_format'), ('torch', 'preserve_format'),
                 ('torch', 'channels_last'), ('torch.serialization', '_get_layout'),
                 ('torch.distributed.checkpoint.filesystem', '_StorageInfo'),
                 ('pathlib', 'PosixPath'), ('pathlib', 'PurePosixPath')}


class _MetadataUnpickler(pickle.Unpickler):

    def find_class(self, module: str, name: str):
        is_dtype = module == 'torch' and isinstance(getattr(torch, name, None), torch.dtype)
        if module in _SAFE_MODULES or (module, name) in _SAFE_GLOBALS or is_dtype:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'{module}.{name} is not a class of a torch.distributed.checkpoint metadata file: '
            'refused (the file was not written by DCP, or was tampered with)')


def is_sharded_checkpoint(path: str) -> bool:
    """Whether ``path`` is a folder written by ``DCPFSDPStrategy`` (``.metadata`` inside)."""
    return osp.isdir(path) and osp.isfile(osp.join(path, METADATA_FILE))


class SafeFileSystemReader(FileSystemReader):
    """torch's ``FileSystemReader`` whose ``.metadata`` is unpickled with an allow-list."""

    def read_metadata(self, *args, **kwargs) -> Metadata:
        path = osp.join(str(self.path), METADATA_FILE)
        try:
            with open(path, 'rb') as f:
                metadata = _MetadataUnpickler(f).load()
        except FileNotFoundError:
            raise FileNotFoundError(f'{self.path}: not a sharded (DCP) checkpoint folder, it has '
                                    f'no {METADATA_FILE}') from None
        except pickle.UnpicklingError as e:
            raise pickle.UnpicklingError(f'{path}: {e}') from None
        if not isinstance(metadata, Metadata):
            raise pickle.UnpicklingError(f'{path}: holds a {type(metadata).__name__}, not DCP '
                                         'metadata')
        if getattr(metadata, 'storage_meta', None) is None:
            metadata.storage_meta = StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        return metadata


def sharded_keys(path: str) -> Set[str]:
    """The top-level keys (``state_dict``, ``optimizer``) saved in the folder ``path``."""
    metadata = SafeFileSystemReader(path).read_metadata()
    return {key.split('.')[0] for key in metadata.state_dict_metadata}


def load_sharded_checkpoint(path: str, keys: Optional[Iterable[str]] = ('state_dict', )
                            ) -> dict:
    """The checkpoint in the folder ``path`` as one process sees a full one: ``extra.pth``'s
    entries (``meta``, ...) and the full tensors of ``keys`` (None: all, the optimizer too).

    No process group is needed (DCP's ``no_dist``); the tensors are read into memory on CPU.
    """
    from torch.distributed.checkpoint.default_planner import _EmptyStateDictLoadPlanner
    from torch.distributed.checkpoint.state_dict_loader import _load_state_dict

    from mask3d_mm.compat import load_local_checkpoint
    if not is_sharded_checkpoint(path):
        raise FileNotFoundError(f'{path}: not a sharded checkpoint folder (no {METADATA_FILE})')
    extra = osp.join(path, EXTRA_FILE)
    checkpoint = load_local_checkpoint(extra, map_location='cpu') if osp.isfile(extra) else {}
    wanted = None if keys is None else sorted(set(keys) & sharded_keys(path))
    state: dict = {}
    if wanted != []:
        _load_state_dict(state, storage_reader=SafeFileSystemReader(path),
                         planner=_EmptyStateDictLoadPlanner(keys=wanted), no_dist=True)
    checkpoint.update(state)
    return checkpoint
