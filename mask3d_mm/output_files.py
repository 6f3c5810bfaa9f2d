"""Output files of the tools: never an input, never an existing file unless asked, never half.

``check_output`` runs before any work (so a long run does not end in a refusal);
``atomic_output`` and ``write_file_atomic`` write a temporary file beside the target and rename
it over the target only when it is complete, so a crash or a ``kill -9`` leaves the old file (or
none), never half a one.
"""
import contextlib
import os
import os.path as osp
import uuid
from typing import Iterator, Sequence

__all__ = ['check_output', 'atomic_output', 'write_file_atomic']


def check_output(out: str, force: bool = False, inputs: Sequence[str] = (),
                 force_flag: str = '--force') -> None:
    """Refuse to write ``out`` when it is one of ``inputs`` (the same file by any path: a
    symlink, a hard link, ``./x`` vs ``x``), or when it exists and ``force`` is False.

    Raises:
        ValueError: ``out`` is an input (refused even with ``force``).
        FileExistsError: ``out`` exists (pass ``force_flag``).
        IsADirectoryError: ``out`` is a folder.
    """
    if not osp.lexists(out):
        return
    for src in inputs:
        if src and osp.exists(src) and osp.exists(out) and osp.samefile(src, out):
            raise ValueError(f'the output {out} is the input {src}: writing it would destroy '
                             'the input; choose another output file')
    if osp.isdir(out):
        raise IsADirectoryError(f'the output {out} is a folder; give a file name')
    if not force:
        raise FileExistsError(f'the output {out} exists; pass {force_flag} to overwrite it')


@contextlib.contextmanager
def atomic_output(out: str) -> Iterator[str]:
    """Yield a temporary path beside ``out`` (same extension, for writers that go by it); when
    the block ends without error the file is synced to disk and renamed to ``out``
    (``os.replace``: atomic on POSIX), otherwise removed. Creates ``out``'s folder."""
    folder, name = osp.split(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part'
                   f'{osp.splitext(name)[1]}')
    try:
        yield tmp
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(tmp, out)
    finally:
        if osp.lexists(tmp):
            os.remove(tmp)


def write_file_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through ``path + '.tmp'`` and a rename (``os.replace``): an
    interrupted write leaves the old file or none, never half a one, and its leftover does not
    end with the file's suffix, so it never looks like a frame to
    :class:`mask3d_mm.datasets.scannet_layout.ScanNetLayout` (rewritten by the next run)."""
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)
