"""Sustained border-check load at the EES benchmark rate, then a durability check: `python -m bench.ees_soak`.

Starts `smartborders serve` on a loopback port over the database (by default a fresh SQLite file with a
synthetic population, built in a temporary directory and removed afterwards; `--url` for your own, already
migrated and loaded), and offers --rate crossings per second (open loop: each request is due at a fixed
time, and its latency counts from then, so a stalled server is not hidden) for --seconds. Each crossing is an
entry of a traveller who is outside or the exit of one who is inside, with a fresh client id, as a
crossing point's client would send it (bench/ees_http.py). Prints a table per minute and overall: requests,
achieved rate, errors by kind, p50/p95/p99 latency; then counts, by client id, that every acknowledged
(201) crossing is in the database exactly once. Exits 1 on any error, an achieved rate under 95 % of the
offered one, or any acknowledged crossing missing or doubled. Bounded: stops by itself after --seconds (plus a start-up of a few seconds and the check),
talks only to 127.0.0.1.

The default rate, 300 crossings/s, is the EES rate of the benchmark table in README.md ("crossings recorded
durably ≥ 300 /s"; peak hours EU-wide are 50-100 crossings/s, notes/performance.md 1.1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bench.ees_http import (
    Conn,
    auth_headers,
    crossing_point_key,
    free_port,
    pct,
    revoke_key,
    size,
    travellers,
    wait_warm,
)
from smartborders.core.db import make_engine, unit_of_work
from smartborders.ees.models import EntryExitRecord

RATE = 300.0  # crossings/s: the EES benchmark rate (README.md, Benchmarks)
SECONDS = 600.0
REQUEST_TIMEOUT = 30.0


@dataclass
class Results:
    start: float = 0.0
    # minute -> latencies (s) of the requests that became due in that minute
    lat: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    answers: Counter[str] = field(default_factory=Counter)  # 409: no stay left / already inside (not errors)
    acked_entries: list[str] = field(default_factory=list)
    acked_exits: list[str] = field(default_factory=list)
    unacked: list[tuple[str, str]] = field(default_factory=list)  # (kind, client id) sent but not acknowledged
    elapsed: float = 0.0


def _kind_of(status: int, text: bytes) -> str:
    try:
        slug = str(json.loads(text).get("type", "")).rsplit("/", 1)[-1]
    except (ValueError, AttributeError):
        slug = ""
    return f"{status} {slug}".strip()


async def _client(port: int, outside: list[dict], inside: list[dict], end: float, interval: float,
                  res: Results, rng: random.Random) -> None:
    """Sends a request every `interval` seconds (perf_counter) until `end`; one that is due after `end`,
    or still unsent at `end` because the server fell behind, is not sent."""
    conn: Conn | None = None
    due = res.start + rng.random() * interval
    try:
        while due < end and time.perf_counter() < end:
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            go_in = bool(outside) and (not inside or rng.random() < 0.5)
            pool = outside if go_in else inside
            if not pool:
                return
            doc = pool.pop(rng.randrange(len(pool)))
            kind = "entry" if go_in else "exit"
            cid = uuid.uuid4().hex
            body = json.dumps({"client_id": cid, "bcp": "NL-AMS", "authority": "BENCH", "document": doc}).encode()
            minute = int((due - res.start) // 60)
            t0 = due
            due += interval
            try:
                if conn is None:
                    conn = await Conn.open(port)
                status, text = await asyncio.wait_for(
                    conn.post(f"/api/v1/border/{'entries' if go_in else 'exits'}", body), REQUEST_TIMEOUT)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                res.errors[minute][type(exc).__name__] += 1
                res.unacked.append((kind, cid))
                (outside if go_in else inside).append(doc)  # may or may not be recorded: the check tells
                if conn is not None:
                    conn.close()
                conn = None
                continue
            res.lat[minute].append(time.perf_counter() - t0)
            if status == 201:
                (res.acked_entries if go_in else res.acked_exits).append(cid)
                (inside if go_in else outside).append(doc)
            elif status == 409:  # an answer (no stay left, already inside), not a failure
                res.answers[_kind_of(status, text)] += 1
                (outside if go_in else inside).append(doc)
            else:
                res.errors[minute][_kind_of(status, text)] += 1
                res.unacked.append((kind, cid))
                (outside if go_in else inside).append(doc)
    finally:
        if conn is not None:
            conn.close()


async def _drive(port: int, clients: int, seconds: float, rate: float, outside: list[dict], inside: list[dict],
                 res: Results) -> None:
    rng = random.Random(11)
    res.start = time.perf_counter()
    end = res.start + seconds

    async def progress() -> None:  # a line a minute, so that a 10-minute run shows it is alive
        for m in range(int(seconds // 60)):
            await asyncio.sleep(max(0.0, res.start + 60 * (m + 1) + 1 - time.perf_counter()))
            print(f"  minute {m + 1}: {len(res.lat[m]):,} answered, {sum(res.errors[m].values())} errors, "
                  f"p95 {pct(res.lat[m], 95) * 1e3:.1f} ms", flush=True)

    ticker = asyncio.create_task(progress())
    await asyncio.gather(*(_client(port, outside, inside, end, clients / rate, res, rng) for _ in range(clients)))
    ticker.cancel()
    res.elapsed = seconds  # every request was due, and sent, within it (the last answers come a little later)


def _count(url: str, column, ids: list[str]) -> Counter[str]:  # type: ignore[no-untyped-def]
    """How many rows carry each of `ids` in `column`."""
    found: Counter[str] = Counter()
    engine = make_engine(url)
    with unit_of_work(engine, readonly=True) as s:
        for i in range(0, len(ids), 1000):
            chunk = ids[i:i + 1000]
            for cid, n in s.execute(select(column, func.count()).where(column.in_(chunk)).group_by(column)):
                found[cid] = n
    engine.dispose()
    return found


def check(url: str, res: Results) -> dict[str, int]:
    """Every acknowledged crossing in the database exactly once, by client id."""
    entries = _count(url, EntryExitRecord.entry_client_id, res.acked_entries)
    exits = _count(url, EntryExitRecord.exit_client_id, res.acked_exits)
    acked = len(res.acked_entries) + len(res.acked_exits)
    once = sum(1 for c in res.acked_entries if entries[c] == 1) + sum(1 for c in res.acked_exits if exits[c] == 1)
    missing = sum(1 for c in res.acked_entries if entries[c] == 0) + sum(1 for c in res.acked_exits if exits[c] == 0)
    unacked_e = [c for k, c in res.unacked if k == "entry"]
    unacked_x = [c for k, c in res.unacked if k == "exit"]
    recorded_unacked = sum(_count(url, EntryExitRecord.entry_client_id, unacked_e).values()) + \
        sum(_count(url, EntryExitRecord.exit_client_id, unacked_x).values())
    return {"acknowledged": acked, "once": once, "missing": missing, "more than once": acked - once - missing,
            "unacknowledged": len(res.unacked), "unacknowledged but recorded": recorded_unacked}


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children (the server's workers), from /proc; 0 where
    there is no /proc."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    stats: dict[int, tuple[int, float]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            f = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(stat.parent.name)] = (int(f[1]), (int(f[11]) + int(f[12])) / tick)
    tree = {pid}
    for p, (ppid, _) in stats.items():
        if ppid == pid:
            tree.add(p)
    return sum(stats[p][1] for p in tree if p in stats)


def soak(url: str, seconds: float, rate: float, clients: int, workers: int, pool: int = 200_000
         ) -> tuple[list[list[str]], dict[str, int], list[str]]:
    held = size(url)
    outside, inside = travellers(url, pool)
    code = crossing_point_key(url)
    port = free_port()
    env = dict(os.environ, SMARTBORDERS_DATABASE_URL=url, SMARTBORDERS_LOG_LEVEL="WARNING")
    exe = Path(sys.executable).with_name("smartborders")
    server = subprocess.Popen([str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
                               str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    res = Results()
    try:
        deadline = time.monotonic() + 120
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
        print(f"{held}; {len(outside):,} travellers outside, {len(inside):,} inside; offering {rate:g} crossings/s "
              f"for {seconds:g} s with {clients} clients against {workers} server process(es)", flush=True)
        cpu0 = _cpu_seconds(server.pid)
        asyncio.run(_drive(port, clients, seconds, rate, outside, inside, res))
        cpu = _cpu_seconds(server.pid) - cpu0
        health = httpx.get(base + "/health", headers=auth_headers(), timeout=10).status_code
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    durable = check(url, res)
    revoke_key(url, code)
    rows = []
    minutes = sorted(set(res.lat) | set(res.errors))
    for m in minutes:
        lat = res.lat[m]
        span = min(60.0, res.elapsed - 60 * m)
        rows.append([f"minute {m + 1}", f"{len(lat) + sum(res.errors[m].values()):,}",
                     f"{(len(lat) + sum(res.errors[m].values())) / span:.0f} /s" if span > 0 else "-",
                     f"{pct(lat, 50) * 1e3:.1f}", f"{pct(lat, 95) * 1e3:.1f}", f"{pct(lat, 99) * 1e3:.1f}",
                     _errors(res.errors[m])])
    every = [x for m in minutes for x in res.lat[m]]
    total_errors: Counter[str] = sum((res.errors[m] for m in minutes), Counter())
    n = len(every) + sum(total_errors.values())
    rows.append([f"all {res.elapsed:.0f} s", f"{n:,}", f"{n / res.elapsed:.0f} /s (offered {rate:g})",
                 f"{pct(every, 50) * 1e3:.1f}", f"{pct(every, 95) * 1e3:.1f}", f"{pct(every, 99) * 1e3:.1f}",
                 _errors(total_errors)])
    if len(minutes) > 1:
        worst = max(minutes, key=lambda m: pct(res.lat[m], 99) if res.lat[m] else float("inf"))
        rows.append([f"worst minute ({worst + 1})", *rows[minutes.index(worst)][1:]])
    problems = []
    if total_errors:
        problems.append(f"{sum(total_errors.values()):,} errors")
    if n / res.elapsed < 0.95 * rate:
        problems.append(f"the rate was not sustained ({n / res.elapsed:.0f} of {rate:g} /s offered)")
    if durable["missing"] or durable["more than once"]:
        problems.append(f"{durable['missing']} acknowledged crossings missing, {durable['more than once']} doubled")
    if health != 200:
        problems.append(f"/health answered {health} after the run")
    if n:
        note = f"{cpu / n * 1e3:.1f} ms ({cpu:.0f} s of CPU on {os.cpu_count()} cores shared with the load generator)"
        rows.append(["server CPU per crossing", "", "", "", "", "", note])
    if res.answers:
        rows.append(["answers, not errors", f"{sum(res.answers.values()):,}", "", "", "", "", _errors(res.answers)])
    return rows, durable, problems


def _errors(c: Counter[str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in c.most_common()) or "0"


def _fresh_sqlite(tmp: str, population: int) -> str:
    from datetime import date

    from smartborders.core.migrate import upgrade
    from smartborders.sim import generate

    url = f"sqlite:///{tmp}/soak.db"
    engine = make_engine(url)
    upgrade(engine)
    generate(engine, travellers=population, days=1300, end=date.today(), seed=5)
    engine.dispose()
    return url


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.ees_soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="database URL, migrated and loaded (`smartborders generate`); default: a fresh "
                                 "SQLite file with --travellers synthetic travellers, removed afterwards")
    p.add_argument("--travellers", type=int, default=20_000, help="population of the fresh SQLite database")
    p.add_argument("--seconds", type=float, default=SECONDS, help="how long to offer the load (default 600)")
    p.add_argument("--rate", type=float, default=RATE, help="offered crossings per second (default 300)")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--workers", type=int, default=None, help="server processes (default 2 on PostgreSQL, 1 on SQLite)")
    a = p.parse_args()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sb_soak_") as tmp:
        url = a.url or _fresh_sqlite(tmp, a.travellers)
        workers = a.workers or (2 if url.startswith("postgresql") else 1)
        rows, durable, problems = soak(url, a.seconds, a.rate, a.clients, workers)
    from bench.table import print_table

    engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print_table(f"EES sustained border-check load, {engine}, {a.seconds:g} s at {a.rate:g} crossings/s",
                ["period", "requests", "achieved rate", "p50 ms", "p95 ms", "p99 ms", "errors"], rows)
    print("\nacknowledged crossings in the database, by client id: " +
          ", ".join(f"{k} {v:,}" for k, v in durable.items()))
    if problems:
        print(f"FAIL: {'; '.join(problems)} ({time.monotonic() - t0:.0f} s in all)")
    else:
        print(f"PASS: the offered rate sustained with no errors, every acknowledged crossing in the database "
              f"exactly once ({time.monotonic() - t0:.0f} s in all)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
