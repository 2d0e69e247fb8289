"""Loading generated data into the EES tables on SQLite and PostgreSQL; the service takes over after."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import func, select, text

from smartborders.core.clock import FixedClock
from smartborders.ees import schemas as S
from smartborders.ees import service
from smartborders.ees.models import EntryExitRecord
from smartborders.ees.service import run
from smartborders.sim import generate, generate_population, generate_traffic
from smartborders.sim.load import count_rows, load
from smartborders.sim.population import from_day_number
from smartborders.sim.traffic import NONE
from smartborders.travel.stay import Mode, assess
from tests.ees.factory import Traveller, client_id

END = date(2026, 11, 29)


def _world(n: int = 300, days: int = 240, seed: int = 21):
    p = generate_population(n, seed=seed, on=END)
    return p, generate_traffic(p, days=days, end=END)


def _clock() -> FixedClock:
    return FixedClock(datetime.combine(END, time(12), tzinfo=timezone.utc))


def test_load_writes_what_was_generated_and_the_service_reads_it(ees_engine):
    p, tr = _world()
    written = load(ees_engine, p, tr)
    assert count_rows(ees_engine) == {"files": len(p), "documents": len(p), "records": tr.records,
                                      "refusals": tr.refusals}
    assert written["records"] == tr.records
    c = _clock()
    for t in (0, 1, 2, 150, 299):
        found = run(ees_engine, c, lambda ctx: service.search(ctx, S.SearchRequest(document=p.document(t))),
                    readonly=True)
        assert found.found and found.matched_by == "document"
        f, ident = found.file, p.identity(t)
        assert (f.surname, f.given_names, f.birth_date, f.sex, f.nationality) == (
            ident.surname, ident.given_names, ident.birth_date, ident.sex, ident.nationality)
        assert f.documents[0].number == p.document(t).number
        rows = np.flatnonzero(tr.traveller == t)
        assert [r.entry_date for r in f.records] == [from_day_number(d) for d in tr.entry_day[rows]]
        assert [r.authorised_until for r in f.records] == [
            None if u == NONE else from_day_number(u) for u in tr.authorised_until[rows]]
        assert [r.overstay for r in f.records] == tr.overstay[rows].tolist()
        assert [int(r.entry_at.timestamp()) for r in f.records] == tr.entry_at[rows].tolist()
        assert len(f.refusals) == int((tr.refusal_traveller == t).sum())
        by_identity = run(ees_engine, c, lambda ctx: service.search(ctx, S.SearchRequest(identity=ident)),
                          readonly=True)
        assert by_identity.found and by_identity.file.id == f.id
    with ees_engine.connect() as conn:  # Art. 12: at most one open record per file, as the index demands
        most = conn.scalar(select(func.count()).select_from(EntryExitRecord)
                           .where(EntryExitRecord.exit_at.is_(None)).group_by(EntryExitRecord.file_id)
                           .order_by(func.count().desc()).limit(1))
        assert most == 1


def test_the_service_takes_over_generated_travellers(ees_engine):
    p, tr = _world()
    load(ees_engine, p, tr)
    c = _clock()
    # The sweep on the snapshot day finds nothing new: the generated flags are what it would have set.
    assert run(ees_engine, c, lambda ctx: service.sweep_overstays(ctx, full=True)).flagged == 0
    listed = run(ees_engine, c, lambda ctx: service.overstayers(ctx, limit=10_000), readonly=True)
    assert len(listed) == int((tr.overstay & tr.open).sum())

    # An exit closes a generated open record; an overstay is reported as the record said.
    t = int(tr.traveller[np.flatnonzero(tr.open & ~tr.family_member)[0]])
    r = np.flatnonzero((tr.traveller == t) & tr.open)[0]
    out = run(ees_engine, c, lambda ctx: service.record_exit(ctx, S.ExitCommand(
        client_id=client_id(), bcp="NL-AMS", authority="NL-KMAR", document=p.document(t))))
    assert out.entry_date == from_day_number(tr.entry_day[r])
    assert out.overstay == (from_day_number(tr.authorised_until[r]) < END)

    # A new entry of a generated visa-exempt traveller: the authorised stay counts the generated stays.
    outside = [int(t) for t in np.unique(tr.traveller) if not p.visa_required[t]
               and not tr.open[tr.traveller == t].any() and not tr.family_member[tr.traveller == t].any()]
    t = outside[0]
    expected = assess(tr.stays_of(t), END, Mode.PLAN)
    res = run(ees_engine, c, lambda ctx: service.record_entry(ctx, S.EntryCommand(
        client_id=client_id(), bcp="FR-CDG", authority="FR-PAF", document=p.document(t))))
    assert not res.file_created
    assert (res.max_stay_days, res.authorised_until) == (expected.max_stay_days, expected.latest_exit)
    again = run(ees_engine, c, lambda ctx: service.border_check(ctx, S.BorderCheckRequest(
        direction="entry", bcp="FR-CDG", document=p.document(t))), readonly=True)
    assert any(f.code == "already-inside" for f in again.findings)


def test_generated_values_are_stored_as_the_service_stores_its_own(ees_engine):
    p, tr = _world(50, 60)
    load(ees_engine, p, tr)
    c, mine = _clock(), Traveller("USA")
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, mine.entry(at=c.now() - timedelta(hours=1))))
    with ees_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, file_id, entry_at, entry_date, authorised_until, overstay, entry_client_id "
            "FROM ees_entry_exit_record ORDER BY entry_client_id")).all()
        kinds = {tuple(type(v).__name__ for v in row) for row in rows}
        assert len(kinds) == 1, kinds  # same Python types from the driver for both kinds of rows
        if ees_engine.dialect.name == "sqlite":
            for row in rows:
                assert re.fullmatch(r"[0-9a-f]{32}", row.id) and re.fullmatch(r"[0-9a-f]{32}", row.file_id)
                assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", row.entry_at)
                assert re.fullmatch(r"\d{4}-\d\d-\d\d", row.entry_date) and row.overstay in (0, 1)
        ids = [uuid.UUID(str(row.id)) for row in rows]
        assert all(i.version == 4 for i in ids)


def test_foreign_keys_are_checked_by_triggers_or_hold_by_construction(ees_engine):
    p, tr = _world(60, 60)
    out = load(ees_engine, p, tr, fk_triggers=True)
    if ees_engine.dialect.name == "sqlite":
        assert out["foreign_keys"] == "sqlite"
    else:
        assert out["foreign_keys"] == "triggers"
        p2, tr2 = _world(60, 60, seed=22)
        assert load(ees_engine, p2, tr2)["foreign_keys"] == "construction"  # the test role is a superuser
        with ees_engine.connect() as conn:  # the setting lasted one transaction
            assert conn.exec_driver_sql("SHOW session_replication_role").scalar() == "origin"
            orphans = conn.exec_driver_sql(
                "SELECT count(*) FROM ees_entry_exit_record r "
                "LEFT JOIN ees_individual_file f ON f.id = r.file_id "
                "LEFT JOIN ees_travel_document d ON d.id = r.document_id "
                "WHERE f.id IS NULL OR d.id IS NULL").scalar()
            assert orphans == 0
    more = 0 if ees_engine.dialect.name == "sqlite" else tr2.records
    assert count_rows(ees_engine)["records"] == tr.records + more


def test_a_second_load_of_the_same_population_fails_and_leaves_the_first(ees_engine):
    p, tr = _world(40, 60)
    load(ees_engine, p, tr)
    before = count_rows(ees_engine)
    with pytest.raises(Exception):
        load(ees_engine, p, tr)
    assert count_rows(ees_engine) == before


def test_generate_returns_the_counts_in_the_database(ees_engine):
    out = generate(ees_engine, travellers=200, days=90, end=END, seed=3, progress=False)
    db = count_rows(ees_engine)
    assert (out["files"], out["documents"], out["records"], out["refusals"]) == (
        db["files"], db["documents"], db["records"], db["refusals"])
    assert out["files"] == 200 and out["start"] == (END - timedelta(days=90)).isoformat()


@pytest.mark.parametrize("twice", [False, True], ids=["into-empty", "into-loaded"])
def test_the_schema_is_whole_after_a_load(ees_engine, twice):
    """Into empty tables the loader rebuilds the indexes after COPY: none may go missing."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import smartborders.interop.models  # noqa: F401  (all tables in the metadata)
    from smartborders.core.db import Base

    generate(ees_engine, travellers=50, days=30, end=date(2026, 11, 29), seed=3)
    if twice:
        generate(ees_engine, travellers=50, days=30, end=date(2026, 11, 29), seed=4)
    with ees_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
