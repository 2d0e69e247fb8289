"""Retention purge (EES Art. 34), advance erasure (Art. 35), overstayer notice: on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from smartborders.ees import purge as P
from smartborders.ees import schemas as S
from smartborders.ees import service
from smartborders.ees.models import (
    BiometricSample,
    EntryExitRecord,
    IndividualFile,
    PurgeRun,
    RecordAmendment,
    RefusalRecord,
    TravelDocument,
)
from smartborders.ees.service import run
from smartborders.travel.retention import RecordDates, Rule, erasure_plan, file_erasure_date
from tests.ees.factory import START, Traveller, client_id, clock
from tests.specimens import b64, face_png, four_fingers

DAY = timedelta(days=1)
MODELS = {"files": IndividualFile, "records": EntryExitRecord, "refusals": RefusalRecord,
          "documents": TravelDocument, "biometrics": BiometricSample, "amendments": RecordAmendment}


def bio(person: int) -> S.BiometricsIn:
    """A face (lfw_subset person) and a right index finger (synthetic), different for each person."""
    return S.BiometricsIn(face=b64(face_png(person)), fingerprints=four_fingers(person))


def on(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=timezone.utc)


def counts(engine, c) -> dict[str, int]:
    def read(ctx):
        return {k: ctx.session.scalar(select(func.count()).select_from(m)) for k, m in MODELS.items()}
    return run(engine, c, read, readonly=True)


def file_of(engine, c, t: Traveller) -> S.FileOut | None:
    req = S.SearchRequest(document=t.document)
    return run(engine, c, lambda ctx: service.search(ctx, req), readonly=True).file


def purge(engine, c, **kw) -> S.PurgeResultOut:
    return run(engine, c, lambda ctx: P.purge(ctx, **kw))


def trip(engine, c, t: Traveller, days: int, **entry_kw) -> S.ExitResult:
    run(engine, c, lambda ctx: service.record_entry(ctx, t.entry(**entry_kw)))
    c.advance(timedelta(days=days))
    return run(engine, c, lambda ctx: service.record_exit(ctx, t.exit()))


def extend(engine, c, record_id: str, days: int) -> S.AmendmentResult:
    cmd = S.AmendmentCommand(client_id=client_id(), kind="extended", authority="NL-IND", place="AMSTERDAM",
                             decided_on=START.date(), extension_days=days)
    return run(engine, c, lambda ctx: service.amend_record(ctx, uuid.UUID(record_id), cmd))


def refuse(engine, c, t: Traveller) -> S.RefusalResult:
    cmd = S.RefusalCommand(client_id=client_id(), bcp="NL-AMS", authority="NL-KMAR", document=t.document,
                           identity=t.identity, reasons=["F"])
    return run(engine, c, lambda ctx: service.record_refusal(ctx, cmd))


def test_last_exit_3_years_and_1_day_kept_then_the_file_goes_with_everything(ees_engine):
    c, t = clock(), Traveller("USA")
    res = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=bio(1))))
    extend(ees_engine, c, res.record_id, 10)
    c.advance(10 * DAY)
    run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit()))  # exit 2026-04-20
    before = counts(ees_engine, c)
    assert before == {"files": 1, "records": 1, "refusals": 0, "documents": 1, "biometrics": 5,
                      "amendments": 1}

    c.set(on(date(2029, 4, 21)))  # 34(1) ends the record's 3 years; 34(2) keeps it with the file one day more
    kept = purge(ees_engine, c)
    assert (kept.as_of, kept.files, kept.records, kept.refusals) == (date(2029, 4, 21), 0, 0, 0)
    assert counts(ees_engine, c) == before

    c.advance(DAY)  # 2029-04-22: 3 years and 1 day after the last exit have passed
    gone = purge(ees_engine, c)
    assert (gone.files, gone.records, gone.refusals) == (1, 1, 0)
    assert gone.detail[P.FILES] == 1 and gone.detail[P.RECORDS_WITH_FILE] == 1
    assert counts(ees_engine, c) == dict.fromkeys(MODELS, 0)
    assert file_of(ees_engine, c, t) is None


def test_a_new_entry_within_3_years_keeps_the_file_and_only_the_old_record_goes(ees_engine):
    c, t = clock(), Traveller("CAN")
    trip(ees_engine, c, t, 5)  # 2026-04-10 – 2026-04-15
    c.set(on(date(2028, 4, 1)))
    trip(ees_engine, c, t, 5)  # 2028-04-01 – 2028-04-06, within 3 years of the first exit
    c.set(on(date(2029, 4, 15)))  # the first exit's 3 years end today
    assert purge(ees_engine, c).records == 0
    assert len(file_of(ees_engine, c, t).records) == 2

    c.set(on(date(2029, 4, 17)))  # past the first exit's 3 years and 1 day
    res = purge(ees_engine, c)
    assert (res.files, res.records) == (0, 1) and res.detail[P.RECORDS_34_1] == 1
    f = file_of(ees_engine, c, t)
    assert f is not None and [r.entry_date for r in f.records] == [date(2028, 4, 1)]
    assert len(f.documents) == 1

    c.set(on(date(2031, 4, 7)))  # second exit 2028-04-06: kept through 2031-04-07 with the file
    assert purge(ees_engine, c).files == 0
    c.advance(DAY)
    assert purge(ees_engine, c).files == 1 and file_of(ees_engine, c, t) is None


def test_an_overstayer_without_exit_is_kept_5_years_after_the_authorised_stay(ees_engine):
    c, t, other = clock(), Traveller("BRA"), Traveller("ARG")
    trip(ees_engine, c, t, 10)  # an earlier stay: 2026-04-10 – 2026-04-20
    c.set(on(date(2026, 6, 1)))
    entry = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    until = entry.authorised_until
    assert until == date(2026, 8, 18)  # 90 days less the 11 of the first stay
    trip(ees_engine, c, other, 3)  # someone who leaves in time
    c.set(on(until + 3 * DAY))
    assert run(ees_engine, c, lambda ctx: service.sweep_overstays(ctx)).flagged == 1

    c.set(on(date(2029, 4, 22)))  # 34(1) would take the first record, but not the open one
    res = purge(ees_engine, c)
    assert res.detail[P.RECORDS_34_1] == 1 and res.files == 0
    assert [r.entry_date for r in file_of(ees_engine, c, t).records] == [date(2026, 6, 1)]

    # 34(3): the Member States are told 3 months before the erasure (2031-08-19).
    def notice(d: date) -> list[P.ErasureNoticeOut]:
        return run(ees_engine, c, lambda ctx: P.due_for_notice(ctx, d), readonly=True)

    assert notice(date(2031, 5, 18)) == []
    listed = notice(date(2031, 5, 19))
    assert [(n.surname, n.notice_date, n.erasure_date) for n in listed] == [
        (t.identity.surname, date(2031, 5, 19), date(2031, 8, 19))]
    assert listed[0].documents[0].number == t.document.number
    assert run(ees_engine, c, lambda ctx: P.due_for_notice(ctx, date(2031, 6, 1), since=date(2031, 5, 19)),
               readonly=True) == []

    c.set(on(date(2031, 8, 18)))  # kept through add_years(2026-08-18, 5); the other traveller's file goes
    assert purge(ees_engine, c).files == 1 and file_of(ees_engine, c, other) is None
    assert file_of(ees_engine, c, t) is not None
    c.advance(DAY)
    res = purge(ees_engine, c)
    assert (res.files, res.records) == (1, 1)
    assert file_of(ees_engine, c, t) is None
    assert notice(date(2031, 8, 19)) == []


def test_an_overstayer_file_outlives_its_old_records_by_the_open_one(ees_engine):
    c, t = clock(), Traveller("MEX")
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))  # authorised until 2026-07-08
    c.set(on(date(2031, 7, 8)))
    dry = purge(ees_engine, c, dry_run=True)
    assert dry.records == 0
    c.set(on(date(2031, 7, 9)))
    res = purge(ees_engine, c)
    assert (res.files, res.records) == (1, 1)


def test_a_family_member_record_goes_1_year_after_exit(ees_engine):
    c, fam, both = clock(), Traveller("USA"), Traveller("JPN")
    trip(ees_engine, c, fam, 10, family_member=True)  # exit 2026-04-20
    trip(ees_engine, c, both, 5)  # a regular stay first: exit 2026-04-25
    c.set(on(date(2026, 6, 1)))
    trip(ees_engine, c, both, 5, family_member=True)  # then as a family member: exit 2026-06-06

    c.set(on(date(2027, 4, 20)))
    assert purge(ees_engine, c).records == 0
    c.advance(DAY)  # 2027-04-21: the family member's only record, and their file with it
    res = purge(ees_engine, c)
    assert (res.files, res.records) == (1, 1) and file_of(ees_engine, c, fam) is None

    c.set(on(date(2027, 6, 7)))  # the other one's family stay goes; the regular exit keeps the file (34(2))
    res = purge(ees_engine, c)
    assert res.detail[P.RECORDS_34_4_EXIT] == 1 and res.files == 0
    assert [r.family_member for r in file_of(ees_engine, c, both).records] == [False]
    c.set(on(date(2029, 4, 27)))
    assert purge(ees_engine, c).files == 1 and file_of(ees_engine, c, both) is None


def test_a_family_member_without_exit_is_kept_5_years_from_the_entry(ees_engine):
    c, t = clock(), Traveller("USA")
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(family_member=True)))
    c.set(on(date(2031, 4, 10)))
    assert purge(ees_engine, c).files == 0
    c.advance(DAY)
    res = purge(ees_engine, c)
    assert (res.files, res.records) == (1, 1)


def test_refusals_go_after_3_years(ees_engine):
    c, only, later = clock(), Traveller("USA"), Traveller("KOR")
    refuse(ees_engine, c, only)  # 2026-04-10
    refuse(ees_engine, c, later)
    c.set(on(date(2026, 5, 1)))
    trip(ees_engine, c, later, 5)  # admitted later: exit 2026-05-06

    c.set(on(date(2029, 4, 11)))  # 34(1): both refusals are due; the first stays with its file one day
    res = purge(ees_engine, c)
    assert (res.files, res.refusals) == (0, 1) and res.detail[P.REFUSALS_34_1] == 1
    assert file_of(ees_engine, c, later).refusals == [] and len(file_of(ees_engine, c, only).refusals) == 1
    c.advance(DAY)
    res = purge(ees_engine, c)
    assert (res.files, res.refusals) == (1, 1) and res.detail[P.REFUSALS_WITH_FILE] == 1
    assert file_of(ees_engine, c, only) is None and file_of(ees_engine, c, later) is not None


def test_a_dry_run_changes_nothing_and_counts_what_the_run_erases(ees_engine):
    c = clock()
    for t in (Traveller("USA"), Traveller("CAN")):
        trip(ees_engine, c, t, 3)
    fam = Traveller("USA")
    trip(ees_engine, c, fam, 3, family_member=True)
    refuse(ees_engine, c, Traveller("AUS"))
    c.set(on(date(2029, 5, 1)))
    before = counts(ees_engine, c)
    dry = purge(ees_engine, c, dry_run=True)
    assert counts(ees_engine, c) == before
    assert run(ees_engine, c, lambda ctx: ctx.session.scalar(select(func.count()).select_from(PurgeRun)),
               readonly=True) == 0
    real = purge(ees_engine, c)
    assert dry == real and (real.files, real.records, real.refusals) == (4, 3, 1)
    assert counts(ees_engine, c) == dict.fromkeys(MODELS, 0)


def test_running_twice_erases_nothing_the_second_time_and_both_runs_are_recorded(ees_engine):
    c = clock()
    trip(ees_engine, c, Traveller("USA"), 3)
    c.set(on(date(2029, 5, 1)))
    assert purge(ees_engine, c).files == 1
    again = purge(ees_engine, c)
    assert (again.files, again.records, again.refusals) == (0, 0, 0) and set(again.detail.values()) == {0}
    runs = run(ees_engine, c, lambda ctx: [(r.as_of, r.files, r.detail[P.FILES]) for r in
                                          ctx.session.scalars(select(PurgeRun).order_by(PurgeRun.id))],
               readonly=True)
    assert runs == [(date(2029, 5, 1), 1, 1), (date(2029, 5, 1), 0, 0)]


def test_a_day_that_has_not_begun_can_only_be_looked_at(ees_engine):
    c = clock()
    trip(ees_engine, c, Traveller("USA"), 3)
    with pytest.raises(P.FutureDay):
        purge(ees_engine, c, as_of=date(2029, 5, 1))
    assert purge(ees_engine, c, as_of=date(2029, 5, 1), dry_run=True).files == 1
    assert counts(ees_engine, c)["files"] == 1


def test_advance_erasure_removes_the_file_and_only_that_file(ees_engine):
    c, gone, stays = clock(), Traveller("USA"), Traveller("USA")
    res = run(ees_engine, c, lambda ctx: service.record_entry(ctx, gone.entry(biometrics=bio(2))))
    extend(ees_engine, c, res.record_id, 5)
    refuse(ees_engine, c, gone)
    trip(ees_engine, c, stays, 2, biometrics=bio(3))
    before = counts(ees_engine, c)

    with pytest.raises(P.UnknownErasureBasis):
        run(ees_engine, c, lambda ctx: P.erase_file(ctx, res.file_id, basis="bored"))
    with pytest.raises(service.NotFound):
        run(ees_engine, c, lambda ctx: P.erase_file(ctx, uuid.uuid4(), basis="nationality"))
    out = run(ees_engine, c, lambda ctx: P.erase_file(ctx, uuid.UUID(res.file_id), basis="residence_permit"))
    assert (out.files, out.records, out.refusals) == (1, 1, 1)
    assert out.detail == {"records": 1, "refusals": 1, "documents": 1, "biometric_samples": 5,
                          "amendments": 1, "biometric_templates": 5}
    after = counts(ees_engine, c)
    assert after == {"files": before["files"] - 1, "records": before["records"] - 1, "refusals": 0,
                     "documents": before["documents"] - 1, "biometrics": before["biometrics"] - 5,
                     "amendments": 0}
    assert file_of(ees_engine, c, gone) is None and len(file_of(ees_engine, c, stays).records) == 1


# ---- the SQL agrees with the pure rules, file by file --------------------------------------------


def _history(rng: random.Random) -> tuple[list[RecordDates], list[date]]:
    """As the use cases make them: stays do not overlap, at most the last is open; refusals between
    stays, or after an entry whose exit was never recorded (the same shape as tests/travel)."""
    cursor = date(2026, 4, 10) + timedelta(days=rng.randint(0, 2000))
    records: list[RecordDates] = []
    refusals: list[date] = []
    for _ in range(rng.randint(1, 5)):
        cursor += timedelta(days=rng.choice([0, rng.randint(0, 60), rng.randint(0, 1500)]))
        if rng.random() < 0.2:
            refusals.append(cursor)
            continue
        family = rng.random() < 0.2
        until = None if family else cursor + timedelta(days=rng.randint(-1, 89))
        if rng.random() < 0.15:
            records.append(RecordDates(cursor, None, until, family))
            refusals.extend(cursor + timedelta(days=rng.randint(0, 3000)) for _ in range(rng.randint(0, 2)))
            break
        exit_ = cursor + timedelta(days=rng.choice([rng.randint(0, 90), rng.randint(0, 2000)]))
        records.append(RecordDates(cursor, exit_, until, family))
        cursor = exit_
    if not records and not refusals:
        refusals.append(cursor)
    return records, sorted(refusals)


def _insert(session, rng: random.Random, n: int):
    """Rows written directly, with a document, a face and an amendment where the use cases would have them."""
    files = {}
    for i in range(n):
        records, refusals = _history(rng)
        first = min([r.entry_date for r in records] + refusals)
        at = on(first)
        f = IndividualFile(id=uuid.uuid4(), surname=f"PURGE{i}", birth_date=date(1980, 1, 1), sex="X",
                           nationality="USA", visa_required=False, fingerprint_status="missing",
                           face_status="present", created_at=at, created_by="TEST", updated_at=at)
        doc = TravelDocument(id=uuid.uuid4(), document_type="P", number=f"PG{i:07d}{rng.randint(0, 99):02d}",
                             issuing_state="USA", first_used_at=at)
        f.documents.append(doc)
        f.biometrics.append(BiometricSample(kind="face", data=b"x", source="live", captured_at=at))
        rec_ids, ref_ids = [], []
        for r in records:
            rec = EntryExitRecord(
                id=uuid.uuid4(), entry_client_id=client_id(), entry_at=on(r.entry_date),
                entry_date=r.entry_date, entry_bcp="NL-AMS", entry_authority="TEST", document=doc,
                family_member=r.family_member, authorised_until=r.authorised_until,
                exit_client_id=client_id() if r.exit_date else None,
                exit_at=on(r.exit_date) if r.exit_date else None, exit_date=r.exit_date,
                exit_bcp="NL-AMS" if r.exit_date else None,
            )
            if rng.random() < 0.3:
                rec.amendments.append(RecordAmendment(client_id=client_id(), kind="extended", authority="T",
                                                      place="P", decided_on=r.entry_date, extension_days=1,
                                                      created_at=at))
            f.records.append(rec)
            rec_ids.append(rec.id)
        for d in refusals:
            x = RefusalRecord(id=uuid.uuid4(), client_id=client_id(), refused_at=on(d), refusal_date=d,
                              bcp="NL-AMS", authority="TEST", reasons="F")
            f.refusals.append(x)
            ref_ids.append(x.id)
        session.add(f)
        files[f.id] = (list(zip(rec_ids, records)), list(zip(ref_ids, refusals)))
    session.flush()
    return files


def _detail_of(plan_rules: list[Rule | None], file: bool, n_rec: int) -> dict[str, int]:
    out: dict[str, int] = {}
    if file:
        return {P.FILES: 1}
    keys = {Rule.EXIT: P.RECORDS_34_1, Rule.OVERSTAY: P.RECORDS_34_3, Rule.FAMILY_EXIT: P.RECORDS_34_4_EXIT,
            Rule.FAMILY_NO_EXIT: P.RECORDS_34_4_NO_EXIT}
    for i, rule in enumerate(plan_rules):
        if rule is not None:
            k = keys[rule] if i < n_rec else P.REFUSALS_34_1
            out[k] = out.get(k, 0) + 1
    return out


def test_the_purge_erases_exactly_what_the_rules_say_on_any_day(ees_engine):
    rng = random.Random(20260410)
    c = clock(on(date(2050, 1, 1)))
    files = run(ees_engine, c, lambda ctx: _insert(ctx.session, rng, 150))
    days = {date(2027, 1, 1) + timedelta(days=rng.randint(0, 7000)) for _ in range(9)}
    for recs, refs in rng.sample(list(files.values()), 8):  # the day before a file goes, and the day itself
        f = file_erasure_date([r for _, r in recs], [d for _, d in refs])
        days |= {f - DAY, f}
    days = sorted(d for d in days if d <= date(2049, 12, 31))
    state = dict(files)
    for day in days:
        expected: dict[str, int] = {}
        survivors = {}
        for fid, (recs, refs) in state.items():
            plan = erasure_plan([r for _, r in recs], [d for _, d in refs], day)
            for k, v in _detail_of(list(plan.records + plan.refusals), plan.file, len(recs)).items():
                expected[k] = expected.get(k, 0) + v
            if plan.file:
                expected[P.RECORDS_WITH_FILE] = expected.get(P.RECORDS_WITH_FILE, 0) + len(recs)
                expected[P.REFUSALS_WITH_FILE] = expected.get(P.REFUSALS_WITH_FILE, 0) + len(refs)
                continue
            survivors[fid] = ([x for x, rule in zip(recs, plan.records) if rule is None],
                              [x for x, rule in zip(refs, plan.refusals) if rule is None])
        dry = purge(ees_engine, c, as_of=day, dry_run=True)
        res = purge(ees_engine, c, as_of=day)
        assert dry == res
        assert {k: v for k, v in res.detail.items() if v} == {k: v for k, v in expected.items() if v}, day
        state = survivors

        def read(ctx):
            return (set(ctx.session.scalars(select(IndividualFile.id))),
                    set(ctx.session.scalars(select(EntryExitRecord.id))),
                    set(ctx.session.scalars(select(RefusalRecord.id))),
                    set(ctx.session.scalars(select(TravelDocument.file_id))))
        file_ids, rec_ids, ref_ids, doc_files = run(ees_engine, c, read, readonly=True)
        assert file_ids == set(state) == doc_files, day
        assert rec_ids == {i for recs, _ in state.values() for i, _ in recs}, day
        assert ref_ids == {i for _, refs in state.values() for i, _ in refs}, day
        assert all(recs or refs for recs, refs in state.values())  # no file is left holding nothing
