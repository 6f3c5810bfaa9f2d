"""The end of a tool's process in a distributed run: process group torn down, then no
interpreter finalization.

Why: torch's ``DistributedDataParallel`` keeps a C++ reference to its process group, so a gloo
group outlives ``destroy_process_group`` and its worker threads outlive the Python program. A
worker that lets go of its last finished collective while the interpreter finalizes frees a
tensor created in Python, takes the GIL for it, and is ended by Python inside a ``noexcept``
frame: ``terminate called without an active exception``, SIGABRT, and torchrun reports a failed
run after every rank did its work (a race, on loaded CPU machines; torch 2.13; the worker's
stack and the rates in ``docs/robustness.md``). Exiting with ``os._exit`` once everything is
written takes the finalization, and the race, away.
"""
import contextlib
import gc
import logging
import os
import sys
from typing import Iterator

import torch.distributed as torch_dist

__all__ = ['teardown_distributed', 'exit_after_distributed_run', 'launched_as_rank']


def teardown_distributed() -> None:
    """Wait for all ranks, then destroy the default process group (no-op when there is none).

    Called at the end of ``tools/train.py`` and ``tools/test.py``, as torch asks; the process
    then ends through :func:`exit_after_distributed_run`. Garbage collection is turned off
    first: a collection that frees the DDP wrapper (a Runner lives in reference cycles) frees
    the group, whose destructor joins the worker threads while holding the GIL, which such a
    worker may be waiting for (a deadlock: seen when a DDP model was freed on return in a
    rank of ``.dev_scripts/gloo_exit_race.py``).
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        gc.disable()  # see the docstring
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def launched_as_rank() -> bool:
    """Whether this process is one rank of a launched job (torchrun; mmengine's slurm and mpi
    set-up write the same variables)."""
    return 'RANK' in os.environ and 'WORLD_SIZE' in os.environ


def _exit_now(status: int) -> None:
    """Flush what the process wrote, stop its data-loader workers, ``os._exit(status)``."""
    from mask3d_mm.engine.hooks.graceful_stop_hook import shutdown_dataloader_workers
    shutdown_dataloader_workers()  # what their iterators' __del__ does at finalization
    logging.shutdown()  # flushes and closes the log files (an atexit handler otherwise)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or gone: nothing more to write
            pass
    os._exit(status)


@contextlib.contextmanager
def exit_after_distributed_run() -> Iterator[None]:
    """Around a tool's ``main()``: in a launched rank, a ``main()`` that returns ends the
    process with status 0, a ``SystemExit`` (``--help``, a graceful stop's 143 / 130) with its
    status, both without interpreter finalization (see the module's docstring). Other
    exceptions, and single-process runs, go through the interpreter as usual."""
    if not launched_as_rank():
        yield
        return
    try:
        yield
    except SystemExit as stop:
        code = stop.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)  # what the interpreter prints for SystemExit('text')
            code = 1
        _exit_now(code or 0)
    _exit_now(0)
