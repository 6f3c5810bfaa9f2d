"""The race at the end of a gloo rank, with and without ``exit_after_distributed_run``.

Each run starts ``--ranks`` CPU processes with torchrun; every rank wraps a model in DDP (which
keeps the gloo group and its worker threads alive), broadcasts 20 tensors made in Python,
then ``barrier`` and ``destroy_process_group`` as the tools do. ``plain`` runs then end through
the interpreter, ``guarded`` ones through ``mask3d_mm.tooling.exit_after_distributed_run``
(mask3d_mm/tooling/process_end.py). Runs alternate; the script prints, per kind, how the
runs ended: ok, aborted (a rank: ``terminate called without an active exception``), hung (5
minutes) or failed. The race needs a loaded machine: ``--parallel`` runs of a kind at a time,
``--busy`` busy-loop processes beside:

    python .dev_scripts/gloo_exit_race.py --runs 16 --ranks 8 --parallel 2 --busy 1
"""
import argparse
import contextlib
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
_KEPT = []  # the model lives to the end of the process, as a Runner's (held in a cycle) does


def rank(kind: str) -> None:
    import torch
    import torch.distributed as dist

    from mask3d_mm.tooling import exit_after_distributed_run
    guard = exit_after_distributed_run() if kind == 'guarded' else contextlib.nullcontext()
    with guard:
        dist.init_process_group('gloo')
        _KEPT.append(torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 4)))
        for _ in range(20):
            tensor = torch.ones(100)
            dist.broadcast(tensor, 0)
            del tensor
        dist.barrier()
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def launch(kind: str, ranks: int) -> str:
    """One run: 'ok', 'aborted' (a rank: SIGABRT), 'hung' (5 minutes) or 'failed'."""
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.Popen(
        [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={ranks}',
         f'--master_port={free_port()}', osp.abspath(__file__), '--rank', kind],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        _, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return 'hung'
    if 'terminate called without an active exception' in err:
        return 'aborted'
    return 'ok' if proc.returncode == 0 else 'failed'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=20, help='runs of each kind')
    parser.add_argument('--ranks', type=int, default=8)
    parser.add_argument('--busy', type=int, default=0, help='busy-loop processes beside')
    parser.add_argument('--parallel', type=int, default=1, help='runs of a kind at a time')
    parser.add_argument('--rank', choices=['plain', 'guarded'], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rank:
        return rank(args.rank)
    busy = [subprocess.Popen([sys.executable, '-c', 'while True: pass'])
            for _ in range(args.busy)]
    counts = {kind: dict(ok=0, aborted=0, hung=0, failed=0) for kind in ('plain', 'guarded')}
    with ThreadPoolExecutor(args.parallel) as pool:
        for i in range(0, args.runs, args.parallel):
            for kind, count in counts.items():
                jobs = min(args.parallel, args.runs - i)
                for outcome in pool.map(launch, [kind] * jobs, [args.ranks] * jobs):
                    count[outcome] += 1
                print(f'runs {i + 1}-{i + jobs} {kind}: {counts[kind]}', flush=True)
    for proc in busy:
        proc.kill()
    for kind, count in counts.items():
        print(f'{kind}: ' + ', '.join(f'{n} {outcome}' for outcome, n in count.items()))


if __name__ == '__main__':
    main()
