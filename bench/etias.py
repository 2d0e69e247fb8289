"""ETIAS automated processing under load: `python -m bench.etias --help`.

A watchlist of synthetic people (sim/population.py names, birth dates and nationalities) is loaded into
`etias_list_entry`; applications of other synthetic visa-exempt travellers are submitted one at a time
through the use case (admissibility, the application file, every Art. 20 check, the Art. 21 result), as
the public website would. Some applicants are planted on the watchlist first, their names written
another way (a typo, the order swapped, a given name dropped), to measure the screening's recall and
precision; some are planted in the EES as overstayers (Art. 20(2)(g)), and must be hits too; the others
measure how many clean applications are issued at once (false hits send a file to the Central Unit).

The EES holds `--ees-files` individual files (1,000,000 for the issue's figures), each with its travel
document and one closed stay: another population than the applicants (other passports), so the
document search of Art. 20(2)(g)-(h) runs on a real-sized index. Half the clean applicants have
travelled before (a file of their own, a stay without overstay: found, not a hit). On SQLite the files
are loaded once into a template database in `bench/.cache` (per size and schema revision) that each
run copies; `--postgres` builds a fresh PostgreSQL database instead (COPY) and drops it afterwards.
`--url` runs against a database you filled with `smartborders generate` (its EES as it is).

`--workers N` submits from N processes at once, each with its own warm name index (forked after the
warm-up), on the same database: what `smartborders serve --workers N` does on PostgreSQL. On SQLite a
submission holds the write lock from its first statement to its commit (BEGIN IMMEDIATE), screening
included, so a second process mostly waits (measured: 5-15 % more applications a second, not twice).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench.table import print_table

Row = tuple[str, str, str, str]
NOW = datetime(2026, 12, 20, 10, 0, tzinfo=UTC)
ON = NOW.date()
CACHE = Path(__file__).parent / ".cache"
EES_SEED = 4303  # the EES population: passports of another series than the applicants' (4202)
BATCH = 50_000
RETURNING = 0.5  # share of clean applicants with an EES file of their own
EPOCH = date(1970, 1, 1)


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


# ---- the EES ---------------------------------------------------------------------------------------


def _day(d: date) -> int:
    return (d - EPOCH).days


def _ees_rows(p: Any, idx: np.ndarray, rng: np.random.Generator, *, overstay: bool = False
              ) -> tuple[list[dict], list[dict], list[dict]]:
    """Files, travel documents and one closed stay each for travellers `idx` of population `p`, as
    the EES service would have written them (without biometrics). An overstayer stayed 3-60 days past
    the authorised stay and the exit recorded the overstay (Art. 12(1), 16(4))."""
    from smartborders.reference.bcps import crossing_points
    from smartborders.sim.load import uuid_hex
    from smartborders.sim.population import SEX_CODES
    from smartborders.sim.traffic import AUTHORITIES

    n = int(idx.size)
    if overstay:
        entry_day = rng.integers(_day(date(2026, 1, 5)), _day(date(2026, 6, 1)), n)
        exit_day_min = entry_day + 89 + rng.integers(3, 61, n)
    else:
        entry_day = rng.integers(_day(date(2024, 1, 1)), _day(date(2026, 11, 20)), n)
        exit_day_min = entry_day + rng.integers(0, 21, n)
    entry_s = entry_day * 86_400 + rng.integers(6 * 3600, 20 * 3600, n)
    exit_s = np.maximum(exit_day_min * 86_400 + rng.integers(6 * 3600, 22 * 3600, n), entry_s + 1800)
    bcps = list(crossing_points().values())
    entry_bcp, exit_bcp = rng.integers(0, len(bcps), n), rng.integers(0, len(bcps), n)
    authority = [AUTHORITIES.get(b.state, f"{b.state}-BORDER") for b in bcps]
    file_id, doc_id, rec_id = (uuid_hex(rng, n) for _ in range(3))
    codes = p.codes[idx].tolist()
    visa = p.visa_required[idx].tolist()
    birth = p.birth[idx]
    child = ((entry_day - birth) < 12 * 365.25).tolist()
    surnames, given = p.surnames(idx).tolist(), p.given_names(idx).tolist()
    numbers = p.document_numbers(idx)
    sex = [SEX_CODES[s] for s in p.sex[idx].tolist()]
    births = [EPOCH + timedelta(days=int(d)) for d in birth.tolist()]
    expiry = [EPOCH + timedelta(days=int(d)) for d in p.expiry[idx].tolist()]
    entry_at = [datetime.fromtimestamp(int(s), UTC) for s in entry_s.tolist()]
    exit_at = [datetime.fromtimestamp(int(s), UTC) for s in exit_s.tolist()]
    files, documents, records = [], [], []
    for k in range(n):
        fid, did, rid = uuid.UUID(file_id[k]), uuid.UUID(doc_id[k]), uuid.UUID(rec_id[k])
        eb, xb = bcps[entry_bcp[k]], bcps[exit_bcp[k]]
        fp = "vis" if visa[k] else ("not_applicable" if child[k] else "missing")
        files.append({
            "id": fid, "surname": surnames[k], "given_names": given[k], "birth_date": births[k], "sex": sex[k],
            "nationality": codes[k], "other_nationalities": "", "visa_required": visa[k], "nfp": False,
            "fingerprint_status": fp, "fingerprint_exemption": "under_12" if fp == "not_applicable" else None,
            "face_status": "missing", "created_at": entry_at[k], "created_by": authority[entry_bcp[k]],
            "updated_at": exit_at[k]})
        documents.append({"id": did, "file_id": fid, "document_type": "P", "number": numbers[k],
                          "issuing_state": codes[k], "expiry_date": expiry[k], "first_used_at": entry_at[k]})
        entered = entry_at[k].date()
        records.append({
            "id": rid, "file_id": fid, "entry_client_id": f"bench.{rid.hex}.in", "entry_at": entry_at[k],
            "entry_date": entered, "entry_bcp": eb.code, "entry_authority": authority[entry_bcp[k]],
            "entry_from_stamp": False, "document_id": did, "family_member": False, "visa_sticker": None,
            "visa_issuing_state": None, "visa_type": None, "visa_entries": None, "visa_duration_days": None,
            "visa_valid_from": None, "visa_valid_until": None, "visa_ltv_states": None, "max_stay_days": 90,
            "authorised_until": entered + timedelta(days=89), "exit_client_id": f"bench.{rid.hex}.out",
            "exit_at": exit_at[k], "exit_date": exit_at[k].date(), "exit_bcp": xb.code,
            "exit_authority": authority[exit_bcp[k]], "overstay": overstay,
            "overstay_flagged_at": exit_at[k] if overstay else None, "fallback": False, "mode": "no_biometrics"})
    return files, documents, records


def _write(conn: Any, tables: tuple[Any, Any, Any], rows: tuple[list[dict], ...]) -> None:
    """Core executemany on SQLite (the driver's executemany, in batches); COPY on PostgreSQL."""
    for table, batch in zip(tables, rows):
        if not batch:
            continue
        missing = {c.name for c in table.columns} - set(batch[0])
        if missing:
            raise SystemExit(f"bench/etias.py: {table.name} has new columns {sorted(missing)}: give them values")
        if conn.dialect.name == "postgresql":
            cols = list(batch[0])
            with conn.connection.driver_connection.cursor() as cur, cur.copy(
                    f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                for r in batch:
                    copy.write_row([r[c] for c in cols])
        else:
            from sqlalchemy import insert

            conn.execute(insert(table), batch)


def _ees_tables() -> tuple[Any, Any, Any]:
    from smartborders.ees.models import EntryExitRecord, IndividualFile, TravelDocument

    return IndividualFile.__table__, TravelDocument.__table__, EntryExitRecord.__table__


def load_ees(engine: Any, n: int) -> float:
    """`n` EES files of population EES_SEED, in batches. Returns the seconds taken."""
    from smartborders.sim.population import generate_population

    t0 = time.perf_counter()
    p = generate_population(n, seed=EES_SEED, on=ON)
    rng = np.random.default_rng([EES_SEED, 1])
    tables = _ees_tables()
    with engine.begin() as conn:
        for lo in range(0, n, BATCH):
            _write(conn, tables, _ees_rows(p, np.arange(lo, min(n, lo + BATCH)), rng))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return time.perf_counter() - t0


def _sqlite_template(n: int) -> tuple[Path, str]:
    """A migrated SQLite database with `n` EES files, built once per size and schema revision."""
    from sqlalchemy import create_engine, event

    from smartborders.core.db import make_engine
    from smartborders.core.migrate import head_revision, upgrade

    path = CACHE / f"etias-ees-{n}-{head_revision()}.db"
    if path.exists():
        return path, "cached in bench/.cache"
    CACHE.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{tmp}")
    upgrade(engine)
    engine.dispose()
    # A cache: no journal and no fsync while it is built (a crash leaves only the .tmp file).
    bulk = create_engine(f"sqlite:///{tmp}")
    event.listen(bulk, "connect", lambda c, _: (c.execute("PRAGMA journal_mode=OFF"),
                                                 c.execute("PRAGMA synchronous=OFF"),
                                                 c.execute("PRAGMA cache_size=-262144")))
    seconds = load_ees(bulk, n)
    with bulk.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    bulk.dispose()
    os.replace(tmp, path)
    for old in CACHE.glob(f"etias-ees-{n}-*.db"):  # templates of earlier schema revisions
        if old != path:
            old.unlink()
    return path, f"built in {seconds:.0f} s, cached in bench/.cache"


# ---- the run ---------------------------------------------------------------------------------------


def _submit(url: str, bodies: list[tuple[int, dict]], ready: Any = None) -> list[tuple[int, float, str, str]]:
    """Submit `bodies` one after the other: (j, seconds, number, status) for each."""
    from smartborders.core.clock import FixedClock
    from smartborders.core.db import make_engine
    from smartborders.ees.service import run as run_use_case
    from smartborders.etias import schemas as S
    from smartborders.etias import service

    engine = make_engine(url)
    with engine.connect():
        pass
    if ready is not None:
        ready.wait()
    done = []
    for j, body in bodies:
        t = time.perf_counter()
        cmd = S.ApplicationIn.model_validate(body)
        res = run_use_case(engine, FixedClock(NOW), lambda ctx, cmd=cmd: service.submit(ctx, cmd))
        done.append((j, time.perf_counter() - t, res.number, res.status))
    engine.dispose()
    return done


def _worker(url: str, bodies: list[tuple[int, dict]], barrier: Any, out: Any) -> None:
    out.send(_submit(url, bodies, barrier))
    out.close()


def _submit_all(url: str, bodies: list[tuple[int, dict]], workers: int) -> tuple[list[tuple], float]:
    """Every body submitted by this process, or by `workers` forked ones (each keeps the warm name
    index), all on the same database."""
    if workers == 1:
        t0 = time.perf_counter()
        done = _submit(url, bodies)
        return done, time.perf_counter() - t0
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(workers + 1)
    pipes, procs = [], []
    for w in range(workers):
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker, args=(url, bodies[w::workers], barrier, send))
        proc.start()
        pipes.append(recv)
        procs.append(proc)
    barrier.wait()
    t0 = time.perf_counter()
    done = [r for p in pipes for r in p.recv()]
    wall = time.perf_counter() - t0
    for proc in procs:
        proc.join()
        if proc.exitcode:
            raise SystemExit(f"a worker failed (exit {proc.exitcode})")
    return done, wall


def _fresh_postgres(admin_url: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"sb_bench_etias_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def run(url: str | None, watchlist: int, applications: int, planted: int, *, ees_files: int = 0,
        overstayers: int = 20, workers: int = 1, postgres: str | None = None) -> list[Row]:
    from sqlalchemy import delete, insert, select

    from smartborders.core.db import make_engine, unit_of_work
    from smartborders.core.migrate import upgrade
    from smartborders.etias import rules, screening, service
    from smartborders.etias.models import Application, Hit, ListEntry
    from smartborders.sim.population import generate_population

    tmp, drop, ees_how = None, None, "none"
    if url is None and postgres:
        url, drop = _fresh_postgres(postgres)
    elif url is None:
        tmp = tempfile.TemporaryDirectory()
    try:
        if tmp is not None:
            path = Path(tmp.name) / "etias.db"
            if ees_files:
                template, how = _sqlite_template(ees_files)
                t0 = time.perf_counter()
                shutil.copyfile(template, path)
                ees_how = f"{ees_files:,} files ({how}; copied in {time.perf_counter() - t0:.0f} s)"
            url = f"sqlite:///{path}"
        engine = make_engine(url)
        upgrade(engine)
        if drop is not None and ees_files:
            ees_how = f"{ees_files:,} files (COPY in {load_ees(engine, ees_files):.0f} s)"
        elif drop is None and tmp is None:
            ees_how = "as found in the database"
        rng = np.random.default_rng(7)  # the planted entries and their spellings (as in every earlier run)

        # The watchlist.
        w = generate_population(watchlist, seed=4101, on=ON)
        wn = [f"{g} {s}" for g, s in zip(w.given_names(), w.surnames())]
        codes = w.codes
        tag = uuid.uuid4().hex[:6] if tmp is None and drop is None else ""  # a reused database: fresh references
        rows = [{"list": "watchlist", "reference": f"WL-{tag}{i}", "name": wn[i], "birth_date": _iso(w.birth[i]),
                 "nationality": str(codes[i]), "supplied_by": "NL", "added_at": NOW} for i in range(watchlist)]
        # The applicants: visa-exempt nationals only.
        a = generate_population(applications * 3, seed=4202, on=ON)
        acodes = a.codes
        keep = [i for i in range(len(a)) if rules.required(str(acodes[i])).required][:applications]
        n = len(keep)
        given, sur = a.given_names(np.array(keep)), a.surnames(np.array(keep))
        planted_idx = set(rng.choice(n, min(planted, n), replace=False).tolist())
        ees_rng = np.random.default_rng(8)
        others = ees_rng.permutation(np.array(sorted(set(range(n)) - planted_idx), dtype=np.int64))
        overstay_idx = set(others[:min(overstayers, others.size)].tolist())
        rest = others[len(overstay_idx):]
        returning_idx = set(rest[:int(rest.size * RETURNING)].tolist())
        for k, j in enumerate(sorted(planted_idx)):
            i = keep[j]
            rows.append({"list": "watchlist", "reference": f"PLANTED-{tag}{j}",
                         "name": _variant(given[j], sur[j], k, rng), "birth_date": _iso(a.birth[i]),
                         "nationality": str(acodes[i]), "supplied_by": "NL", "added_at": NOW})
        t0 = time.perf_counter()
        with unit_of_work(engine) as s:
            for lo in range(0, len(rows), 5000):
                s.execute(insert(ListEntry), rows[lo:lo + 5000])
        if engine.dialect.name == "postgresql":  # what autovacuum does after such a load
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE etias_list_entry")
                conn.commit()
        loaded = time.perf_counter() - t0
        # The applicants' own EES files: overstayers, and clean stays of those who travelled before.
        if tag == "":
            with engine.begin() as conn:
                for which, over in ((overstay_idx, True), (returning_idx, False)):
                    if which:
                        _write(conn, _ees_tables(), _ees_rows(a, np.array([keep[j] for j in sorted(which)]),
                                                              ees_rng, overstay=over))
        else:
            overstay_idx, returning_idx = set(), set()  # the documents may be there already
        t0 = time.perf_counter()
        screening.warm(engine)
        warmed = time.perf_counter() - t0

        bodies = []
        for j, i in enumerate(keep):
            born = _iso(a.birth[i])
            adult = (ON - date.fromisoformat(born)).days >= 18 * 366
            body: dict[str, Any] = {
                "client_id": f"bench-{tag}{j:08d}",
                "person": {"surname": sur[j], "given_names": given[j], "birth_date": born, "birth_place": "CAPITAL",
                           "birth_country": str(acodes[i]), "sex": "MFX"[int(a.sex[i])],
                           "nationality": str(acodes[i]), "parents_first_names": ["ALEX"]},
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
            amount, _ = rules.fee(date.fromisoformat(born), ON)
            if amount > 0:
                body["payment"] = {"reference": f"PAY-{tag}{j}", "amount_eur": str(amount)}
            bodies.append((j, body))
        engine.dispose()  # the workers are forked: no connection crosses
        done, wall = _submit_all(url, bodies, workers)

        # What the screening found, read back after the timed run.
        by_client = {f"bench-{tag}{j:08d}": j for j in range(n)}
        status = {j: st for j, _, _, st in done}
        hits: dict[int, list[tuple[str, str]]] = {j: [] for j in range(n)}
        with unit_of_work(engine, readonly=True) as s:
            for client_id, article, reference in s.execute(
                    select(Application.client_id, Hit.article, Hit.reference).join(
                        Hit, Hit.application_id == Application.id).where(Application.client_id.like(f"bench-{tag}%"))):
                if client_id in by_client:
                    hits[by_client[client_id]].append((article, reference))
        ees_files_held = _count_files(engine)
        if tag:  # a reused database: take the bench's list entries out again (hits name them as text)
            with unit_of_work(engine) as s:
                s.execute(delete(ListEntry).where(ListEntry.reference.like(f"WL-{tag}%")
                                                  | ListEntry.reference.like(f"PLANTED-{tag}%")))
        engine.dispose()
    finally:
        if tmp is not None:
            tmp.cleanup()
        if drop is not None:
            drop()

    name_articles = {"20(4)", "20(2)(c)", "20(2)(d)"}
    found = sum(any(r == f"PLANTED-{tag}{j}" for _, r in hits[j]) for j in planted_idx)
    name_hits = [(j, r) for j in range(n) for art, r in hits[j] if art in name_articles]
    true_hits = sum(1 for j, r in name_hits if r == f"PLANTED-{tag}{j}")
    overstay_found = sum(any(art == "20(2)(g)" for art, _ in hits[j]) for j in overstay_idx)
    clean = [j for j in range(n) if j not in planted_idx and j not in overstay_idx]
    issued = sum(status[j] == service.ISSUED for j in clean)
    issued_returning = sum(status[j] == service.ISSUED for j in clean if j in returning_idx)
    false_hit_apps = sum(1 for j in clean if status[j] != service.ISSUED)
    ms = np.array([t for _, t, _, _ in done]) * 1e3
    held = sum(status[j] != service.ISSUED for j in range(n))
    db = url.split(":", 1)[0].split("+")[0]
    procs = "one process" if workers == 1 else f"{workers} processes"
    return [
        (f"ETIAS automated decision, {watchlist:,} watchlist entries, {ees_files_held} ({db}, {procs})",
         f"p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms ({n:,} applications)",
         "p95 ≤ 50 ms", "submit: validation, admissibility, file, every Art. 20 check, Art. 21 result"),
        (f"ETIAS applications per second ({db}, {procs})", f"{n / wall:,.0f} /s", "≥ 100 /s",
         f"{n:,} in {wall:.1f} s, back to back" + (f" from {workers} forked workers" if workers > 1 else "")),
        ("ETIAS clean applications issued at once", (f"{issued / max(len(clean), 1):.1%} ({issued:,} of {len(clean):,}; "
         f"{false_hit_apps} to the Central Unit on a false hit)"), "≥ 95 %",
         f"{issued_returning:,} of {len([j for j in clean if j in returning_idx]):,} with an EES file of their own"),
        ("ETIAS screening recall on planted watchlist entries", (f"{found} of {len(planted_idx)} "
         f"({found / max(len(planted_idx), 1):.0%})"), "-", "typo, surname first, a given name dropped"),
        ("ETIAS screening precision (name hits on the planted entry)",
         f"{true_hits} of {len(name_hits)} ({true_hits / max(len(name_hits), 1):.0%})", "-",
         "every name hit of every application that is not its own planted entry counts as false"),
        ("ETIAS share sent on for a person to check (not issued at once)",
         f"{held / n:.1%} ({held:,} of {n:,})", "-",
         (f"all planted ({len(planted_idx) + len(overstay_idx)} of {n:,}); the Central Unit "
          "then sends on to manual processing what it cannot discard")),
        ("ETIAS EES overstayers found (Art. 20(2)(g))", f"{overstay_found} of {len(overstay_idx)}", "all",
         "planted EES files with a recorded overstay"),
        ("ETIAS lists loaded / matcher warmed", f"{len(rows):,} entries in {loaded:.1f} s; warm {warmed:.1f} s", "-",
         f"name index built in memory at server start; EES: {ees_how}"),
    ]


def _count_files(engine: Any) -> str:
    from sqlalchemy import func, select

    from smartborders.core.db import unit_of_work
    from smartborders.ees.models import IndividualFile

    with unit_of_work(engine, readonly=True) as s:
        return f"{s.scalar(select(func.count()).select_from(IndividualFile)):,} EES files"


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.etias")
    p.add_argument("--url", default=None, help="an existing database (filled with `smartborders generate`); "
                   "default: a fresh SQLite file")
    p.add_argument("--postgres", nargs="?", const=os.environ.get(
        "SMARTBORDERS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"), default=None,
        metavar="ADMIN_URL", help="a fresh PostgreSQL database on this server, dropped afterwards")
    p.add_argument("--watchlist", type=int, default=100_000)
    p.add_argument("--applications", type=int, default=2_000)
    p.add_argument("--planted", type=int, default=100, help="applicants planted on the watchlist")
    p.add_argument("--overstayers", type=int, default=20, help="applicants planted in the EES as overstayers")
    p.add_argument("--ees-files", type=int, default=1_000_000, help="EES files in a fresh database")
    p.add_argument("--workers", type=int, default=1, help="submitting processes, each with its own name index")
    a = p.parse_args()
    print_table("smartborders bench: ETIAS", ("what", "measured", "goal", "how"),
                run(a.url, a.watchlist, a.applications, a.planted, ees_files=a.ees_files, overstayers=a.overstayers,
                    workers=a.workers, postgres=a.postgres))


if __name__ == "__main__":
    main()
