"""Synthetic population and traffic for the EES (and later the crossing-point capacity simulator).

- `population`: third-country nationals with names, dates of birth and passports (valid TD3 MRZs);
- `traffic`: their trips over a period, with the authorised stays the EES computes, visas, overstays
  and refusals;
- `load`: bulk loading into the EES tables on SQLite and PostgreSQL (`sim.load.load`; not re-exported
  here, where the name would hide the module);
- `generate`: all three, for `smartborders generate`.

Deterministic given a seed; the people are invented.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import Engine

from smartborders.sim.load import load as _load
from smartborders.sim.population import Population, generate_population
from smartborders.sim.traffic import Traffic, generate_traffic

__all__ = ["Population", "Traffic", "generate", "generate_population", "generate_traffic"]


def generate(engine: Engine, *, travellers: int, days: int, end: date, seed: int, progress: bool = False,
             workers: int | None = None) -> dict[str, Any]:
    """Make `travellers` synthetic travellers and their crossings over the `days` days before `end`, and
    load them into the (migrated) database in one transaction. Returns what was made and how fast.

    The data are a snapshot taken at the start of `end`: every crossing lies before it, so the service
    can take over on `end` with the wall clock (`end` = today) or a clock set to that day."""
    if travellers < 0 or days < 1:
        raise ValueError("travellers must be >= 0 and days >= 1")
    t0 = time.perf_counter()
    population = generate_population(travellers, seed=seed, on=end)
    t1 = time.perf_counter()
    with _simulating(progress, travellers) as advance:
        traffic = generate_traffic(population, days=days, end=end, seed=seed, workers=workers,
                                   progress=advance)
    t2 = time.perf_counter()
    written = _load(engine, population, traffic, progress=progress)
    t3 = time.perf_counter()
    summary = traffic.summary(population)
    rows = written["files"] + written["documents"] + written["records"] + written["refusals"]
    return {
        "seed": seed,
        "start": traffic.start.isoformat(),
        "end": end.isoformat(),
        "days": days,
        "travellers": travellers,
        "files": written["files"],
        "documents": written["documents"],
        "records": written["records"],
        "open_records": summary["open_records"],
        "overstays": summary["overstays"],
        "overstays_inside": summary["overstays_inside"],
        "refusals": written["refusals"],
        "visas": summary["visas"],
        "seconds_population": round(t1 - t0, 3),
        "seconds_traffic": round(t2 - t1, 3),
        "seconds_load": round(t3 - t2, 3),
        "rows_per_second_load": round(rows / (t3 - t2)) if t3 > t2 else None,
        "records_per_second_load": round(written["records"] / (t3 - t2)) if t3 > t2 else None,
        "database": engine.dialect.name,
        "foreign_keys": written["foreign_keys"],
    }


@contextmanager
def _simulating(show: bool, total: int) -> Iterator[Callable[[int], None] | None]:
    if not show:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn()) as bar:
        task = bar.add_task("travellers", total=total)
        yield lambda k: bar.advance(task, k)
