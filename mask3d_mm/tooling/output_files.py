"""Output files of the tools: never an input, never an existing file unless asked.

``check_output`` runs before any work (so a long run does not end in a refusal); the tools then
write through :mod:`mask3d_mm.atomic_write` (never half a file).
"""
import os
import os.path as osp
from typing import NamedTuple, Optional, Sequence, Union

__all__ = ['InputPath', 'check_output']


class InputPath(NamedTuple):
    """A path a run reads. ``kind``: 'file' (an output must not be that file), 'folder' (nor
    anything inside it, e.g. a data root) or 'prefix' (nor ``PATH.*``, e.g. an evaluator's
    ``outfile_prefix``); ``name`` says in errors which input it is (a config key)."""
    path: str
    name: str = ''
    kind: str = 'file'


def _inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or below it (both real paths)."""
    return path == folder or path.startswith(folder if folder.endswith(os.sep)
                                             else folder + os.sep)


def _clash(out: str, src: InputPath) -> Optional[str]:
    """How writing ``out`` would hit ``src`` (None: it would not)."""
    label = src.path + (f' ({src.name})' if src.name else '')
    if src.kind == 'file':
        if osp.exists(src.path) and osp.exists(out) and osp.samefile(src.path, out):
            return f'is the input {label}: writing it would destroy the input'
        return None
    real_out, real_src = osp.realpath(out), osp.realpath(src.path)
    if src.kind == 'folder' and _inside(real_out, real_src):
        return f'is inside the input folder {label}: writing it could destroy an input'
    if src.kind == 'prefix' and real_out.startswith(real_src + '.'):
        return f'is a file of the prefix {label} that the run writes or reads'
    return None


def check_output(out: str, force: bool = False, inputs: Sequence[Union[str, InputPath]] = (),
                 force_flag: str = '--force') -> None:
    """Refuse to write ``out`` when it is one of ``inputs`` (the same file by any path: a
    symlink, a hard link, ``./x`` vs ``x``; inside an input folder; see :class:`InputPath`),
    or when it exists and ``force`` is False.

    Raises:
        ValueError: ``out`` is an input (refused even with ``force``).
        FileExistsError: ``out`` exists (pass ``force_flag``).
        IsADirectoryError: ``out`` is a folder.
    """
    srcs = [src if isinstance(src, InputPath) else InputPath(src) for src in inputs]
    order = ('file', 'prefix', 'folder')  # the most precise error first
    for src in sorted(srcs, key=lambda s: order.index(s.kind)):
        clash = _clash(out, src) if src.path else None
        if clash:
            raise ValueError(f'the output {out} {clash}; choose another output file')
    if not osp.lexists(out):
        return
    if osp.isdir(out):
        raise IsADirectoryError(f'the output {out} is a folder; give a file name')
    if not force:
        raise FileExistsError(f'the output {out} exists; pass {force_flag} to overwrite it')
