"""A pre-imported Python for the tests' tool processes (a fork server, test-only).

Starting ``python tools/train.py ...`` costs ~5 s before the tool does anything: torch and the
OpenMMLab stack are imported again by every process. The suite starts hundreds of them (the
documented commands of test_docs, the tools of test_tools). Here one server per test worker
imports the stack once; ``interpreter()`` is a tiny ``python`` client that asks the server to
fork a child which runs the script as ``python SCRIPT ARGS`` / ``python -m MODULE ARGS``
would: the client's argv, working directory, environment and open files (same numbers), a
fresh random state, ``sys.path`` from the script folder and ``PYTHONPATH``, the exit status (or
the signal) of the script as the client's. Signals sent to the client go to the child; a client
that dies takes the child's process group with it. Any other command line (``-c``, ``-u``,
no script) runs the real interpreter (``exec``), as does every client when the server is
not reachable. What a fork cannot renew: the hash seed of ``str`` (one per server) and the
state of the modules imported before the fork (those a tool imports anyway).
``MASK3D_MM_TEST_FORK=0`` turns the server off: the tests then start real interpreters.

Run as a script, this file is the server: ``python fork_server.py SOCKET CLIENT``.
"""
import os
import os.path as osp
import sys

SOCKET_ENV = 'MASK3D_MM_FORK_SERVER'
DISABLE_ENV = 'MASK3D_MM_TEST_FORK'
# what tool processes import: the plugin and the three stacks' registries
PRELOAD = """
import mask3d_mm
import mmengine.runner
from mmpretrain.utils import register_all_modules as pretrain_modules
from mmseg.utils import register_all_modules as seg_modules
from mmdet.utils import register_all_modules as det_modules
pretrain_modules(False); seg_modules(False); det_modules(False)
import mmdet.apis, mmseg.apis, mmpretrain.apis
"""
FORWARDED = ('SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2')

# the client: started by the shell for every `python ...`; stdlib only, no site (-S), fast
CLIENT = r'''#!{python} -S
import json, os, signal, socket, sys
REAL = {python!r}
args = sys.argv[1:]
path = os.environ.get({socket_env!r})
runnable = args and (args[0] == '-m' and len(args) > 1 or not args[0].startswith('-'))
if not (path and runnable and os.environ.get({disable_env!r}, '1') != '0'):
    os.execv(REAL, [REAL, *args])
try:
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(path)
except OSError:
    os.execv(REAL, [REAL, *args])
fds = sorted(int(fd) for fd in os.listdir('/proc/self/fd') if int(fd) != conn.fileno())
fds = [fd for fd in fds if os.path.exists(f'/proc/self/fd/{{fd}}')]  # the listing's own
request = json.dumps(dict(argv=args, cwd=os.getcwd(), env=dict(os.environ), fds=fds)).encode()
socket.send_fds(conn, [len(request).to_bytes(8, 'big')], fds)
conn.sendall(request)
stream = conn.makefile('r')
pid = int(stream.readline())
for name in {forwarded!r}:
    signal.signal(getattr(signal, name), lambda sig, _: os.kill(pid, sig))
line = stream.readline()
status = int(line) if line else 1
if status < 0:  # the script died of a signal: so does the client
    if -status not in (signal.SIGKILL, signal.SIGSTOP):
        signal.signal(-status, signal.SIG_DFL)
    os.kill(os.getpid(), -status)
sys.exit(status)
'''


def _receive(conn):
    import json
    import socket
    head, fds, _, _ = socket.recv_fds(conn, 8, 250)
    size, data = int.from_bytes(head, 'big'), b''
    while len(data) < size:
        data += conn.recv(size - len(data))
    return json.loads(data), fds


