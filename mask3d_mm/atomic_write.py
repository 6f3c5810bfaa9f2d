"""Files written whole or not at all: a temporary file beside the target, renamed over it only
when it is complete, so a crash or a ``kill -9`` leaves the old file (or none), never half a one.

Used by the tools' outputs, the dataset and converter writers, the prediction dump and the
stop hook.
"""
import contextlib
import os
import os.path as osp
import uuid
from typing import Iterator

__all__ = ['atomic_output', 'write_file_atomic']


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
