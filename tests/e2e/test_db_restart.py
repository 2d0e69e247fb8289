"""The database killed hard in the middle of a border-check load and started again (crash recovery), while
the same `smartborders serve` process keeps running: requests fail cleanly while the database is down
(a 5xx problem+json, or no answer at all, never a 2xx for a write that was not made), the server recovers
on its own within seconds, every entry it acknowledged is in the database exactly once, and replaying every
request afterwards (as the fall-back client does) records nothing twice.

PostgreSQL only, on a private cluster that the test starts (initdb on a free loopback port, fsync on: the
claim is about durability) so that killing it disturbs no one. SQLite has no equivalent: the database is a
file inside the server process, so "the database killed" is the server killed, which
tests/e2e/test_faults.py covers on both engines.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from smartborders.core.db import make_engine, unit_of_work
from smartborders.ees.models import EntryExitRecord
from tests.e2e.conftest import free_port, make_bcp_key
from tests.e2e.test_faults import _serve
from tests.ees.factory import Traveller

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REQUIRE_PG = os.environ.get("SMARTBORDERS_REQUIRE_POSTGRES", "") not in ("", "0", "false")
THREADS = 3
KILL_AFTER = 60  # acknowledged entries before the database is killed
DOWN_S = 2.5  # how long the database stays down while the load goes on
ACKS_AFTER = 40  # acknowledged entries after the restart before the load stops
RECOVER_S = 15.0  # the server must acknowledge again this soon after the restart begins (recovery included)
DEADLINE_S = 60.0  # the whole load, whatever happens


_KEY: dict[str, str] = {}  # the crossing point's key, once made


def _headers() -> dict[str, str]:
    """Every HTTP call of this test goes out with these headers: the crossing point's credential."""
    return {"Authorization": f"Bearer {_KEY['key']}"} if _KEY else {}


def _crossing_point_key(url: str) -> None:
    """A crossing-point client at NL-AMS (where the entries are recorded), its key kept for `_headers`."""
    engine = make_engine(url)
    _KEY["key"] = make_bcp_key(engine)
    engine.dispose()


def _pg_bin() -> Path | None:
    """The newest installed PostgreSQL server binaries (Debian layout), or None."""
    found = [d / "bin" for d in Path("/usr/lib/postgresql").glob("*")
             if (d / "bin" / "initdb").exists() and (d / "bin" / "pg_ctl").exists()]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def _missing(why: str) -> None:
    if REQUIRE_PG:
        pytest.fail(f"PostgreSQL is required (SMARTBORDERS_REQUIRE_POSTGRES) but {why}")
    pytest.skip(why)


@dataclass
class Cluster:
    """A private PostgreSQL cluster run as the `postgres` user (postgres refuses to run as root)."""

    bin: Path
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _as_postgres(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [*args] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def init(self) -> None:
        r = self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                              "-E", "UTF8", "--locale=C", "--no-sync")  # initdb's own files only; the server fsyncs
        assert r.returncode == 0, f"initdb failed: {r.stderr[-2000:]}"

    def start(self) -> None:
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
                "-c shared_buffers=16MB -c max_connections=60 -c fsync=on -c synchronous_commit=on "
                "-c full_page_writes=on")
        r = self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                              "-o", opts, "-w", "-t", "60", "start")
        assert r.returncode == 0, f"pg_ctl start failed: {r.stdout[-1000:]} {r.stderr[-1000:]} " \
                                  f"{(self.root / 'log').read_text()[-2000:]}"

    def kill(self) -> int:
        """SIGKILL the postmaster and every backend: no shutdown checkpoint, the next start recovers from
        the WAL. Returns how many processes were killed."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        victims = [pid] + _children(pid)
        for p in victims:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in victims):
            assert time.monotonic() < deadline, "the database processes did not die"
            time.sleep(0.02)
        return len(victims)

    def stop(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    pg_bin = _pg_bin()
    if pg_bin is None:
        _missing("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _missing("running as root and `runuser` is missing: postgres will not run as root")
    root = Path(tempfile.mkdtemp(prefix="sb_pg_restart_"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    c = Cluster(pg_bin, root, free_port())
    try:
        c.init()
        c.start()
        yield c
    finally:
        c.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Load:
    """What the clients saw, shared by the load threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    bodies: list[dict] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)  # client id -> how many times acknowledged
    failures: list[tuple[float, float, str]] = field(default_factory=list)  # (sent, answered, what)
    oks: list[tuple[float, float, int]] = field(default_factory=list)  # (sent, answered, status) of each 2xx
    unclean: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def _warmed(base: str, within: float = 40) -> None:
    """Wait for the server's start-up work (the ETIAS name lists, the face index: /health says "loading",
    "building") to end: it holds the interpreter for seconds at a time, which would be read as a slow
    recovery."""
    deadline = time.monotonic() + within
    while True:
        try:
            status = httpx.get(f"{base}/health", headers=_headers(), timeout=30).json()
        except httpx.HTTPError:  # busy starting: ask again
            status = {"status": "loading"}
        if not any(str(v).startswith(("loading", "building")) for v in status.values()):
            return
        assert time.monotonic() < deadline, f"the server did not finish starting: {status}"
        time.sleep(0.2)


def _post(http: httpx.Client, body: dict) -> httpx.Response:
    return http.post("/api/v1/border/entries", json=body, headers=_headers())


def _drive(base: str, load: Load, deadline: float) -> None:
    """Record new travellers one after another; a request that fails is retried with the same client id
    until it is acknowledged, as the fall-back client does."""
    with httpx.Client(base_url=base, timeout=10) as http:
        _drive_on(http, load, deadline)


