"""Border checks over HTTP under load: `python -m bench.ees_http --help`.

Starts `smartborders serve` in its own process(es) on a loopback port over the given database, then
runs N concurrent clients (asyncio + httpx, keep-alive) for a fixed time. Each client takes a
traveller who is outside and records an entry (document search + stay calculation + record, one
request), or takes one who is inside and records the exit. Prints latency percentiles and the rate
of durably recorded crossings. Bounded: stops after --seconds, talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import select

from smartborders.core.db import make_engine, unit_of_work
from smartborders.ees.models import EntryExitRecord, IndividualFile, TravelDocument

_KEY: dict[str, str] = {}  # the crossing point's key while a run holds one (`crossing_point_key`)


def auth_headers() -> dict[str, str]:
    """The headers of every request the bench sends: the crossing-point client's credential."""
    return {"Authorization": f"Bearer {_KEY['key']}"} if _KEY else {}


def crossing_point_key(url: str, bcp: str = "NL-AMS") -> str:
    """Make a crossing-point client at `bcp` in the database (the border routes want one) and keep its key
    for `auth_headers`. Returns its code, for `revoke_key` when the run is over."""
    from datetime import UTC, datetime

    from smartborders.core import clients

    code = f"BENCH-{uuid.uuid4().hex[:8].upper()}"
    engine = make_engine(url)
    with unit_of_work(engine) as s:
        _KEY["key"] = clients.create(s, "bcp", code, "load benchmark", datetime.now(UTC), bcp=bcp)[1]
    engine.dispose()
    return code


def revoke_key(url: str, code: str) -> None:
    from datetime import UTC, datetime

    from smartborders.core import clients

    engine = make_engine(url)
    with unit_of_work(engine) as s:
        clients.revoke(s, code, datetime.now(UTC))
    engine.dispose()
    _KEY.clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def travellers(url: str, limit: int) -> tuple[list[dict], list[dict]]:
    """Documents of travellers outside and inside, read straight from the database."""
    engine = make_engine(url)
    with unit_of_work(engine, readonly=True) as s:
        open_files = select(EntryExitRecord.file_id).where(EntryExitRecord.exit_at.is_(None))
        # Visa-exempt travellers only: the clients carry no visa data.
        documents = (
            select(TravelDocument.document_type, TravelDocument.number, TravelDocument.issuing_state)
            .join(IndividualFile, IndividualFile.id == TravelDocument.file_id)
            .where(IndividualFile.visa_required.is_(False)).limit(limit)
        )
        inside = s.execute(documents.where(TravelDocument.file_id.in_(open_files))).all()
        outside = s.execute(documents.where(TravelDocument.file_id.not_in(open_files))).all()
    engine.dispose()
    as_doc = lambda r: {"document_type": r[0], "number": r[1], "issuing_state": r[2]}
    return [as_doc(r) for r in outside], [as_doc(r) for r in inside]


class Conn:
    """A bare HTTP/1.1 keep-alive connection on asyncio streams. The load generator shares the two
    cores with the server and the database: httpx cost about half a core at this rate, this a tenth."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        extra = "".join(f"{k}: {v}\r\n" for k, v in auth_headers().items()).encode()
        self.writer.write(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n%s"
                          b"Content-Length: %d\r\n\r\n%s" % (path.encode(), extra, len(body), body))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def client(port: int, outside: list[dict], inside: list[dict], stop: float,
                 lat: dict[str, list[float]], errors: list[str], rng: random.Random,
                 interval: float | None = None) -> None:
    """Closed loop (the next request when the answer comes) or, with `interval`, open loop at a fixed
    pace: latency then counts from when the request was due, so a stalled server is not hidden
    (no coordinated omission)."""
    conn = await Conn.open(port)
    due = time.perf_counter() + (rng.random() * interval if interval else 0)
    try:
        while time.monotonic() < stop:
            if interval:
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
            go_in = bool(outside) and (not inside or rng.random() < 0.5)
            pool = outside if go_in else inside
            if not pool:
                return
            doc = pool.pop(rng.randrange(len(pool)))
            kind = "entry" if go_in else "exit"
            body = json.dumps({"client_id": uuid.uuid4().hex, "bcp": "NL-AMS", "authority": "BENCH",
                               "document": doc}).encode()
            t0 = due if interval else time.perf_counter()
            status, text = await conn.post(f"/api/v1/border/{'entries' if go_in else 'exits'}", body)
            lat[kind].append(time.perf_counter() - t0)
            if interval:
                due += interval
            if status == 201:
                (inside if go_in else outside).append(doc)
            elif status != 409:  # 409: no stay left / already inside — an answer, not a failure
                errors.append(f"{status} {text[:200].decode(errors='replace')}")
    finally:
        conn.close()


async def drive(port: int, clients: int, seconds: float, outside: list[dict], inside: list[dict],
                rate: float | None = None) -> dict:
    lat: dict[str, list[float]] = {"entry": [], "exit": []}
    errors: list[str] = []
    start = time.monotonic()
    rng = random.Random(7)
    interval = clients / rate if rate else None
    await asyncio.gather(*(client(port, outside, inside, start + seconds, lat, errors, rng, interval)
                           for _ in range(clients)))
    return {"lat": lat, "errors": errors, "elapsed": time.monotonic() - start}


def wait_warm(base: str, within: float = 120) -> None:
    """Wait for the server's start-up work (/health: "loading", "building"): it holds the interpreter for
    seconds at a time (measured: requests stalled up to 9 s), which would show as a slow first
    minute or a slow closed loop."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            status = httpx.get(f"{base}/health", headers=auth_headers(), timeout=30).json()
        except httpx.HTTPError:  # busy starting: ask again
            status = {"status": "loading"}
        if not any(str(v).startswith(("loading", "building")) for v in status.values()):
            return
        time.sleep(0.5)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def size(url: str) -> str:
    from sqlalchemy import func

    engine = make_engine(url)
    with unit_of_work(engine, readonly=True) as s:
        files = s.scalar(select(func.count()).select_from(IndividualFile))
        records = s.scalar(select(func.count()).select_from(EntryExitRecord))
    engine.dispose()
    return f"{files:,} files, {records:,} records"


