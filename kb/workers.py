"""Several server processes on one port, each with its own listening socket (`kb serve --workers N`).

uvicorn's `--workers` shares one listening socket between its processes. Under a burst of new
connections (64 clients starting together) the first process to wake accepted them all in one go
— asyncio accepts up to the backlog per wake-up — and as browsers and load generators keep their
connections alive, that process served most clients for the rest of the run while the other idled:
the 99th percentile was 2–4 × the median (docs/reliability.md). Here each process listens on its
own socket bound with SO_REUSEPORT, and the kernel spreads new connections across the sockets by
address hash, so a burst is shared evenly. The sockets are bound by the supervisor (a port in use is
one clear error, not a restart loop) and handed to the processes; a process that dies is restarted
with the same socket.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import socket
import sys
from typing import Any

import uvicorn

BACKLOG = 2048  # uvicorn's default


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket on (host, port) that other sockets of this user may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def _serve(app: str, sock: socket.socket, options: dict[str, Any]) -> None:
    """One worker process: uvicorn on its own socket (the app is imported here: `module:factory`)."""
    config = uvicorn.Config(app, factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(app: str, count: int, host: str, port: int, options: dict[str, Any]) -> None:
    """Serve `app` (a `module:factory` path) from `count` processes until SIGINT or SIGTERM."""
    sockets = [listening_socket(host, port) for _ in range(count)]
    context = multiprocessing.get_context("spawn")
    options = {k: v for k, v in options.items() if k not in ("host", "port")}

    def start(i: int) -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_serve, args=(app, sockets[i], options), name=f"kb-serve-{i}")
        process.start()
        return process

    processes = [start(i) for i in range(count)]
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping:
            multiprocessing.connection.wait([p.sentinel for p in processes], timeout=0.5)
            for i, process in enumerate(processes):
                if process.exitcode is not None and not stopping:
                    print(f"サーバーのプロセス {i}（pid {process.pid}）が終了しました（{process.exitcode}）。起動し直します", file=sys.stderr)
                    processes[i] = start(i)
    finally:
        for process in processes:
            if process.exitcode is None:
                process.terminate()
        for process in processes:
            process.join(timeout=20)
            if process.exitcode is None:
                process.kill()
                process.join()
        for sock in sockets:
            sock.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