def _run(request: dict, fds, base_path, client: str) -> None:
    """In the forked child: become ``python ARGV`` and run it; never returns."""
    import atexit
    import fcntl
    import random
    import runpy
    import signal
    import traceback
    import warnings

    import numpy as np
    import torch
    os.setsid()
    for sig in ('SIGCHLD', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGQUIT'):
        signal.signal(getattr(signal, sig), signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 1024) for fd in fds]
    os.closerange(0, 1024)  # the server's own (its log, sockets); the client's fds in their place
    for target, fd in zip(request['fds'], high):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request['env'])
    os.chdir(request['cwd'])
    argv = request['argv']
    extra = [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    sys.executable = client  # the tool's own subprocesses use the server too
    random.seed()
    np.random.seed(int.from_bytes(os.urandom(4), 'little'))
    torch.seed()
    threads = os.environ.get('OMP_NUM_THREADS', '')  # read at start-up by a fresh process
    torch.set_num_threads(int(threads) if threads.isdigit() and int(threads) else
                          len(os.sched_getaffinity(0)))
    if os.environ.get('PYTHONWARNINGS'):
        options = os.environ['PYTHONWARNINGS'].split(',')
        sys.warnoptions[:] = options
        warnings._processoptions(options)
    code = 0
    try:
        if argv[0] == '-m':
            sys.argv = [argv[1], *argv[2:]]
            sys.path[:] = [os.getcwd(), *extra, *base_path]
            runpy.run_module(argv[1], run_name='__main__', alter_sys=True)
        else:
            script = osp.abspath(argv[0])
            sys.argv = list(argv)
            sys.path[:] = [osp.dirname(script), *extra, *base_path]
            runpy.run_path(script, run_name='__main__')
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
    except KeyboardInterrupt:
        traceback.print_exc()
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _serve_one(conn, base_path, client: str) -> None:
    """In a forked runner: start the child, report its pid and exit status; kill it when the
    client goes away first."""
    import threading
    request, fds = _receive(conn)
    pid = os.fork()
    if pid == 0:
        conn.close()
        _run(request, fds, base_path, client)
    for fd in fds:
        os.close(fd)
    conn.sendall(f'{pid}\n'.encode())

    def watch():  # the client's end closes: it died (a timeout, a kill)
        if not conn.recv(1):
            try:
                os.killpg(pid, 9)
            except OSError:
                pass
    threading.Thread(target=watch, daemon=True).start()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    try:
        conn.sendall(f'{code}\n'.encode())
    except OSError:
        pass
    os._exit(0)


def serve(path: str, client: str) -> None:
    import signal
    import socket
    base_path = list(sys.path[1:])  # without this file's folder
    exec(PRELOAD, {})
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # runners are reaped by the kernel
    server = socket.socket(socket.AF_UNIX)
    server.bind(path + '.tmp')
    server.listen(64)
    os.rename(path + '.tmp', path)  # ready
    sys.stdout.flush()
    sys.stderr.flush()
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                _serve_one(conn, base_path, client)
            finally:
                os._exit(1)
        conn.close()


_CLIENT = []  # this worker's client, once its server runs


def interpreter() -> str:
    """Path of a ``python`` whose scripts fork from this worker's server (started on first
    use; its socket is in ``os.environ``, so processes started from here inherit it), or
    ``sys.executable`` when ``MASK3D_MM_TEST_FORK=0``."""
    if os.environ.get(DISABLE_ENV, '1') == '0':
        return sys.executable
    if not _CLIENT:
        import atexit
        import shutil
        import subprocess
        import tempfile
        import time
        folder = tempfile.mkdtemp(prefix='mask3d_mm_fork_')
        client = osp.join(folder, 'bin', 'python')
        os.makedirs(osp.dirname(client))
        with open(client, 'w') as f:
            f.write(CLIENT.format(python=sys.executable, socket_env=SOCKET_ENV,
                                  disable_env=DISABLE_ENV, forwarded=FORWARDED))
        os.chmod(client, 0o755)
        path = osp.join(folder, 'server.sock')
        env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
                   CUDA_VISIBLE_DEVICES='')
        env.pop('PYTHONWARNINGS', None)  # each child applies its own
        log = osp.join(folder, 'server.log')
        with open(log, 'w') as out:
            proc = subprocess.Popen([sys.executable, osp.abspath(__file__), path, client],
                                    env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        atexit.register(lambda: (proc.kill(), proc.wait(), shutil.rmtree(folder, True)))
        deadline = time.time() + 120
        while not osp.exists(path):
            if proc.poll() is not None or time.time() > deadline:
                with open(log) as f:
                    raise RuntimeError(f'the fork server did not start:\n{f.read()[-3000:]}')
            time.sleep(0.05)
        os.environ[SOCKET_ENV] = path
        _CLIENT.append(client)
    return _CLIENT[0]


if __name__ == '__main__':
    serve(sys.argv[1], sys.argv[2])
