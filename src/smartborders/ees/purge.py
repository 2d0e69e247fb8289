"""EES Art. 34-35 use cases: the retention purge, advance erasure of a file, and the overstayer notice.

The law lives in `travel.retention`; this module only turns its cut-off dates (`Cutoffs`) into
set-based SQL: each paragraph of Art. 34 is one DELETE whose WHERE is a range on a date column
(indexed, except a family member's exit: see `_due_files`), and the per-file conditions (the file's
last exit or refusal, an open record that keeps it) are correlated EXISTS on the file's own rows,
reached through the file_id indexes. Nothing is loaded into Python: the files due are collected in
a temporary table, counted, then deleted with everything linked to them by the foreign keys' ON
DELETE CASCADE. The tests check the SQL against `retention.erasure_plan` file by file.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import (
    Column,
    ColumnElement,
    MetaData,
    Select,
    Table,
    Uuid,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    union,
)

from smartborders.core.errors import InvalidInput, NotFound
from smartborders.ees import schemas as S
from smartborders.ees.models import (
    BiometricSample,
    EntryExitRecord,
    IdempotentRequest,
    IndividualFile,
    PurgeRun,
    RecordAmendment,
    RefusalRecord,
    TravelDocument,
)
from smartborders.ees.service import (
    REPLAY_WINDOW,
    Context,
    biometric_subject,
    overstayer_out,
    records_with_files,
    sweep_day,
)
from smartborders.interop import cir, mid
from smartborders.interop.sbms import erase_subjects
from smartborders.travel import retention
from smartborders.travel.retention import Cutoffs, Rule

REC = EntryExitRecord.__table__
REF = RefusalRecord.__table__
FILE = IndividualFile.__table__

# The keys of `PurgeResultOut.detail` and `PurgeRun.detail`. A file goes when none of its rows keeps
# it any longer (34(2), or 34(3)/(4) for its record without exit), with the rows it still holds;
# the other keys count rows erased from files that stay, by paragraph.
FILES = "files"
REPLAY_ANSWERS = "stored answers of idempotent writes"
RECORDS_WITH_FILE = "records with their file"
REFUSALS_WITH_FILE = "refusals with their file"
RECORDS_34_1 = f"{Rule.EXIT} records"
REFUSALS_34_1 = f"{Rule.EXIT} refusals"
RECORDS_34_3 = f"{Rule.OVERSTAY} records"
RECORDS_34_4_EXIT = f"{Rule.FAMILY_EXIT} records"
RECORDS_34_4_NO_EXIT = f"{Rule.FAMILY_NO_EXIT} records"

# Art. 35(5) [M: spec §4.2]: erased without delay, and within five working days, when the person
# acquires a Member State's nationality (a) or falls under Art. 2(3) (b): a residence permit or card,
# a long-stay visa.
ADVANCE_ERASURE_BASES = {
    "nationality": "Art. 35(5)(a): acquired the nationality of a Member State",
    "residence_permit": "Art. 35(5)(b): holds a residence permit (Art. 2(3))",
    "residence_card": "Art. 35(5)(b): holds a residence card (Art. 2(3))",
    "long_stay_visa": "Art. 35(5)(b): holds a long-stay visa (Art. 2(3))",
}

# The files due in this run. A temporary table keeps the selection in the database (it can hold
# hundreds of thousands of ids on a busy day) and lets the count and the delete reuse it.
_DUE = Table(
    "ees_purge_due_file", MetaData(), Column("id", Uuid, primary_key=True),
    prefixes=["TEMPORARY"], postgresql_on_commit="DROP",
)


class FutureDay(InvalidInput):
    slug = "purge-day-in-the-future"
    title = "Data can only be erased once their retention period has ended"


class UnknownErasureBasis(InvalidInput):
    slug = "unknown-erasure-basis"
    title = "The legal basis of the erasure is not known"


class ErasureNoticeOut(S.OverstayerOut):
    """Art. 34(3): an overstayer whose data will be erased soon, with the dates."""

    notice_date: date
    erasure_date: date


# ---- the rules as SQL ----------------------------------------------------------------------------


def _open_due(r: Table, c: Cutoffs) -> ColumnElement[bool]:
    """A record without exit whose own period has ended: 34(3), or 34(4) for family members. Callers
    add `exit_at IS NULL`; no operand here can be NULL, so NOT of this is safe."""
    return or_(
        and_(~r.c.family_member, r.c.authorised_until.is_not(None), r.c.authorised_until <= c.overstay_until),
        and_(or_(r.c.family_member, r.c.authorised_until.is_(None)), r.c.entry_date <= c.family_entry),
    )


def _goes_with_file(r: Table, c: Cutoffs) -> ColumnElement[bool]:
    """A record that does not keep its file past `c.as_of` (`retention.file_erasure_date`)."""
    return or_(
        and_(r.c.exit_date.is_not(None), ~r.c.family_member, r.c.exit_date <= c.file_last),
        and_(r.c.exit_date.is_not(None), r.c.family_member, r.c.exit_date <= c.family_exit),
        and_(r.c.exit_at.is_(None), _open_due(r, c)),
    )


def _due_files(c: Cutoffs) -> Select:
    """EES Art. 34(2)-(4): files whose every row is due (candidates from date ranges, each then checked)."""
    cands = union(
        select(REC.c.file_id).where(REC.c.exit_date <= c.file_last),
        # A family member's file goes with its last record (retention module doc). No index serves
        # "family member and exit date" yet, so this is a scan: 0.6 s on 10 million records on
        # PostgreSQL (measured); a partial index on exit_date WHERE family_member makes it a range.
        select(REC.c.file_id).where(REC.c.family_member, REC.c.exit_date > c.file_last,
                                    REC.c.exit_date <= c.family_exit),
        select(REC.c.file_id).where(REC.c.exit_at.is_(None), REC.c.authorised_until <= c.overstay_until),
        select(REC.c.file_id).where(REC.c.exit_at.is_(None), REC.c.entry_date <= c.family_entry),
        select(REF.c.file_id).where(REF.c.refusal_date <= c.file_last),
    ).subquery("cand")
    r, x = REC.alias("keep_r"), REF.alias("keep_x")
    return select(cands.c.file_id).where(
        ~exists().where(r.c.file_id == cands.c.file_id, ~_goes_with_file(r, c)),
        ~exists().where(x.c.file_id == cands.c.file_id, x.c.refusal_date > c.file_last),
    )


def _open_keeps(file_id: ColumnElement, c: Cutoffs) -> ColumnElement[bool]:
    """The file has a record without exit that is not yet due: it outlives its last exit or refusal."""
    r = REC.alias("open_r")
    return exists().where(r.c.file_id == file_id, r.c.exit_at.is_(None), ~_open_due(r, c))


def _later_than(file_id: ColumnElement, day: ColumnElement) -> ColumnElement[bool]:
    """Something later than `day` on the file that 34(2) counts: a non-family exit, or a refusal."""
    r, x = REC.alias("later_r"), REF.alias("later_x")
    return or_(
        exists().where(r.c.file_id == file_id, ~r.c.family_member, r.c.exit_date > day),
        exists().where(x.c.file_id == file_id, x.c.refusal_date > day),
    )


def _rules(c: Cutoffs) -> list[tuple[str, Table, ColumnElement[bool]]]:
    """One WHERE per paragraph, for rows of files that stay (`retention.erasure_plan`). The rows of the
    file's last day stay with the file (34(2)) unless an open record keeps the file anyway."""
    return [
        (RECORDS_34_1, REC, and_(~REC.c.family_member, REC.c.exit_date <= c.exit,
                                 or_(_later_than(REC.c.file_id, REC.c.exit_date),
                                     _open_keeps(REC.c.file_id, c)))),
        (RECORDS_34_4_EXIT, REC, and_(REC.c.family_member, REC.c.exit_date <= c.family_exit)),
        (RECORDS_34_3, REC, and_(REC.c.exit_at.is_(None), ~REC.c.family_member,
                                 REC.c.authorised_until <= c.overstay_until)),
        (RECORDS_34_4_NO_EXIT, REC, and_(REC.c.exit_at.is_(None), REC.c.entry_date <= c.family_entry,
                                         or_(REC.c.family_member, REC.c.authorised_until.is_(None)))),
        (REFUSALS_34_1, REF, and_(REF.c.refusal_date <= c.exit,
                                  or_(_later_than(REF.c.file_id, REF.c.refusal_date),
                                      _open_keeps(REF.c.file_id, c)))),
    ]


