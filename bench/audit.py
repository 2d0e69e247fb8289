"""The audit log's write, seal and verify rates: `python -m bench.audit --events 100000 [--database-url URL]`.

Writes --events rows the way the server does (--threads request threads, each waiting until the
`AuditWriter` has committed its row: group commit), then, for comparison, a few thousand rows in one
transaction each; then seals them all and verifies the chain. Without --database-url it uses a new
SQLite file in a temporary folder; a PostgreSQL URL must name an empty database (it is migrated).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.table import print_table
from smartborders.audit.service import AuditWriter, seal, verify, write
from smartborders.core.db import make_engine
from smartborders.core.migrate import upgrade


def _row(i: int) -> dict:
    return {"at": datetime.now(UTC), "channel": "api", "method": "POST", "route": "/api/v1/border/entries",
            "params": '{"path": {}}', "status": 201, "principal_kind": "carrier", "principal": f"C{i % 50}",
            "role": "carrier", "authority": "carrier", "purpose": "EES Art. 23 border check",
            "data": "EES individual file, entry/exit/refusal records, biometrics"}


def grouped(engine, events: int, threads: int) -> tuple[float, float]:
    """Rows/s and mean rows per commit, with `threads` requests each waiting for its own row."""
    writer = AuditWriter(engine)
    commits = 0

    def count(eng, rows):  # type: ignore[no-untyped-def] - the writer's own insert, counted
        nonlocal commits
        commits += 1
        write(eng, rows)

    from smartborders.audit import service

    service_write, service.write = service.write, count
    per = events // threads
    errors: list[BaseException] = []

    def request_thread(k: int) -> None:
        for i in range(per):
            done = threading.Event()
            writer.submit(_row(k * per + i), lambda e, d=done: (errors.append(e) if e else None, d.set()))
            done.wait()

    try:
        start = time.perf_counter()
        workers = [threading.Thread(target=request_thread, args=(k,)) for k in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - start
    finally:
        writer.stop()
        service.write = service_write
    if errors:
        raise errors[0]
    return per * threads / elapsed, per * threads / max(commits, 1)


def single(engine, events: int) -> float:
    start = time.perf_counter()
    for i in range(events):
        write(engine, [_row(i)])
    return events / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.audit")
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--threads", type=int, default=32, help="concurrent request threads")
    p.add_argument("--single", type=int, default=2000, help="rows written one transaction each")
    p.add_argument("--database-url", default=None)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = a.database_url or f"sqlite:///{Path(tmp) / 'audit.db'}"
        engine = make_engine(url)
        upgrade(engine)
        rate, per_commit = grouped(engine, a.events, a.threads)
        one = single(engine, a.single)
        start = time.perf_counter()
        sealed = seal(engine)
        seal_rate = sealed / (time.perf_counter() - start)
        start = time.perf_counter()
        v = verify(engine)
        verify_rate = v.sealed / (time.perf_counter() - start)
        assert v.ok, v
        engine.dispose()
    print_table(f"Audit log on {engine.dialect.name}", ["step", "rows", "rate"], [
        [f"insert, group commit ({a.threads} request threads waiting)", f"{a.events // a.threads * a.threads}",
         f"{rate:,.0f} rows/s ({per_commit:.1f} rows per commit)"],
        ["insert, one transaction per row", f"{a.single}", f"{one:,.0f} rows/s"],
        ["seal (sequence + sha256 chain)", f"{sealed}", f"{seal_rate:,.0f} rows/s"],
        ["verify (walk the chain)", f"{v.sealed}", f"{verify_rate:,.0f} rows/s"],
    ])


if __name__ == "__main__":
    main()
