"""Synthetic EES data: how fast the population and traffic are made and loaded, on SQLite and PostgreSQL.

`python -m bench.ees_load --travellers 350000 --days 365` makes about a million entry/exit records.
PostgreSQL is measured in a database of its own (created, migrated and dropped here) on the server of
SMARTBORDERS_TEST_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres); it is
left out, with a note, when no server answers.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.table import print_table
from smartborders.core.db import make_engine
from smartborders.core.migrate import upgrade
from smartborders.sim.load import count_rows, load
from smartborders.sim.population import generate_population, name_banks
from smartborders.sim.traffic import CHUNK, generate_traffic

END = date(2026, 11, 29)
PG_ADMIN_URL = os.environ.get(
    "SMARTBORDERS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

Row = tuple[str, str, str, str]


def _rate(n: float, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s" if seconds > 0 else "-"


def bench_generation(travellers: int, days: int, seed: int) -> tuple[list[Row], object, object]:
    name_banks()  # built once per process (≈ 0.4 s), not part of the rate
    t0 = time.perf_counter()
    population = generate_population(travellers, seed=seed, on=END)
    t_pop = time.perf_counter() - t0
    big = max(travellers, 1_000_000)
    t0 = time.perf_counter()
    generate_population(big, seed=seed + 1, on=END)
    t_big = time.perf_counter() - t0
    t0 = time.perf_counter()
    traffic = generate_traffic(population, days=days, end=END, seed=seed)
    t_tr = time.perf_counter() - t0
    s = traffic.summary(population)
    rows = [
        (f"population arrays, {travellers:,} travellers", f"{t_pop:.2f} s ({_rate(travellers, t_pop)}); "
         f"{big:,} in {t_big:.2f} s ({_rate(big, t_big)})", "≥ 200,000 travellers/s", "numpy, one seed"),
        (f"traffic, {days} days", f"{t_tr:.1f} s: {s['records']:,} records ({_rate(s['records'], t_tr)}), "
         f"{s['refusals']:,} refusals, {s['overstays']:,} overstays, {s['open_records']:,} inside on {END}",
         "-", f"90/180 calculator at every entry; chunks of {CHUNK:,} travellers on up to "
         f"{os.cpu_count()} processes"),
    ]
    return rows, population, traffic


def _load_row(engine_name: str, population, traffic, engine,  # type: ignore[no-untyped-def]
              fk_triggers: bool | None = None) -> Row:
    out = load(engine, population, traffic, fk_triggers=fk_triggers)
    seconds = out["seconds"]
    total = out["files"] + out["documents"] + out["records"] + out["refusals"]
    if count_rows(engine) != {k: out[k] for k in ("files", "documents", "records", "refusals")}:
        raise SystemExit(f"{engine_name}: the database does not hold what was generated")
    goal = "≥ 100,000 records/s" if engine_name == "PostgreSQL" else "-"
    how = {"sqlite": "Core insert(), executemany of 50,000 rows; foreign keys checked",
           "triggers": "COPY (text) via psycopg 3; foreign keys checked by triggers",
           "construction": "COPY (text) via psycopg 3; foreign-key triggers skipped (superuser), "
                           "keys by construction"}
    return (f"load into {engine_name}, one transaction",
            f"{seconds:.1f} s: {_rate(out['records'], seconds)} records, {_rate(total, seconds)} rows "
            f"({total:,} rows)", goal, how[str(out["foreign_keys"])])


def bench_sqlite(population, traffic) -> Row:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        try:
            return _load_row("SQLite", population, traffic, engine)
        finally:
            engine.dispose()


def bench_postgres(population, traffic,  # type: ignore[no-untyped-def]
                   fk_triggers: bool | None = None) -> Row:
    name = f"sb_bench_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no server: say so in the table
        return ("load into PostgreSQL", f"not measured: {type(exc).__name__}", "≥ 100,000 records/s",
                PG_ADMIN_URL)
    engine = make_engine(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        return _load_row("PostgreSQL", population, traffic, engine, fk_triggers)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def rows(travellers: int = 350_000, days: int = 365, seed: int = 1, postgres: bool = True) -> list[Row]:
    """The table's rows, for `python -m bench` to include."""
    out, population, traffic = bench_generation(travellers, days, seed)
    out.append(bench_sqlite(population, traffic))
    if postgres:
        out.append(bench_postgres(population, traffic))
        if "superuser" in out[-1][3]:  # also the path every role gets
            out.append(bench_postgres(population, traffic, fk_triggers=True))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ees_load")
    parser.add_argument("--travellers", type=int, default=350_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--quick", action="store_true", help="20,000 travellers, for a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.travellers = 20_000
    table = rows(args.travellers, args.days, args.seed, not args.no_postgres)
    print_table("smartborders bench: synthetic EES data", ("what", "measured", "goal", "how"), table)

if __name__ == "__main__":
    main()
