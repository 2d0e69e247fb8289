"""A real server on a loopback port over a real database (both engines), with the clock in the test's hands."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from smartborders.api.app import create_app
from smartborders.core.clock import FixedClock
from smartborders.core.db import make_engine
from tests.ees.factory import START


@dataclass
class Server:
    url: str
    clock: FixedClock
    http: httpx.Client
    engine: Any = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(ees_url: str) -> Iterator[Server]:
    engine = make_engine(ees_url)
    clock = FixedClock(START)
    app = create_app(engine, clock)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=10) as client:
        yield Server(url, clock, client, engine)
    srv.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