def _drive_on(http: httpx.Client, load: Load, deadline: float) -> None:
    while not load.stop.is_set() and time.monotonic() < deadline:
        body = Traveller("USA").entry(at=datetime.now(UTC).replace(microsecond=0)).model_dump(
            mode="json", exclude_none=True)
        with load.lock:
            load.bodies.append(body)
        while time.monotonic() < deadline:
            sent = time.monotonic()
            try:
                r = _post(http, body)
            except httpx.HTTPError as exc:  # no answer: the client does not know whether it was recorded
                with load.lock:
                    load.failures.append((sent, time.monotonic(), type(exc).__name__))
                time.sleep(0.05)
                continue
            answered = time.monotonic()
            if r.status_code in (200, 201):  # 200: a retry of an entry made before its answer was lost
                with load.lock:
                    load.acked[body["client_id"]] = load.acked.get(body["client_id"], 0) + 1
                    load.oks.append((sent, answered, r.status_code))
                break
            with load.lock:
                load.failures.append((sent, answered, str(r.status_code)))
                # The database is gone: 503 with Retry-After (database-unavailable, or audit-unavailable when
                # the audit row could not be written), never a 500 and never a 4xx about the crossing.
                if r.status_code != 503 or not r.headers.get("content-type", "").startswith(
                        "application/problem+json") or not r.json()["type"].endswith(
                        ("/database-unavailable", "/audit-unavailable")):
                    load.unclean.append(f"{r.status_code} {r.headers.get('content-type')} {r.text[:200]}")
            time.sleep(0.05)


def test_the_database_killed_and_restarted_mid_load_loses_and_doubles_nothing(cluster: Cluster):
    from smartborders.core.migrate import upgrade

    admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE DATABASE "sb_restart"'))
    admin.dispose()
    url = cluster.url.rsplit("/", 1)[0] + "/sb_restart"
    engine = make_engine(url)
    upgrade(engine)  # `serve` refuses a database that is not at the newest schema
    engine.dispose()
    _crossing_point_key(url)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(url, port)
    load = Load()
    try:
        _warmed(base)
        deadline = time.monotonic() + DEADLINE_S
        threads = [threading.Thread(target=_drive, args=(base, load, deadline), daemon=True)
                   for _ in range(THREADS)]
        for t in threads:
            t.start()

        def acks() -> int:
            with load.lock:
                return len(load.acked)

        while acks() < KILL_AFTER:
            assert time.monotonic() < deadline, f"only {acks()} entries acknowledged before the kill: " \
                                                f"{load.failures[:3]} {load.unclean[:3]}"
            time.sleep(0.02)
        acked_before = acks()
        killed = cluster.kill()  # mid-load: the load threads have requests in flight
        down_at = time.monotonic()
        time.sleep(DOWN_S)  # the load goes on against a dead database
        up_from = time.monotonic()
        cluster.start()  # crash recovery from the WAL; the server is NOT restarted
        while acks() < acked_before + ACKS_AFTER and time.monotonic() < deadline:
            time.sleep(0.05)
        load.stop.set()
        for t in threads:
            t.join(timeout=max(1.0, deadline - time.monotonic() + 15))
        assert proc.poll() is None, "the server stopped when its database died"

        with load.lock:
            back = [a for s, a, _ in load.oks if s > down_at]
            # A write is acknowledged only once it is committed: nothing sent after the kill and
            # answered before the restart began may be a 2xx.
            impossible = [(s, a) for s, a, _ in load.oks if s > down_at and a < up_from]
            down_errors = [f for f in load.failures if down_at <= f[1] <= up_from]
            late = sum(1 for _, _, status in load.oks if status == 200)
        assert back, f"nothing acknowledged within {DEADLINE_S:.0f} s of the start: the server did not " \
                     "recover from the database restart on its own"
        recovered_in = min(back) - up_from
        assert recovered_in < RECOVER_S, f"the server took {recovered_in:.1f} s to recover"
        assert not impossible, f"{len(impossible)} writes acknowledged while the database was down"
        assert not load.unclean, f"failures that are not a 503 problem+json: {load.unclean[:5]}"
        assert down_errors, f"no request failed while the database was down ({killed} processes killed)"
        assert all(not t.is_alive() for t in threads)
        assert len(load.acked) == len(load.bodies), "a client gave up before its entry was acknowledged"

        engine = make_engine(url)

        def count() -> dict[str, int]:
            with unit_of_work(engine, readonly=True) as s:
                rows = s.execute(select(EntryExitRecord.entry_client_id, func.count())
                                 .where(EntryExitRecord.entry_client_id.is_not(None))
                                 .group_by(EntryExitRecord.entry_client_id)).all()
            return {cid: n for cid, n in rows}

        ids = [b["client_id"] for b in load.bodies]
        assert count() == {cid: 1 for cid in ids}  # every acknowledged entry, exactly once, nothing else
        with httpx.Client(base_url=base, timeout=30) as http:
            for body in load.bodies:  # replay everything once more: each answers as before, nothing doubles
                r = _post(http, body)
                assert r.status_code in (200, 201), r.text
        assert count() == {cid: 1 for cid in ids}
        health = httpx.get(f"{base}/health", headers=_headers(), timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok", health.text
        engine.dispose()
    finally:
        load.stop.set()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    print(f"\n{len(ids)} entries, {killed} database processes killed, {len(down_errors)} failed requests while "
          f"it was down, recovered {recovered_in:.2f} s after the restart began, {late} acknowledged only on a "
          "retry (recorded before the kill, the answer lost)")
