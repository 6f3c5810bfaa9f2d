"""Helpers shared by the native-layout readers (SUN RGB-D, NYUv2 raw, TUM RGB-D, 7-Scenes,
Redwood): scene lists, recursive listings, frames lacking a file."""
from typing import List, Optional, Sequence

import mmengine.fileio as fileio
from mmengine.logging import MMLogger

__all__ = ['read_scene_list', 'select_scenes', 'list_files', 'list_dirs', 'Incomplete',
           'split_name']


def read_scene_list(path: str, backend_args: Optional[dict] = None) -> List[str]:
    """Scene names of a list file: one per line, blank lines and ``#`` comments skipped."""
    if not fileio.exists(path, backend_args=backend_args):
        raise FileNotFoundError(f'scene list {path} does not exist')
    names = [ln.strip() for ln in fileio.get_text(path, backend_args=backend_args).splitlines()]
    names = [n.strip('/') for n in names if n and not n.startswith('#')]
    if not names:
        raise ValueError(f'scene list {path} names no scene')
    return names


def select_scenes(found: Sequence[str], ann_file: str = '',
                  scenes: Optional[Sequence[str]] = None, owner: str = '',
                  backend_args: Optional[dict] = None) -> List[str]:
    """The scenes to read: those of the scene list ``ann_file`` or of ``scenes`` (in their
    order), else all ``found`` (in its order).

    Raises:
        ValueError: both given, or an empty ``scenes``.
        FileNotFoundError: a scene asked for is not among ``found`` (naming it and a few found).
    """
    if ann_file and scenes is not None:
        raise ValueError(f'{owner}: give either ann_file or scenes, not both')
    if ann_file:
        wanted, where = read_scene_list(ann_file, backend_args), f'scene list {ann_file}'
    elif scenes is not None:
        if isinstance(scenes, str):
            scenes = [scenes]
        wanted, where = [str(s).strip('/') for s in scenes], 'scenes'
        if not wanted:
            raise ValueError(f'{owner}: scenes is an empty list')
    else:
        return list(found)
    known = set(found)
    missing = [s for s in wanted if s not in known]
    if missing:
        shown = ', '.join(list(found)[:5]) + (', ...' if len(found) > 5 else '')
        raise FileNotFoundError(
            f'{owner}: {len(missing)} scene(s) of {where} not found: {", ".join(missing[:5])}'
            f'{", ..." if len(missing) > 5 else ""}; found {len(found)} scene(s): '
            f'{shown or "none"}')
    return wanted


def list_files(root: str, backend_args: Optional[dict] = None, recursive: bool = False,
               suffix=None) -> List[str]:
    """Names of the files under ``root`` (relative paths with ``/`` when ``recursive``),
    sorted; ``suffix``: a str or tuple of suffixes to keep."""
    return sorted(fileio.list_dir_or_file(root, list_dir=False, list_file=True, suffix=suffix,
                                          recursive=recursive, backend_args=backend_args))


def list_dirs(root: str, backend_args: Optional[dict] = None) -> List[str]:
    """Names of the folders directly under ``root``, sorted."""
    return sorted(fileio.list_dir_or_file(root, list_dir=True, list_file=False,
                                          backend_args=backend_args))


def split_name(name: str) -> tuple:
    """``'rgb/0001.png'`` -> ``('rgb/0001', '.png')`` (the suffix lower-cased)."""
    dot = name.rfind('.')
    if dot <= name.rfind('/'):
        return name, ''
    return name[:dot], name[dot:].lower()


class Incomplete:
    """Frames or scenes lacking a file: raise at the first (``skip=False``), or collect them
    and log one warning with the count (``skip=True``, ``skip_incomplete``)."""

    def __init__(self, owner: str, skip: bool) -> None:
        self.owner = owner
        self.skip = skip
        self.items: List[str] = []

    def add(self, what: str) -> None:
        """``what``: a sentence naming the path and the file that is missing."""
        if not self.skip:
            raise FileNotFoundError(f'{self.owner}: {what} (skip_incomplete=True skips such '
                                    'frames)')
        self.items.append(what)

    def log(self) -> None:
        if self.items:
            shown = '; '.join(self.items[:3])
            MMLogger.get_current_instance().warning(
                f'{self.owner}: skipped {len(self.items)} incomplete frame(s) or scene(s) '
                f'(skip_incomplete=True): {shown}{"; ..." if len(self.items) > 3 else ""}')