def _count(ctx: Context, stmt: Select) -> int:
    return int(ctx.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())


# ---- use cases -----------------------------------------------------------------------------------


def purge(ctx: Context, *, as_of: date | None = None, dry_run: bool = False) -> S.PurgeResultOut:
    """EES Art. 34(5): erase automatically what Art. 34(1)-(4) no longer allow to keep on `as_of`.

    `as_of` defaults to the sweep day (`service.sweep_day`: the day that has begun everywhere); a later
    day would erase data before their period ends, so it is refused except for a dry run, which
    counts what would be erased and changes nothing. A run is recorded (`PurgeRun`, counts only).
    Running again on the same day erases nothing more."""
    today = sweep_day(ctx)
    day = as_of or today
    if day > today and not dry_run:
        raise FutureDay(f"{day} has not begun everywhere yet (today {today}); only a dry run can look ahead",
                        as_of=day.isoformat())
    c = Cutoffs.on(day)
    conn = ctx.session.connection()
    # Created inside the transaction: a failure rolls it back with everything else, on both engines.
    _DUE.create(conn)
    ctx.session.execute(insert(_DUE).from_select(["id"], _due_files(c)))
    due = select(_DUE.c.id)
    detail = {
        FILES: _count(ctx, due),
        RECORDS_WITH_FILE: _count(ctx, select(REC.c.id).where(REC.c.file_id.in_(due))),
        REFUSALS_WITH_FILE: _count(ctx, select(REF.c.id).where(REF.c.file_id.in_(due))),
    }
    if not dry_run and detail[FILES]:
        # Each travel document deleted by the cascade makes the database look for records still
        # pointing at it: without ix_ees_record_document (migration 0002) that cost 0.7 s per
        # document at 10 million records on PostgreSQL (measured).
        ctx.session.execute(delete(FILE).where(FILE.c.id.in_(due)))
        # The files' templates in the shared biometric matching service go with them (Reg. 2019/817 Art. 15).
        gone = [str(i) for i in ctx.session.scalars(select(_DUE.c.id))]
        erase_subjects(ctx.session, [biometric_subject(i) for i in gone])
        cir.erase(ctx.session, "EES", gone)  # Reg. 2019/817 Art. 23: the CIR copy goes with its source
        mid.erase_links(ctx.session, "EES", gone)
    for key, table, where in _rules(c):
        if dry_run:
            kept_file = ~exists().where(_DUE.c.id == table.c.file_id)
            detail[key] = _count(ctx, select(table.c.id).where(where, kept_file))
        else:
            detail[key] = ctx.session.execute(delete(table).where(where)).rowcount or 0
    _DUE.drop(conn)
    # Stored answers of idempotent writes hold personal data: kept only while a replay can come.
    old = IdempotentRequest.created_at < ctx.now() - REPLAY_WINDOW
    detail[REPLAY_ANSWERS] = (_count(ctx, select(IdempotentRequest.client_id).where(old)) if dry_run else
                              ctx.session.execute(delete(IdempotentRequest).where(old)).rowcount or 0)
    records = sum(detail[k] for k in (RECORDS_WITH_FILE, RECORDS_34_1, RECORDS_34_3, RECORDS_34_4_EXIT,
                                      RECORDS_34_4_NO_EXIT))
    refusals = detail[REFUSALS_WITH_FILE] + detail[REFUSALS_34_1]
    if not dry_run:
        ctx.session.add(PurgeRun(ran_at=ctx.now(), as_of=day, files=detail[FILES], records=records,
                                 refusals=refusals, detail=detail))
        ctx.session.flush()
    # Rows loaded earlier in this session may be gone now: nothing must be read from them.
    ctx.session.expire_all()
    return S.PurgeResultOut(as_of=day, files=detail[FILES], records=records, refusals=refusals, detail=detail)


