"""The server killed with SIGKILL in the middle of writing, on both databases: every entry the server
acknowledged (201) survives the kill exactly once, and replaying every request after the restart (as the
fall-back client does) records each traveller once, never twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from smartborders.core.db import make_engine, unit_of_work
from smartborders.ees.models import EntryExitRecord
from tests.e2e.conftest import free_port, make_bcp_key
from tests.ees.factory import Traveller

TRAVELLERS = 80


def _serve(url: str, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBORDERS_")}
    env.update(SMARTBORDERS_DATABASE_URL=url, SMARTBORDERS_LOG_JSON="false", SMARTBORDERS_RATE_LIMITS="false")
    exe = Path(sys.executable).with_name("smartborders")
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, "the server stopped"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)


def test_acknowledged_entries_survive_a_sigkill_and_replays_never_double(ees_url):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    now = datetime.now(UTC).replace(microsecond=0)
    bodies = [Traveller("USA").entry(at=now).model_dump(mode="json", exclude_none=True) for _ in range(TRAVELLERS)]
    acked: set[str] = set()
    lock = threading.Lock()
    setup = make_engine(ees_url)
    auth = {"Authorization": f"Bearer {make_bcp_key(setup)}"}  # the crossing point's own system
    setup.dispose()
    proc = _serve(ees_url, port)
    killed = threading.Event()

    def send(body: dict) -> None:
        if killed.is_set():
            return
        try:
            r = httpx.post(f"{base}/api/v1/border/entries", json=body, timeout=10, headers=auth)
        except httpx.HTTPError:
            return  # not acknowledged: the client does not know whether it was recorded
        if r.status_code == 201:
            with lock:
                acked.add(body["client_id"])
                if len(acked) >= TRAVELLERS // 3 and not killed.is_set():
                    killed.set()
                    proc.send_signal(signal.SIGKILL)  # mid-load: other requests are in flight

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(send, bodies))
    finally:
        proc.kill()
        proc.wait(10)
    assert killed.is_set() and len(acked) >= TRAVELLERS // 3
    engine = make_engine(ees_url)

    def count(ids: list[str]) -> dict[str, int]:
        with unit_of_work(engine, readonly=True) as s:
            rows = s.execute(select(EntryExitRecord.entry_client_id, func.count()).where(
                EntryExitRecord.entry_client_id.in_(ids)).group_by(EntryExitRecord.entry_client_id)).all()
        return {cid: n for cid, n in rows}

    survived = count(sorted(acked))
    assert survived == {cid: 1 for cid in acked}  # every acknowledged write, once
    # Restart and replay everything: the acknowledged ones answer as before, the rest are recorded once.
    proc = _serve(ees_url, port)
    try:
        for body in bodies:
            r = httpx.post(f"{base}/api/v1/border/entries", json=body, timeout=30, headers=auth)
            assert r.status_code in (200, 201), r.text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert count([b["client_id"] for b in bodies]) == {b["client_id"]: 1 for b in bodies}
    engine.dispose()
