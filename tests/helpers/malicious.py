"""Malicious checkpoints and a loopback HTTP server that serves them (safe-loading tests)."""
import contextlib
import functools
import http.server
import os
import threading
from typing import Iterator, Tuple

import torch


class MarkerPayload:
    """Unpickling this (``weights_only=False``) creates the file ``marker``: proof that code of
    the checkpoint ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __setstate__(self, state: dict) -> None:
        open(state['marker'], 'w').close()
        self.__dict__.update(state)


def write_malicious_checkpoint(path: str, marker: str) -> str:
    """A checkpoint that looks like a state dict and carries a :class:`MarkerPayload`."""
    torch.save(dict(state_dict={'w': torch.zeros(1)}, meta=MarkerPayload(marker)), path)
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve_directory(root: str, timeout: float = 30.) -> Iterator[Tuple[str, list]]:
    """Serve ``root`` on 127.0.0.1 (a free port) from a thread of this process.

    Yields ``(base_url, requests)``: ``requests`` lists the served paths. The server is shut
    down on exit; each request times out after ``timeout`` s.
    """
    requests: list = []

    class Handler(_QuietHandler):

        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

    Handler.timeout = timeout
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(Handler, directory=os.fspath(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.05),
                              daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}', requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout)