def run(url: str, clients: int, seconds: float, workers: int, pool: int = 200_000,
        rates: list[float] = (300,)) -> list[tuple[str, str, str, str]]:
    held = size(url)
    outside, inside = travellers(url, pool)
    code = crossing_point_key(url)
    port = free_port()
    env = dict(os.environ, SMARTBORDERS_DATABASE_URL=url, SMARTBORDERS_LOG_LEVEL="WARNING")
    exe = Path(sys.executable).with_name("smartborders")
    server = subprocess.Popen([str(exe), "serve", "--port", str(port), "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health", headers=auth_headers(), timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"server did not start: {server.stderr.read().decode()[-2000:] if server.stderr else ''}")
            time.sleep(0.2)
        wait_warm(base)
        asyncio.run(drive(port, clients, min(3.0, seconds), outside, inside))  # warm-up
        res = asyncio.run(drive(port, clients, seconds, outside, inside))
        paced = [(rate, asyncio.run(drive(port, clients, seconds, outside, inside, rate=rate))) for rate in rates]
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        revoke_key(url, code)
    lat, n = res["lat"], len(res["lat"]["entry"]) + len(res["lat"]["exit"])
    engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    done = n / res["elapsed"]
    rows = [
        (f"border check + record entry over HTTP, {engine} ({held}), {clients} clients",
         (f"p50 {pct(lat['entry'], 50) * 1e3:.1f} ms, p95 {pct(lat['entry'], 95) * 1e3:.1f} ms "
         f"({len(lat['entry'])} entries)"), "p95 ≤ 50 ms", f"{workers} server process(es)"),
        (f"record exit over HTTP, {engine}", (f"p50 {pct(lat['exit'], 50) * 1e3:.1f} ms, p95 "
         f"{pct(lat['exit'], 95) * 1e3:.1f} ms ({len(lat['exit'])} exits)"), "-", ""),
        (f"crossings recorded durably, {engine}", (f"{done:.0f} /s over {res['elapsed']:.0f} s, "
         f"{len(res['errors'])} errors"), "≥ 300 /s", res["errors"][0][:80] if res["errors"] else ""),
    ]
    for rate, p in paced:
        plat = p["lat"]["entry"] + p["lat"]["exit"]
        prate = len(plat) / p["elapsed"]
        rows.append((f"crossings at an offered {rate:.0f} /s, {engine}, {clients} clients",
                     (f"achieved {prate:.0f} /s; p50 {pct(plat, 50) * 1e3:.1f} ms, p95 {pct(plat, 95) * 1e3:.1f} ms, "
                     f"p99 {pct(plat, 99) * 1e3:.1f} ms"), "p95 ≤ 50 ms", (f"{len(p['errors'])} errors; latency from "
                     "when each request was due")))
    return rows


def with_fresh_databases(travellers: int, seconds: float, rates: list[float] = (300,)
                         ) -> list[tuple[str, str, str, str]]:
    """Build a PostgreSQL and a SQLite database with synthetic travellers, run the load on each, drop them."""
    import tempfile
    from datetime import date

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from smartborders.core.migrate import upgrade
    from smartborders.sim import generate

    admin_url = os.environ.get("SMARTBORDERS_TEST_DATABASE_URL",
                               "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    rows: list[tuple[str, str, str, str]] = []
    name = f"sb_bench_http_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        upgrade(engine)
        generate(engine, travellers=travellers, days=1300, end=date.today(), seed=5)
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
        engine.dispose()
        rows += run(url, 32, seconds, workers=2, rates=rates)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        generate(engine, travellers=travellers, days=1300, end=date.today(), seed=5)
        engine.dispose()
        rows += run(url, 32, seconds, workers=1, rates=rates)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.ees_http")
    p.add_argument("--url", required=True, help="database URL (already migrated and loaded)")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rates", default="150,250", help="offered crossings/s for the paced runs, comma-separated")
    a = p.parse_args()
    for row in run(a.url, a.clients, a.seconds, a.workers, rates=[float(r) for r in a.rates.split(",")]):
        print(" | ".join(row))


if __name__ == "__main__":
    main()
