"""ETIAS automated processing under load: `python -m bench.etias --help`.

A watchlist of synthetic people (sim/population.py names, birth dates and nationalities) is loaded into
`etias_list_entry`; applications of other synthetic visa-exempt travellers are submitted one at a time
through the use case (admissibility, the application file, every Art. 20 check, the Art. 21 result), as
the public website would. Some applicants are planted on the watchlist first, their names written
another way (a typo, the order swapped, a given name dropped), to measure the screening's recall; the
others measure how many clean applications are issued at once (false hits send a file to the Central
Unit). `--url` runs against a database you filled with `smartborders generate` (the EES checks then
search a real-sized EES); by default a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from bench.table import print_table

Row = tuple[str, str, str, str]
NOW = datetime(2026, 12, 20, 10, 0, tzinfo=UTC)


def _iso(day: int) -> str:
    from smartborders.sim.population import from_day_number

    return from_day_number(int(day)).isoformat()


def _variant(given: str, surname: str, k: int, rng: np.random.Generator) -> str:
    """The planted entry's name, written another way."""
    if k % 3 == 0:  # a typo in the surname
        i = int(rng.integers(1, max(2, len(surname) - 1)))
        return f"{given} {surname[:i]}{'AEIOU'[int(rng.integers(0, 5))]}{surname[i + 1:]}"
    if k % 3 == 1:  # surname first, as the MRZ writes it
        return f"{surname} {given}"
    return f"{given.split()[0]} {surname}"  # a second given name dropped


def run(url: str | None, watchlist: int, applications: int, planted: int) -> list[Row]:
    from sqlalchemy import insert

    from smartborders.core.clock import FixedClock
    from smartborders.core.db import make_engine, unit_of_work
    from smartborders.core.migrate import upgrade
    from smartborders.ees.service import run as run_use_case
    from smartborders.etias import rules, screening, service
    from smartborders.etias import schemas as S
    from smartborders.etias.models import ListEntry
    from smartborders.sim.population import generate_population

    tmp = None
    if url is None:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(tmp.name) / 'etias.db'}"
    engine = make_engine(url)
    upgrade(engine)
    rng = np.random.default_rng(7)
    on = date(2026, 12, 20)

    # The watchlist.
    w = generate_population(watchlist, seed=4101, on=on)
    wn = [f"{g} {s}" for g, s in zip(w.given_names(), w.surnames())]
    codes = w.codes
    rows = [{"list": "watchlist", "reference": f"WL-{i}", "name": wn[i], "birth_date": _iso(w.birth[i]),
             "nationality": str(codes[i]), "supplied_by": "NL", "added_at": NOW} for i in range(watchlist)]
    # The applicants: visa-exempt nationals only.
    a = generate_population(applications * 3, seed=4202, on=on)
    acodes = a.codes
    keep = [i for i in range(len(a)) if rules.required(str(acodes[i])).required][:applications]
    given, sur = a.given_names(np.array(keep)), a.surnames(np.array(keep))
    planted_idx = set(rng.choice(len(keep), min(planted, len(keep)), replace=False).tolist())
    for k, j in enumerate(sorted(planted_idx)):
        i = keep[j]
        rows.append({"list": "watchlist", "reference": f"PLANTED-{j}", "name": _variant(given[j], sur[j], k, rng),
                     "birth_date": _iso(a.birth[i]), "nationality": str(acodes[i]), "supplied_by": "NL",
                     "added_at": NOW})
    t0 = time.perf_counter()
    with unit_of_work(engine) as s:
        for lo in range(0, len(rows), 5000):
            s.execute(insert(ListEntry), rows[lo:lo + 5000])
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    screening.warm(engine)
    warmed = time.perf_counter() - t0

    times, issued, found, false_hits = [], 0, 0, 0
    clean = 0
    t_all = time.perf_counter()
    for j, i in enumerate(keep):
        born = _iso(a.birth[i])
        adult = (on - date.fromisoformat(born)).days >= 18 * 366
        body = {
            "client_id": f"bench-{j:08d}",
            "person": {"surname": sur[j], "given_names": given[j], "birth_date": born, "birth_place": "CAPITAL",
                       "birth_country": str(acodes[i]), "sex": "MFX"[int(a.sex[i])], "nationality": str(acodes[i]),
                       "parents_first_names": ["ALEX"]},
            "document": {"number": a.document_numbers(np.array([i]))[0], "issuing_country": str(acodes[i]),
                         "issued_on": "2024-01-01", "expires_on": _iso(a.expiry[i])},
            "residence": {"city": "CAPITAL", "country": str(acodes[i])},
            "contact": {"email": f"applicant{j}@example.org"},
            "education": "secondary", "job_group": "52", "first_member_state": "NLD",
            "background": {"conviction": {"answer": False}, "conflict_zone": {"answer": False},
                           "removal": {"answer": False}},
            "declarations": {"data_true_and_complete": True, "aware_of_entry_conditions": True},
        }
        if not adult:
            body["guardian"] = {"surname": sur[j], "address": "1 Main Street", "email": f"g{j}@example.org"}
        amount, _ = rules.fee(date.fromisoformat(born), on)
        if amount > 0:
            body["payment"] = {"reference": f"PAY-{j}", "amount_eur": str(amount)}
        cmd = S.ApplicationIn.model_validate(body)
        t = time.perf_counter()
        out = run_use_case(engine, FixedClock(NOW), lambda ctx, cmd=cmd: service.submit(ctx, cmd))
        times.append(time.perf_counter() - t)
        if j in planted_idx:
            case = run_use_case(engine, FixedClock(NOW), lambda ctx, n=out.number: service.case(ctx, n),
                                readonly=True)
            found += any(h.reference == f"PLANTED-{j}" for h in case.hits)
        else:
            clean += 1
            issued += out.status == service.ISSUED
            false_hits += out.status != service.ISSUED
    wall = time.perf_counter() - t_all
    ms = np.array(times) * 1e3
    engine.dispose()
    if tmp is not None:
        tmp.cleanup()
    db = url.split(":", 1)[0]
    n = len(keep)
    return [
        (f"ETIAS automated decision, {watchlist:,} watchlist entries ({db}): one application",
         f"p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms ({n:,} applications)",
         "p95 ≤ 50 ms", "submit: admissibility, file, every Art. 20 check, Art. 21 result; one thread"),
        (f"ETIAS applications per second ({db}, one thread)", f"{n / wall:,.0f} /s", "≥ 100 /s",
         f"{n:,} in {wall:.1f} s"),
        ("ETIAS clean applications issued at once", f"{issued / max(clean, 1):.1%} ({issued:,} of {clean:,}; "
         f"{false_hits} to the Central Unit on a false hit)", "≥ 95 %", "synthetic names, birth dates, nationalities"),
        ("ETIAS screening recall on planted watchlist entries", f"{found} of {len(planted_idx)} "
         f"({found / max(len(planted_idx), 1):.0%})", "-", "typo, surname first, a given name dropped"),
        ("ETIAS lists loaded / matcher warmed", f"{len(rows):,} entries in {loaded:.1f} s; warm {warmed:.1f} s", "-",
         "name index built in memory at server start"),
    ]


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.etias")
    p.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    p.add_argument("--watchlist", type=int, default=100_000)
    p.add_argument("--applications", type=int, default=2_000)
    p.add_argument("--planted", type=int, default=100)
    a = p.parse_args()
    print_table("smartborders bench: ETIAS", ("what", "measured", "goal", "how"),
                run(a.url, a.watchlist, a.applications, a.planted))


if __name__ == "__main__":
    main()
