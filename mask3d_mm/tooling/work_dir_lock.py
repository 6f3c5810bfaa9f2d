"""One training run per work dir: ``tools/train.py`` holds an exclusive lock on
``WORK_DIR/.train.lock`` for the life of the run.

Two runs in one work dir (e.g. the default ``work_dirs/<config>`` of two commands started at
once) both trained and both saved, so the checkpoints held the state of whichever saved last.
The lock is ``fcntl.flock`` on the lock file, which the OS drops when its process dies, so a
crashed or ``kill -9``-ed run never blocks the next one. The file also names its holder (pid,
host, start time, command) for the refusal's message; a run that takes over a file left by a
dead run says so. Forked children (data-loader workers) close their copy of the descriptor, so a
worker that outlives its trainer does not keep the lock.
"""
import errno
import fcntl
import json
import os
import shlex
import socket
import sys
import time
from typing import Dict, List, Optional, Set

__all__ = ['LOCK_FILE', 'WorkDirLock', 'WorkDirLockedError', 'launcher_rank', 'read_lock_holder']

LOCK_FILE = '.train.lock'
# errors of file systems without flock (some NFS / Lustre mounts): fall back to the pid check
_NO_FLOCK = {errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL}


class WorkDirLockedError(RuntimeError):
    """Another run trains in this work dir."""


def launcher_rank(launcher: str = 'none') -> int:
    """The global rank of this process, from the launcher's environment, before any process
    group exists (torchrun: ``RANK``; slurm: ``SLURM_PROCID``; mpi: ``OMPI_COMM_WORLD_RANK``)."""
    keys = {'pytorch': ('RANK',), 'slurm': ('SLURM_PROCID',),
            'mpi': ('OMPI_COMM_WORLD_RANK', 'PMI_RANK')}.get(launcher, ())
    for key in keys:
        if os.environ.get(key, '').isdigit():
            return int(os.environ[key])
    return 0


def _describe(holder: Dict) -> str:
    return (f'pid {holder.get("pid", "?")} on host {holder.get("host", "?")}, started '
            f'{holder.get("start_time", "?")}: {holder.get("command", "?")}')


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def read_lock_holder(work_dir: str) -> Optional[Dict]:
    """What the lock file of ``work_dir`` says about its holder (None: no lock file, or an
    empty one). It does not tell whether that run still holds the lock."""
    try:
        with open(os.path.join(work_dir, LOCK_FILE)) as f:
            text = f.read().strip()
    except OSError:
        return None
    try:
        holder = json.loads(text) if text else None
    except ValueError:
        holder = {'command': f'(unreadable lock file: {text[:80]!r})'}
    return holder if isinstance(holder, dict) else None


class WorkDirLock:
    """An exclusive lock on ``WORK_DIR/.train.lock``, held from :meth:`acquire` (or ``with``)
    until :meth:`release`, the end of the ``with`` block, or the death of the process.

    Args:
        work_dir (str): created when missing.
        enabled (bool): False makes it a no-op (distributed ranks other than 0: only rank 0 of a
            run holds the lock, so that the ranks of one run do not refuse each other).

    Attributes:
        notes (list[str]): log lines of :meth:`acquire` (a lock taken over from a dead run, a
            file system without ``flock``).
    """

    def __init__(self, work_dir: str, enabled: bool = True) -> None:
        self.work_dir = os.path.abspath(work_dir)
        self.path = os.path.join(self.work_dir, LOCK_FILE)
        self.enabled = enabled
        self.notes: List[str] = []
        self._fd: Optional[int] = None
        self._owner = 0  # the pid that holds it
        self._flock = True

    def _refusal(self, holder: Optional[Dict]) -> WorkDirLockedError:
        who = _describe(holder) if holder else 'a process that has not written its name yet'
        return WorkDirLockedError(
            f'work dir {self.work_dir} is in use by another training run ({who}). Two runs in '
            'one work dir overwrite each other\'s checkpoints and last_checkpoint. Wait for it '
            '(or stop it: it saves a checkpoint on SIGTERM), or pass --work-dir NEW_DIR. Lock '
            f'file: {self.path}')

    def _lock_fd(self) -> int:
        """Open the lock file and lock it; the descriptor (the path's current file)."""
        for _ in range(10):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = read_lock_holder(self.work_dir)
                os.close(fd)
                raise self._refusal(holder) from None
            except OSError as e:
                if e.errno not in _NO_FLOCK:
                    os.close(fd)
                    raise
                self._flock = False
                return fd
            # the holder removes the file when it releases: a lock on a removed file is none
            try:
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)
        raise WorkDirLockedError(f'could not lock {self.path}: it kept being replaced')

    def acquire(self) -> 'WorkDirLock':
        """Take the lock.

        Raises:
            WorkDirLockedError: another run holds it; the message names that run (pid, host,
                start time, command).
        """
        if not self.enabled or self._fd is not None:
            return self
        os.makedirs(self.work_dir, exist_ok=True)
        fd = self._lock_fd()
        try:
            previous = read_lock_holder(self.work_dir)
            host = socket.gethostname()
            if not self._flock:
                self.notes.append(f'work dir lock: the file system of {self.work_dir} does not '
                                  'support flock; concurrent runs are detected by pid on this '
                                  'host only')
                pid = previous.get('pid') if previous else None
                if previous and (previous.get('host') != host or (
                        isinstance(pid, int) and pid != os.getpid() and _pid_alive(pid))):
                    raise WorkDirLockedError(
                        f'{self._refusal(previous)}. Without flock a run on another host cannot '
                        'be checked: if that run is gone, delete the lock file')
            if previous:
                self.notes.append(f'work dir lock: took over {self.path}, left by a run that is '
                                  f'gone ({_describe(previous)})')
                if previous.get('host') != host:
                    self.notes.append(
                        f'work dir lock: that run was on another host ({previous.get("host")}). '
                        'If it is still running, this file system does not share locks '
                        'between hosts: stop one of the two runs')
            me = dict(pid=os.getpid(), host=host,
                      start_time=time.strftime('%Y-%m-%d %H:%M:%S %z'),
                      command=' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(me) + '\n').encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._owner = fd, os.getpid()
        _HELD_FDS.add(fd)
        return self

    def release(self) -> None:
        """Remove the lock file and drop the lock (no-op when not held)."""
        fd, self._fd = self._fd, None
        if fd is None or self._owner != os.getpid():  # a forked child closed its copy
            return
        _HELD_FDS.discard(fd)
        try:
            if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                os.remove(self.path)  # while still locked: a waiting run then retries the path
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)  # drops the flock

    def __enter__(self) -> 'WorkDirLock':
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


# Forked children inherit the locked descriptors, and flock is dropped only when every copy is
# closed: a data-loader worker left behind by a killed trainer would keep the work dir locked.
_HELD_FDS: Set[int] = set()


def _close_in_child() -> None:
    for fd in _HELD_FDS:
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD_FDS.clear()


os.register_at_fork(after_in_child=_close_in_child)