def erase_file(ctx: Context, file_id: uuid.UUID | str, *, basis: str) -> S.PurgeResultOut:
    """EES Art. 35(5): erase a file with all its records before its period ends (nationality, Art. 2(3))."""
    if basis not in ADVANCE_ERASURE_BASES:
        raise UnknownErasureBasis(f"basis must be one of {', '.join(ADVANCE_ERASURE_BASES)}", basis=basis)
    try:
        fid = file_id if isinstance(file_id, uuid.UUID) else uuid.UUID(str(file_id))
    except ValueError:
        raise InvalidInput(f"{file_id!r} is not a file id") from None
    found = ctx.session.execute(select(FILE.c.id).where(FILE.c.id == fid).with_for_update()).first()
    if found is None:
        raise NotFound(f"no individual file {fid}", file_id=str(fid))
    rec_ids = select(REC.c.id).where(REC.c.file_id == fid)
    detail = {
        "records": _count(ctx, rec_ids),
        "refusals": _count(ctx, select(REF.c.id).where(REF.c.file_id == fid)),
        "documents": _count(ctx, select(TravelDocument.id).where(TravelDocument.file_id == fid)),
        "biometric_samples": _count(ctx, select(BiometricSample.id).where(BiometricSample.file_id == fid)),
        "amendments": _count(ctx, select(RecordAmendment.id).where(RecordAmendment.record_id.in_(rec_ids))),
    }
    ctx.session.execute(delete(FILE).where(FILE.c.id == fid))
    detail["biometric_templates"] = erase_subjects(ctx.session, [biometric_subject(fid)])
    cir.erase(ctx.session, "EES", [str(fid)])
    mid.erase_links(ctx.session, "EES", [str(fid)])
    ctx.session.expire_all()
    return S.PurgeResultOut(as_of=sweep_day(ctx), files=1, records=detail["records"],
                            refusals=detail["refusals"], detail=detail)


def due_for_notice(ctx: Context, as_of: date | None = None, *, since: date | None = None, limit: int = 1000,
                   offset: int = 0) -> list[ErasureNoticeOut]:
    """EES Art. 34(3): overstayers (no exit after the authorised stay) whose data are erased within 3 months.

    `since`: only those whose notice date came after that day (the previous notice run)."""
    day = as_of or sweep_day(ctx)
    c = Cutoffs.on(day)
    cond = [REC.c.exit_at.is_(None), ~REC.c.family_member, REC.c.authorised_until.is_not(None),
            REC.c.authorised_until > c.overstay_until, REC.c.authorised_until <= c.notice_until]
    if since is not None:
        cond.append(REC.c.authorised_until > Cutoffs.on(since).notice_until)
    return [
        overstayer_out(
            rec, f, day - rec.authorised_until, model=ErasureNoticeOut,
            notice_date=retention.overstayer_notice_date(rec.authorised_until),
            erasure_date=retention.record_erasure_date(retention.RecordDates(rec.entry_date, None, rec.authorised_until)),
        )
        for rec, f in records_with_files(ctx, cond, limit=limit, offset=offset)
    ]
