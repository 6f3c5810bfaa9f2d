"""The files and folders a config reads, for output checks (``tools/test.py --out``): an output
must not be one of them, nor lie inside a data root.

Found by key anywhere in the config: annotation / split files (``ann_file``, joined with the
``data_root`` of the same dict, as mmengine's ``BaseDataset`` does), data roots, ``data_prefix``
folders (joined likewise), checkpoints (``load_from``, ``checkpoint``, ``pretrained``) and the
evaluators' ``outfile_prefix``. URLs and ``scope::`` names are not local paths and are skipped.
"""
import os.path as osp
import re
from typing import Any, List, Mapping

from mask3d_mm.tooling.output_files import InputPath

__all__ = ['config_inputs', 'FILE_KEYS', 'FOLDER_KEYS', 'PREFIX_KEYS']

# key -> kind of path; ``ann_file`` (annotation files, scene / split lists) and ``data_prefix``
# (a folder or a dict of folders) are relative to the same dict's ``data_root``
FILE_KEYS = ('ann_file', 'load_from', 'checkpoint', 'pretrained')
FOLDER_KEYS = ('data_root', 'data_prefix', 'img_dir', 'ann_dir')
PREFIX_KEYS = ('outfile_prefix', )
JOINED_KEYS = ('ann_file', 'data_prefix')


def _local(value: Any) -> bool:
    return (isinstance(value, str) and bool(value) and '::' not in value
            and not re.match(r'[A-Za-z][\w+.-]*://', value))


def _paths(key: str, value: Any, name: str) -> List[tuple]:
    """``(path, name)`` of a path-valued entry (``data_prefix`` may be a dict of folders;
    other dicts, e.g. ``default_hooks.checkpoint``, are no paths)."""
    if key == 'data_prefix' and isinstance(value, Mapping):
        return [(v, f'{name}.{k}') for k, v in value.items() if _local(v)]
    return [(value, name)] if _local(value) else []


def _walk(node: Any, name: str, found: List[InputPath]) -> None:
    if isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            _walk(item, f'{name}[{i}]', found)
        return
    if not isinstance(node, Mapping):
        return
    root = node.get('data_root')
    root = root if _local(root) else ''
    for key, value in node.items():
        here = f'{name}.{key}' if name else str(key)
        kind = ('file' if key in FILE_KEYS else 'folder' if key in FOLDER_KEYS
                else 'prefix' if key in PREFIX_KEYS else None)
        paths = _paths(key, value, here) if kind else []
        for path, label in paths:
            if key in JOINED_KEYS and root:
                path = osp.join(root, path)  # an absolute path stays as it is
            found.append(InputPath(path, label, kind))
        if not paths:
            _walk(value, here, found)


def config_inputs(cfg: Mapping) -> List[InputPath]:
    """Every local path the config ``cfg`` (an mmengine ``Config`` or a dict) names as an input,
    each with the key it was found under, e.g.
    ``InputPath('data/x/annotations/val.json', 'test_evaluator.ann_file', 'file')``."""
    found: List[InputPath] = []
    _walk(cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg, '', found)
    return found
