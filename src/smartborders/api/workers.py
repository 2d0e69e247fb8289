"""Several server processes on one port, each with its own SO_REUSEPORT socket.

With one shared listening socket (uvicorn's --workers), long-lived keep-alive connections from the
crossing points end up on whichever process accepted first: measured, one of two processes did all
the work. With a socket per process the kernel spreads new connections across them.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import socket


def _child(host: str, port: int) -> None:
    import uvicorn

    from smartborders.api.app import create_app
    from smartborders.core.db import make_engine
    from smartborders.core.settings import get_settings

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    config = uvicorn.Config(create_app(make_engine(get_settings().resolved_database_url())), log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(host: str, port: int, workers: int) -> None:
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_child, args=(host, port), daemon=False) for _ in range(workers)]
    for p in procs:
        p.start()

    def stop(signum, _frame):  # type: ignore[no-untyped-def]
        for p in procs:
            if p.is_alive():
                p.terminate()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for p in procs:
        p.join()
