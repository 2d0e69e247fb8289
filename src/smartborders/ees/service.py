"""EES use cases, one function each, run inside one unit of work (commit whole or leave nothing).

Routers and the CLI only translate to and from these functions. Writes are idempotent by the
client's id: a replay returns the stored first answer; the same id with another request is a conflict.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Engine, and_, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from smartborders.core.clock import Clock, local_date
from smartborders.core.db import unit_of_work
from smartborders.core.errors import Conflict, InvalidInput, NotFound, Problem
from smartborders.ees import schemas as S
from smartborders.ees.models import (
    BiometricSample,
    CrossingPoint,
    EntryExitRecord,
    IdempotentRequest,
    IndividualFile,
    RecordAmendment,
    RefusalRecord,
    SweepRun,
    TravelDocument,
)
from smartborders.reference.policy import VisaPolicy, visa_policy
from smartborders.travel.stay import Mode, Stay, StayAssessment, StayBasis, StayInputError, Visa, assess

# A crossing may be recorded a little after it happened, never before: clocks at crossing points drift.
CLOCK_SKEW = timedelta(minutes=5)
BIOMETRIC_REFUSAL_REASONS = frozenset("BDH")  # EES Art. 18(2)
# How long the first answer to a write is kept for replays: a crossing point's fall-back queue
# (Art. 21) uploads within days; past this window the stored answer, which holds personal data, goes.
REPLAY_WINDOW = timedelta(days=30)


# ---- problems ------------------------------------------------------------------------------------


class UnknownCrossingPoint(InvalidInput):
    slug = "unknown-crossing-point"
    title = "The border crossing point does not exist"


class FutureTime(InvalidInput):
    slug = "time-in-the-future"
    title = "The time lies in the future"


class UnknownDocument(NotFound):
    slug = "unknown-document"
    title = "No individual file holds this travel document"


class AlreadyInside(Conflict):
    slug = "already-inside"
    title = "The traveller has an entry without an exit"


class ExitWithoutEntry(Conflict):
    slug = "exit-without-entry"
    title = "There is no entry to close"


class NoAuthorisedStay(Conflict):
    slug = "no-authorised-stay"
    title = "No stay can be authorised"


class VisaRequired(InvalidInput):
    slug = "visa-required"
    title = "A visa is required"


class OutsideScope(InvalidInput):
    slug = "outside-ees-scope"
    title = "The person is not registered in the EES"


class ClientIdReused(Conflict):
    slug = "client-id-reused"
    title = "The client id was used for another request"


class InvalidMrz(InvalidInput):
    slug = "invalid-mrz"
    title = "The machine-readable zone fails its checks"


class BiometricMismatch(Conflict):
    slug = "biometric-mismatch"
    title = "The traveller's biometrics do not match the individual file"


class BiometricMatchesOtherFile(Conflict):
    slug = "biometric-match-other-identity"
    title = "The traveller's biometrics match an individual file under other identity data"


class IdentityMismatch(Conflict):
    slug = "identity-mismatch"
    title = "The travel document belongs to a file with another identity"


# ---- plumbing ------------------------------------------------------------------------------------

T = TypeVar("T", bound=BaseModel)


@dataclass
class Context:
    """What every use case needs besides its input: the session and the clock."""

    session: Session
    clock: Clock
    found_document: Any = None  # the document (ORM object or row) a file was found by, for `_add_document`
    # A crossing looks up its client id's stored answer in its first query (`_lock_by_document`).
    replay_key: str | None = None
    replay_checked: bool = False

    def now(self) -> datetime:
        return self.clock.now()


def run(engine: Engine, clock: Clock, use_case: Callable[[Context], T], *, readonly: bool = False,
        attempts: int = 3) -> T:
    """Run a use case in its own transaction. A lost race (a unique index, a serialisation failure)
    is retried from the start: the retry then sees the winner's data and answers accordingly."""
    for attempt in range(attempts):
        try:
            with unit_of_work(engine, readonly=readonly) as session:
                return use_case(Context(session, clock))
        except (IntegrityError, OperationalError):
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def request_fingerprint(operation: str, command: BaseModel) -> str:
    """The canonical hash of a write request: a replayed client id must carry the same request."""
    body = json.dumps([operation, command.model_dump(mode="json")], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class _Replay(Exception):  # noqa: N818 - control flow, never leaves `_idempotent`
    def __init__(self, seen: Any) -> None:
        self.seen = seen


def _idempotent(ctx: Context, operation: str, command: Any, result_type: type[T],
                do: Callable[[], T], *, in_first_query: bool = False) -> T:
    """EES writes are replayable (DESIGN: idempotent writes; Art. 21 fall-back uploads): a client id
    seen before returns the answer it got then. Crossings look the id up in the query that finds
    and locks the file (`in_first_query`: one round trip less); if they fail before that, the id is
    looked up on its own, so a replay still gets its first answer."""
    fp = request_fingerprint(operation, command)
    seen = None
    if in_first_query:
        ctx.replay_key = command.client_id
        try:
            result = do()
        except _Replay as r:
            seen = r.seen
        except Problem:
            if ctx.replay_checked:
                raise
            seen = ctx.session.execute(_SEEN, {"cid": command.client_id}).first()
            if seen is None:
                raise
        if seen is None:
            assert ctx.replay_checked, "a crossing looks up its client id before it writes"
    else:
        seen = ctx.session.execute(_SEEN, {"cid": command.client_id}).first()
        if seen is None:
            result = do()
    if seen is not None:
        if seen.operation != operation or seen.fingerprint != fp:
            raise ClientIdReused(
                f"client id {command.client_id} was first used for another {seen.operation} request",
                client_id=command.client_id,
            )
        return result_type.model_validate(seen.response)
    ctx.session.flush()
    ctx.session.execute(_REMEMBER, {
        "client_id": command.client_id, "operation": operation, "fingerprint": fp, "status": 201,
        "response": result.model_dump(mode="json"), "created_at": ctx.now(),
    })
    return result


def _check_replay(ctx: Context, seen: Any) -> None:
    """Called by a crossing once it has read the stored answer for its client id (None: none)."""
    if ctx.replay_key is None:
        return
    ctx.replay_checked = True
    if seen is not None:
        raise _Replay(seen)


# The statements of the border check's hot path are built once, with bound parameters: building and
# cache-keying a statement per request cost more than running it (measured with py-spy). Core,
# not the ORM: these rows are never read back as objects.
_IDEM = IdempotentRequest.__table__
_SEEN = select(_IDEM.c.operation, _IDEM.c.fingerprint, _IDEM.c.response).where(_IDEM.c.client_id == bindparam("cid"))
_REMEMBER = _IDEM.insert()


@dataclass(frozen=True)
class _Bcp:
    code: str
    state: str
    timezone: str


# Crossing points change by configuration, not by traffic: read them once a minute per database
# instead of once per crossing (one round trip less on every border check).
_BCP_TTL = 60.0
_bcp_cache: dict[str, tuple[float, dict[str, _Bcp]]] = {}


def _crossing_point(ctx: Context, code: str) -> _Bcp:
    key = ctx.session.get_bind().url.render_as_string(hide_password=True)
    now = time.monotonic()
    hit = _bcp_cache.get(key)
    if hit is None or now - hit[0] > _BCP_TTL or code not in hit[1]:
        rows = ctx.session.execute(select(CrossingPoint.code, CrossingPoint.state, CrossingPoint.timezone)).all()
        hit = (now, {r.code: _Bcp(r.code, r.state, r.timezone) for r in rows})
        _bcp_cache[key] = hit
    bcp = hit[1].get(code)
    if bcp is None:
        raise UnknownCrossingPoint(f"no border crossing point {code!r}", bcp=code)
    return bcp


def _instant(ctx: Context, at: datetime | None) -> datetime:
    now = ctx.now()
    if at is None:
        return now
    if at > now + CLOCK_SKEW:
        raise FutureTime(f"{at.isoformat()} is in the future (now {now.isoformat()})", at=at.isoformat())
    return at


def _doc_ident(cmd: Any, today: date) -> tuple[S.DocumentIn, S.IdentityIn | None]:
    """The document and identity as given, or as read from the MRZ (ICAO Doc 9303; every check digit)."""
    if cmd.mrz is None:
        return cmd.document, getattr(cmd, "identity", None)
    from smartborders.travel.mrz import parse_mrz

    read = parse_mrz(cmd.mrz, today=today)  # MrzUnreadable is an InvalidInput
    if not read.valid:
        raise InvalidMrz(f"the MRZ fails its checks: {', '.join(read.errors)}", errors=read.errors,
                         details=read.to_json()["details"])
    doc = S.DocumentIn(document_type=read.document_type, number=read.document_number,
                       issuing_state=read.issuing_state, expiry_date=read.expiry_date)
    ident = S.IdentityIn(surname=read.surname, given_names=read.given_names, birth_date=read.birth_date,
                         sex=read.sex, nationality=read.nationality)
    return doc, ident


def _normalise_number(number: str) -> str:
    return number.replace("<", "").upper()


_REC = EntryExitRecord.__table__
_FILE = IndividualFile.__table__
_DOC = TravelDocument.__table__
# What a crossing reads of the earlier records: plain rows through Core, not ORM objects. On the
# border check's hot path the ORM's loading and unit-of-work bookkeeping cost more than the
# database round trips (measured with py-spy); the records are written back with Core statements.
_RECORD_COLUMNS = (
    _REC.c.id, _REC.c.entry_at, _REC.c.entry_date, _REC.c.entry_bcp, _REC.c.exit_at, _REC.c.exit_date,
    _REC.c.family_member, _REC.c.visa_sticker, _REC.c.authorised_until, _REC.c.overstay, _REC.c.fallback,
)
_RECORDS_FOR_WRITES = select(*_RECORD_COLUMNS).order_by(_REC.c.entry_at)
_R = len(_FILE.c)  # where the document's columns start in a `_LOCK_BY_DOCUMENT` row


@dataclass(frozen=True)
class _Record:
    id: uuid.UUID
    entry_at: datetime
    entry_date: date
    entry_bcp: str
    exit_at: datetime | None
    exit_date: date | None
    family_member: bool
    visa_sticker: str | None
    authorised_until: date | None
    overstay: bool
    fallback: bool


@dataclass(frozen=True)
class _Document:
    id: uuid.UUID
    file_id: uuid.UUID
    number: str
    issuing_state: str
    expiry_date: date | None


class _LockedFile:
    """A file read as a plain row for a crossing, locked. Most crossings change nothing on the file;
    the ORM object is loaded (`orm()`) only by a step that does, and is read from then on."""

    def __init__(self, ctx: Context, row: Any) -> None:
        self._ctx, self._row, self._orm = ctx, row, None

    def orm(self) -> IndividualFile:
        if self._orm is None:
            self._orm = self._ctx.session.get(IndividualFile, self._row.id)
            assert self._orm is not None  # locked by this transaction
        return self._orm

    def __getattr__(self, name: str) -> Any:
        return getattr(self._orm if self._orm is not None else self._row, name)


def _orm(f: IndividualFile | _LockedFile) -> IndividualFile:
    return f.orm() if isinstance(f, _LockedFile) else f


def find_by_document(session: Session, doc: S.DocumentIn, *, lock: bool = False) -> IndividualFile | None:
    """Art. 23(2): the file that holds this travel document."""
    return _file_and_document(session, doc, lock=lock)[0]


def _file_and_document(session: Session, doc: S.DocumentIn, *, lock: bool = False
                       ) -> tuple[IndividualFile | None, TravelDocument | None]:
    """The file and the document row in one query; readers get the records in a second (one round
    trip less than loading the collection lazily)."""
    stmt = (
        select(IndividualFile, TravelDocument)
        .join(TravelDocument, TravelDocument.file_id == IndividualFile.id)
        .where(TravelDocument.number == _normalise_number(doc.number),
               TravelDocument.issuing_state == doc.issuing_state)
    )
    if lock:
        stmt = stmt.with_for_update(of=IndividualFile)
    else:
        stmt = stmt.options(selectinload(IndividualFile.records))
    row = session.execute(stmt).first()
    return (row[0], row[1]) if row is not None else (None, None)


def _lock_by_document(ctx: Context, doc: S.DocumentIn
                      ) -> tuple[_LockedFile | None, _Document | None, list[_Record]]:
    """A crossing's read in one round trip: the file holding the document, locked against a
    simultaneous crossing of the same person, with the document and every record of the file."""
    rows = ctx.session.execute(_LOCK_BY_DOCUMENT, {"number": _normalise_number(doc.number),
                                                   "state": doc.issuing_state, "cid": ctx.replay_key}).all()
    if not rows:
        if ctx.replay_key is not None:
            _check_replay(ctx, ctx.session.execute(_SEEN, {"cid": ctx.replay_key}).first())
        return None, None, []
    first = rows[0]
    _check_replay(ctx, first if first.operation is not None else None)
    f = _LockedFile(ctx, first)
    d = _Document(*first[_R:_R + 5])
    records = [_Record(*r[_R + 5:_R + 16]) for r in rows if r[_R + 5] is not None]
    return f, d, records


_LOCK_BY_DOCUMENT = (
    select(*_FILE.c, _DOC.c.id, _DOC.c.file_id, _DOC.c.number, _DOC.c.issuing_state, _DOC.c.expiry_date,
           *_RECORD_COLUMNS)
    .add_columns(_IDEM.c.operation, _IDEM.c.fingerprint, _IDEM.c.response)
    .select_from(_FILE.join(_DOC, _DOC.c.file_id == _FILE.c.id).outerjoin(_REC, _REC.c.file_id == _FILE.c.id)
                 .outerjoin(_IDEM, _IDEM.c.client_id == bindparam("cid")))
    .where(_DOC.c.number == bindparam("number"), _DOC.c.issuing_state == bindparam("state"))
    .order_by(_REC.c.entry_at)
    .with_for_update(of=_FILE)
)
_INSERT_RECORD = _REC.insert()
_CLOSE_RECORD = update(_REC).where(_REC.c.id == bindparam("record_id"))


def _records(ctx: Context, f: IndividualFile | None) -> list[Any]:
    """The file's records as rows, oldest entry first (the file is locked by the caller)."""
    if f is None or f in ctx.session.new:
        return []
    return [_Record(*r) for r in ctx.session.execute(_RECORDS_FOR_WRITES.where(_REC.c.file_id == f.id))]


def find_by_identity(session: Session, ident: S.IdentityIn) -> IndividualFile | None:
    """Implementing Decision (EU) 2019/327 Art. 2: names, date of birth, nationality and sex return the
    file even where the document data do not match. Names are compared exactly here; inexact
    matching belongs to the multiple-identity detector."""
    stmt = select(IndividualFile).where(
        IndividualFile.surname == ident.surname,
        IndividualFile.given_names == ident.given_names,
        IndividualFile.birth_date == ident.birth_date,
        IndividualFile.nationality == ident.nationality,
        IndividualFile.sex == ident.sex,
    )
    found = session.scalars(stmt.limit(2)).all()
    return found[0] if len(found) == 1 else None


def similar_files(session: Session, ident: S.IdentityIn, limit: int = 5) -> list[IndividualFile]:
    """Files whose identity data are similar, not the same (the MID's rules): the same date of birth,
    nationality and sex, and a surname that starts alike (the MRZ cuts long names short). The
    surname prefix keeps the lookup on the identity index."""
    from smartborders.interop.cir import Identity
    from smartborders.interop.mid import compare_identity

    if ident.birth_date is None or len(ident.surname) < 2:
        return []
    prefix = ident.surname[:3]
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # a range, not LIKE: a btree serves it in any collation
    rows = session.scalars(select(IndividualFile).where(
        IndividualFile.surname >= prefix, IndividualFile.surname < after, IndividualFile.birth_date == ident.birth_date,
        IndividualFile.nationality == ident.nationality, IndividualFile.sex == ident.sex).limit(50)).all()
    me = Identity(ident.surname, ident.given_names, ident.birth_date, ident.sex, ident.nationality)
    return [f for f in rows if compare_identity(me, Identity(f.surname, f.given_names, f.birth_date, f.sex,
                                                              f.nationality)) == "similar"][:limit]


def _find_file(ctx: Context, doc: S.DocumentIn, ident: S.IdentityIn | None, *, lock: bool = False
               ) -> tuple[IndividualFile | None, str | None]:
    f, row = _file_and_document(ctx.session, doc, lock=lock)
    if f is not None:
        _check_identity(f, ident)
        ctx.found_document = row
        return f, "document"
    if ident is not None:
        f = find_by_identity(ctx.session, ident)
        if f is not None:
            if lock:
                ctx.session.refresh(f, with_for_update=True)
            return f, "identity"
    return None, None


def _check_identity(f: Any, ident: S.IdentityIn | None) -> None:
    if ident is not None and (ident.birth_date, ident.nationality) != (f.birth_date, f.nationality) \
            and ident.nationality not in f.other_nationalities.split():
        raise IdentityMismatch(
            "the travel document is on a file whose date of birth and nationality differ from the identity given",
            file_id=str(f.id),
        )


def _find_for_write(ctx: Context, doc: S.DocumentIn, ident: S.IdentityIn | None
                    ) -> tuple[_LockedFile | IndividualFile | None, list[_Record]]:
    """The file a crossing is about, locked, and its records: by document, else by identity."""
    f, d, records = _lock_by_document(ctx, doc)
    if f is not None:
        _check_identity(f, ident)
        ctx.found_document = d
        return f, records
    if ident is not None:
        found = find_by_identity(ctx.session, ident)
        if found is not None:
            ctx.session.refresh(found, with_for_update=True)
            return found, _records(ctx, found)
    return None, []


def _fingerprint_status(ident: S.IdentityIn, visa_required: bool, bio: S.BiometricsIn | None,
                        on: date) -> tuple[str, str | None]:
    """Art. 17(3)-(5): children under 12 and those physically unable give no fingerprints ("not
    applicable"); a temporary impossibility is recorded and the prints are taken at the next crossing.
    Visa holders give theirs to the VIS, not the EES (Art. 16)."""
    if visa_required:
        return "vis", None
    if ident.birth_date is not None and _age(ident.birth_date, on) < 12:
        return "not_applicable", "under_12"
    if bio is not None and bio.fingerprint_exemption == "physically_impossible":
        return "not_applicable", "physically_impossible"
    if bio is not None and bio.fingerprint_exemption == "temporarily_impossible":
        return "temporarily_impossible", "temporarily_impossible"
    if bio is not None and bio.fingerprints:
        return "present", None
    return "missing", None


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _store_biometrics(ctx: Context, f: IndividualFile | _LockedFile, bio: S.BiometricsIn | None, at: datetime,
                      *, face: bool, fingers: bool) -> bool:
    import base64

    stored = False
    if bio is None:
        return False
    f = _orm(f)
    if face and bio.face:
        f.biometrics[:] = [b for b in f.biometrics if b.kind != "face"]  # Art. 15: updated, not added
        f.biometrics.append(BiometricSample(kind="face", data=_b64(base64, bio.face, "biometrics.face"),
                                            source=bio.face_source, captured_at=at))
        f.face_status = "present"
        stored = True
    if fingers and bio.fingerprints:
        # Fingers taken again replace the same fingers; the others stay (as in the sBMS).
        f.biometrics[:] = [b for b in f.biometrics if not (b.kind == "finger" and b.position in bio.fingerprints)]
        for pos, data in sorted(bio.fingerprints.items()):
            f.biometrics.append(BiometricSample(kind="finger", position=pos, data=_b64(base64, data, f"fingerprints.{pos}"),
                                                source="live", captured_at=at))
        if f.fingerprint_status in ("missing", "temporarily_impossible"):
            f.fingerprint_status, f.fingerprint_exemption = "present", None  # Art. 17(4): info deleted once taken
        stored = True
    return stored


def _b64(base64: Any, text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise InvalidInput(f"{where}: not valid base64") from None


def _create_file(ctx: Context, ident: S.IdentityIn | None, doc: S.DocumentIn, authority: str, at: datetime,
                 bio: S.BiometricsIn | None, on: date) -> IndividualFile:
    if ident is None:
        raise UnknownDocument(
            "no individual file holds this travel document; give the identity to create one (Art. 14(1))",
            document=doc.number,
        )
    policy = visa_policy(ident.nationality)
    if policy in (VisaPolicy.FREE_MOVEMENT, VisaPolicy.EES_EXEMPT):
        raise OutsideScope(
            f"nationals of {ident.nationality} are not registered in the EES (Art. 2(3))",
            nationality=ident.nationality,
        )
    visa_required = policy is VisaPolicy.VISA_REQUIRED
    fp_status, fp_exemption = _fingerprint_status(ident, visa_required, bio, on)
    f = IndividualFile(
        id=uuid.uuid4(), surname=ident.surname, given_names=ident.given_names, birth_date=ident.birth_date,
        sex=ident.sex, nationality=ident.nationality, other_nationalities=" ".join(ident.other_nationalities),
        visa_required=visa_required, nfp=False, fingerprint_status=fp_status, fingerprint_exemption=fp_exemption,
        face_status="missing", created_at=at, created_by=authority, updated_at=at,
    )
    ctx.session.add(f)
    _add_document(ctx, f, doc, at)
    return f


def _add_document(ctx: Context, f: IndividualFile | _LockedFile, doc: S.DocumentIn, at: datetime,
                  known: TravelDocument | _Document | None = None) -> TravelDocument | _Document:
    """Art. 14: travel documents used lawfully are added to the same file."""
    number = _normalise_number(doc.number)
    if known is not None and known.file_id == f.id and known.number == number \
            and known.issuing_state == doc.issuing_state:
        if doc.expiry_date is not None and known.expiry_date != doc.expiry_date:
            if isinstance(known, TravelDocument):
                known.expiry_date = doc.expiry_date
            else:
                ctx.session.execute(update(_DOC).where(_DOC.c.id == known.id).values(expiry_date=doc.expiry_date))
        return known
    f = _orm(f)
    for d in f.documents:
        if d.number == number and d.issuing_state == doc.issuing_state:
            if doc.expiry_date is not None:
                d.expiry_date = doc.expiry_date
            return d
    d = TravelDocument(id=uuid.uuid4(), document_type=doc.document_type.replace("<", ""), number=number,
                       issuing_state=doc.issuing_state, expiry_date=doc.expiry_date, first_used_at=at)
    f.documents.append(d)
    return d


# ---- the calculator over a file ------------------------------------------------------------------


def _stays(records: Iterable[EntryExitRecord], until: date, stamped: Iterable[list[date]] = ()) -> list[Stay]:
    """The person's stays for the 90/180 rule. Stays as a family member of an EU citizen do not count
    (Art. 11(1)) [I: treated like SBC Art. 6(2) exclusions]. Passport stamps fill what the EES lacks
    (Art. 22(1)); where a stamp and a record overlap, the EES record prevails (Reg. 2025/1534 Art. 5(3))."""
    out: list[Stay] = []
    for r in records:
        end = r.exit_date if r.exit_date is not None else until
        basis = StayBasis.RESIDENCE_PERMIT if r.family_member else StayBasis.SHORT_STAY
        out.append(Stay(r.entry_date, max(end, r.entry_date), basis, r.visa_sticker))
    for a, b in stamped:
        if b < a:
            raise StayInputError(f"stamped stay {a} – {b}: exit before entry")
        if not any(s.entry <= b and a <= s.exit for s in out):
            out.append(Stay(a, b))
    return out


def _visa(v: S.VisaIn | None) -> Visa | None:
    if v is None:
        return None
    try:
        return Visa(v.sticker, v.valid_from, v.valid_until, v.duration_days, v.entries)
    except StayInputError as exc:
        raise InvalidInput(f"visa: {exc.detail}") from None


def stay_out(a: StayAssessment) -> S.StayOut:
    return S.StayOut(
        mode=a.mode.value, date=a.date, rule_applies=a.rule_applies, days_used=a.days_used, overstay=a.overstay,
        first_overstay_day=a.first_overstay_day, overstay_periods=list(a.overstay_periods),
        days_over_limit=a.days_over_limit, max_stay_days=a.max_stay_days, latest_exit=a.latest_exit,
        next_entry=S.NextEntryOut(date=a.next_entry.date, max_stay_days=a.next_entry.max_stay_days)
        if a.next_entry else None,
        limited_by=a.limited_by,
        visa_entries_used=a.visa.entries_used if a.visa else None,
        visa_entries_used_up=a.visa.entries_used_up if a.visa else None,
        explanation=a.explanation(),
    )


# ---- reads ---------------------------------------------------------------------------------------


def document_out(d: TravelDocument) -> S.DocumentOut:
    return S.DocumentOut(document_type=d.document_type, number=d.number, issuing_state=d.issuing_state,
                         expiry_date=d.expiry_date)


def file_out(f: IndividualFile) -> S.FileOut:
    return S.FileOut(
        id=str(f.id), surname=f.surname, given_names=f.given_names, birth_date=f.birth_date, sex=f.sex,
        nationality=f.nationality, other_nationalities=f.other_nationalities.split(), visa_required=f.visa_required,
        nfp=f.nfp, face_status=f.face_status, fingerprint_status=f.fingerprint_status,
        fingerprint_exemption=f.fingerprint_exemption,
        documents=[document_out(d) for d in f.documents],
        records=[record_out(r) for r in f.records],
        refusals=[S.RefusalOut(id=str(r.id), refused_at=r.refused_at, refusal_date=r.refusal_date, bcp=r.bcp,
                               authority=r.authority, reasons=list(r.reasons)) for r in f.refusals],
    )


def record_out(r: EntryExitRecord) -> S.RecordOut:
    return S.RecordOut(
        id=str(r.id), entry_at=r.entry_at, entry_date=r.entry_date, entry_bcp=r.entry_bcp,
        entry_authority=r.entry_authority, entry_from_stamp=r.entry_from_stamp, exit_at=r.exit_at,
        exit_date=r.exit_date, exit_bcp=r.exit_bcp, authorised_until=r.authorised_until,
        max_stay_days=r.max_stay_days, family_member=r.family_member, visa_sticker=r.visa_sticker,
        visa_entries=r.visa_entries, overstay=r.overstay, fallback=r.fallback, mode=r.mode,
        amendments=[{
            "id": str(a.id), "kind": a.kind, "authority": a.authority, "place": a.place,
            "decided_on": a.decided_on.isoformat(), "new_until": a.new_until.isoformat() if a.new_until else None,
            "extension_days": a.extension_days, "new_visa_sticker": a.new_visa_sticker, "cisa_20_2b": a.cisa_20_2b,
            "territorial_state": a.territorial_state,
        } for a in r.amendments],
    )


def search(ctx: Context, req: S.SearchRequest) -> S.SearchResult:
    """Art. 23(2): search by travel document, else by identity."""
    if req.document is None and req.identity is None:
        raise InvalidInput("give a travel document, an identity, or both")
    f, how = None, None
    if req.document is not None:
        f = find_by_document(ctx.session, req.document)
        how = "document" if f else None
    if f is None and req.identity is not None:
        f = find_by_identity(ctx.session, req.identity)
        how = "identity" if f else None
    return S.SearchResult(found=f is not None, matched_by=how, file=file_out(f) if f else None)


def get_file(ctx: Context, file_id: uuid.UUID) -> S.FileOut:
    f = ctx.session.get(IndividualFile, file_id)
    if f is None:
        raise NotFound(f"no individual file {file_id}")
    return file_out(f)


def border_check(ctx: Context, req: S.BorderCheckRequest) -> S.BorderCheckResult:
    """Art. 14, 23 and 11(2): what the guard needs before recording the crossing, without writing."""
    live = _capture(req.biometrics)
    bcp = _crossing_point(ctx, req.bcp)
    at = _instant(ctx, req.at)
    on = local_date(at, bcp.timezone)
    doc, ident = _doc_ident(req, on)
    f, _ = _find_file(ctx, doc, ident)
    findings: list[S.Finding] = []
    if f is None and ident is not None:
        for other in similar_files(ctx.session, ident):
            findings.append(S.Finding(
                code="similar-identity-on-file",
                message=f"no file by this document or these exact identity data, but file {other.id} holds similar "
                        f"ones ({other.surname}, {other.given_names}): verify before a new file is created (Art. 14, "
                        "23(2); a name cut short by the MRZ, a spelling)"))
    open_rec = next((r for r in f.records if r.exit_at is None), None) if f else None
    nationality = f.nationality if f else (ident.nationality if ident else None)
    if nationality is not None and not _in_scope(nationality):
        findings.append(S.Finding(code="outside-ees-scope", message=f"nationals of {nationality} are not registered "
                                  "in the EES (Art. 2(3))"))
    if doc.expiry_date is not None and doc.expiry_date < on:
        findings.append(S.Finding(code="document-expired", message=f"the travel document expired on "
                                  f"{doc.expiry_date}", refusal_reason="A"))
    stay = None
    etias = None
    if req.direction == "entry":
        if open_rec is not None:
            findings.append(S.Finding(code="already-inside", message=f"entry on {open_rec.entry_date} at "
                                      f"{open_rec.entry_bcp} has no exit"))
        visa_required = f.visa_required if f else (nationality is not None and
                                                   visa_policy(nationality) is VisaPolicy.VISA_REQUIRED)
        if visa_required and req.visa is None:
            findings.append(S.Finding(code="visa-required", message="a short-stay visa is required",
                                      refusal_reason="C"))
        if req.visa is not None and bcp.state and req.visa.ltv_states and bcp.state not in req.visa.ltv_states:
            findings.append(S.Finding(code="visa-ltv", message=f"the visa is valid only for "
                                      f"{', '.join(req.visa.ltv_states)}, not {bcp.state}", refusal_reason="C"))
        if open_rec is None:
            stays = _stays(f.records if f else [], on, req.stamped_stays)
            a = _assess(stays, on, Mode.PLAN, _visa(req.visa), req.family_member)
            stay = stay_out(a)
            if a.rule_applies and a.max_stay_days == 0:
                code, reason = ("visa-entries-used", "C") if a.limited_by == "visa_entries" else (
                    ("visa-not-valid", "C") if a.limited_by in ("visa_validity", "visa_duration") else
                    ("no-authorised-stay", "F"))
                findings.append(S.Finding(code=code, message=a.explanation().splitlines()[-1], refusal_reason=reason))
        if not visa_required and req.visa is None and nationality is not None and _in_scope(nationality):
            etias = _etias_status(ctx, doc, on, f, req.family_member, findings, bcp.state)
        if f is not None and f.fingerprint_status == "temporarily_impossible":
            findings.append(S.Finding(code="fingerprints-due", message="fingerprints were temporarily impossible at "
                                      "the last crossing: take them now (Art. 17(4))"))
    else:
        if f is None:
            findings.append(S.Finding(code="unknown-document", message="no individual file holds this document"))
        elif open_rec is None:
            findings.append(S.Finding(code="exit-without-entry", message="no entry to close: if the traveller entered "
                                      "before the EES ran, record the entry date from the stamp (Art. 22(2))"))
        else:
            stays = _stays(f.records, on)
            a = _assess(stays, on, Mode.CHECK, None, open_rec.family_member)
            stay = stay_out(a)
            if open_rec.authorised_until is not None and on > open_rec.authorised_until:
                findings.append(S.Finding(code="overstay", message=f"authorised stay ended on "
                                          f"{open_rec.authorised_until}: {(on - open_rec.authorised_until).days} "
                                          "day(s) of overstay (Art. 11(2)(c))"))
    check = _biometric_findings(ctx, f, live, findings)
    return S.BorderCheckResult(direction=req.direction, date=on, file=file_out(f) if f else None,
                               open_record=record_out(open_rec) if open_rec else None, stay=stay, findings=findings,
                               biometrics=check, etias=etias)


def _etias_status(ctx: Context, doc: S.DocumentIn, on: date, f: Any, family_member: bool,
                  findings: list[S.Finding], state: str | None = None) -> S.EtiasStatusOut | None:
    """ETIAS Art. 47-48 and 83 at the border: the traveller's authorisation for this document, and
    what follows from its absence in the period ETIAS is in."""
    from smartborders.etias import rules as etias_rules
    from smartborders.etias.manual import valid_ltv
    from smartborders.etias.service import valid_authorisation

    periods = etias_rules.periods()
    period = periods.on(on)
    if period is etias_rules.Period.NOT_STARTED:
        return None
    ta = valid_authorisation(ctx.session, doc.number, doc.issuing_state, on)
    if ta is not None:
        assert ta.valid_until is not None
        soon = (ta.valid_until - on).days <= 90
        if soon:
            findings.append(S.Finding(code="etias-expiring", message=f"the travel authorisation expires on "
                                      f"{ta.valid_until}: tell the traveller its remaining validity, that a new one "
                                      "may be applied for from inside, and that one is needed for the whole stay "
                                      "(ETIAS Art. 47(3))"))
        if "second_line_check" in (ta.flags or []):
            findings.append(S.Finding(code="etias-second-line-check", message="the travel authorisation is "
                                      "flagged for a second-line check (ETIAS Art. 36(2), 47(4))"))
        return S.EtiasStatusOut(required=True, period=period.value, valid=True, application=ta.number,
                                valid_until=ta.valid_until, expires_within_90_days=soon,
                                family_member=ta.data.get("family_member") is not None, flags=list(ta.flags or []))
    ltv = valid_ltv(ctx.session, doc.number, doc.issuing_state, on)
    if ltv is not None:
        app, v = ltv
        here = state is None or etias_rules.ALPHA2.get(state, state) in v.states
        if not here:
            findings.append(S.Finding(code="etias-ltv", message=f"the travel authorisation has limited territorial "
                                      f"validity ({', '.join(v.states)}) and does not cover {etias_rules.ALPHA2.get(state, state)} (ETIAS Art. 44, "
                                      "47(2)(a))", refusal_reason="C"))
        return S.EtiasStatusOut(required=True, period=period.value, valid=here, application=app.number,
                                valid_until=v.valid_until, expires_within_90_days=True,
                                family_member=app.data.get("family_member") is not None, ltv_states=list(v.states))
    if period is etias_rules.Period.OPTIONAL:
        findings.append(S.Finding(code="etias-missing", message="no travel authorisation: not yet required "
                                  "(ETIAS Art. 83(1), the optional period); inform the traveller and hand over the "
                                  "leaflet"))
    elif period is etias_rules.Period.GRACE and not any(
            r.entry_date >= periods.optional_until for r in (f.records if f else [])):
        findings.append(S.Finding(code="etias-missing-grace", message="no travel authorisation: the first "
                                  "crossing since the optional period ended may exceptionally be allowed if every "
                                  "other entry condition is met (ETIAS Art. 83(2)); inform the traveller and hand "
                                  "over the leaflet"))
    else:
        findings.append(S.Finding(code="etias-missing", message="no valid ETIAS travel authorisation for this "
                                  "travel document (ETIAS Art. 47; SBC Art. 6(1)(b))", refusal_reason="C"))
    return S.EtiasStatusOut(required=True, period=period.value, valid=False, family_member=family_member)


def _biometric_findings(ctx: Context, f: Any, live: _Live, findings: list[S.Finding]) -> S.BiometricCheckOut | None:
    """The biometric step of a check, as findings rather than refusals: the guard decides."""
    if not live:
        return None
    if f is not None:
        try:
            return _verify(ctx, f, live)
        except BiometricMismatch as exc:
            findings.append(S.Finding(code="biometric-mismatch", message=exc.detail))
            return S.BiometricCheckOut.model_validate(exc.extensions["check"])
    try:
        _no_other_identity(ctx, live)
    except BiometricMatchesOtherFile as exc:
        findings.append(S.Finding(code="known-under-other-identity", message=f"{exc.detail} (file "
                                  f"{exc.extensions['file_id']}, face score {exc.extensions['face_score']})"))
    return S.BiometricCheckOut(face_quality=live.face.quality.score if live.face is not None else None,
                               face_score=None, face_match=None, enrolled=False)


def _in_scope(nationality: str) -> bool:
    return visa_policy(nationality) in (VisaPolicy.VISA_EXEMPT, VisaPolicy.VISA_REQUIRED)


def _assess(stays: list[Stay], on: date, mode: Mode, visa: Visa | None, family_member: bool) -> StayAssessment:
    try:
        return assess(stays, on, mode, visa=visa, family_member=family_member)
    except StayInputError as exc:
        raise InvalidInput(f"the recorded stays are not consistent: {exc.detail}") from None


# ---- biometrics (Art. 15, 17, 23; the sBMS of Reg. 2019/817) ------------------------------------


@dataclass
class _Live:
    """What was captured at the booth, checked by the quality gates; empty where nothing was."""

    face: Any = None  # biometrics.face.FaceSample
    fingers: dict[str, Any] = field(default_factory=dict)  # position -> biometrics.fingerprint.FingerprintSample
    face_candidates: list[Any] | None = None  # the face's 1:N answer over all systems, once searched
    finger_candidates: list[Any] | None = None  # the fingers' 1:N answer, likewise

    def __bool__(self) -> bool:
        return self.face is not None or bool(self.fingers)


def _capture(bio: S.BiometricsIn | None) -> _Live:
    """Run the capture quality gates before the transaction starts (a face takes about 0.1 s of CPU;
    no row is locked meanwhile). A capture that fails a gate is a 422 with its reasons."""
    import base64

    live = _Live()
    if bio is None:
        return live
    if bio.face:
        from smartborders.biometrics import face

        live.face = face.capture(_b64(base64, bio.face, "biometrics.face"), bio.face_source)
    if bio.fingerprints:
        from smartborders.biometrics import fingerprint

        for pos, data in sorted(bio.fingerprints.items()):
            try:
                live.fingers[pos] = fingerprint.capture(_b64(base64, data, f"fingerprints.{pos}"))
            except Problem as exc:
                raise type(exc)(f"fingerprints.{pos}: {exc.detail}", **exc.extensions) from None
    return live


_FINGERS = ("index", "middle", "ring", "little")


def _check_four_fingers(live: _Live) -> None:
    """Art. 17(1)(c): enrolment takes four fingers of the right hand, and where that is not possible,
    of the left; a finger of the left hand stands in for the same finger of the right. Verification
    later may use any of them."""
    if not live.fingers:
        return
    kinds = [pos.split("_", 1)[1] for pos in live.fingers]
    missing = [k for k in _FINGERS if k not in kinds]
    doubled = sorted({k for k in kinds if kinds.count(k) > 1})
    if missing or doubled:
        raise InvalidInput(
            "fingerprint enrolment takes the index, middle, ring and little fingers of the right hand, or of "
            "the left where a right finger cannot be taken (Art. 17(1)(c)); "
            + (f"missing: {', '.join(missing)}" if missing else f"given for both hands: {', '.join(doubled)}")
            + "; a finger that cannot be taken at all is recorded as an exemption (Art. 17(3)-(5))",
            missing=missing)


def biometric_subject(file_id: Any) -> str:
    """An EES file's reference in the shared biometric matching service."""
    return f"EES:{file_id}"


def _sbms(ctx: Context) -> Any:
    from smartborders.interop.sbms import service_for

    bind = ctx.session.get_bind()
    return service_for(bind if isinstance(bind, Engine) else bind.engine)


def _verify(ctx: Context, f: Any, live: _Live) -> S.BiometricCheckOut | None:
    """Art. 23(2)-(4): the traveller against the file's biometrics. A face or every compared finger
    failing is a mismatch: the guard checks further (another person's document, a changed face)."""
    if not live:
        return None
    sbms, subject = _sbms(ctx), biometric_subject(f.id)
    face_check = sbms.verify_face(ctx.session, subject, live.face) if live.face is not None else None
    fingers = sbms.verify_fingers(ctx.session, subject, live.fingers) if live.fingers else {}
    matched = sum(c.match for c in fingers.values())
    out = S.BiometricCheckOut(
        face_quality=live.face.quality.score if live.face is not None else None,
        face_score=round(face_check.score, 4) if face_check else None,
        face_match=face_check.match if face_check else None,
        fingers_compared=len(fingers), fingers_matched=matched, enrolled=False,
    )
    if (face_check is not None and not face_check.match) or (fingers and not matched):
        raise BiometricMismatch(
            "the traveller's biometrics do not match those on the individual file: verify the identity "
            "before recording (Art. 23(4))", file_id=str(f.id), check=out.model_dump(mode="json"))
    return out


def _no_other_identity(ctx: Context, live: _Live) -> None:
    """Art. 23(4) with Reg. 2019/817 Art. 27: no file was found by the document or the identity data;
    a face or fingers that match another file mean the person is registered under other identity data."""
    # One search over every system each: the MID reuses the answers for its links (Art. 27).
    if live.face is not None:
        live.face_candidates = _sbms(ctx).identify_face(live.face, k=5)
        for c in live.face_candidates:
            if c.match and c.subject.startswith("EES:"):
                raise BiometricMatchesOtherFile(
                    "the face matches an individual file registered under other identity data: check the "
                    "identity (multiple-identity detection) before creating a file",
                    file_id=c.subject.split(":", 1)[1], face_score=round(1 - c.distance, 4))
    if live.fingers:
        live.finger_candidates = _sbms(ctx).identify_fingers(ctx.session, live.fingers)
        for fc in live.finger_candidates:
            if fc.match and fc.subject.startswith("EES:"):
                raise BiometricMatchesOtherFile(
                    "the fingerprints match an individual file registered under other identity data: check "
                    "the identity (multiple-identity detection) before creating a file",
                    file_id=fc.subject.split(":", 1)[1], fingers_matched=fc.fingers_matched,
                    finger_score=fc.score)


def _enrol(ctx: Context, f: Any, live: _Live, at: datetime, check: S.BiometricCheckOut | None,
           *, fingers: bool) -> S.BiometricCheckOut | None:
    """Store the captured templates in the sBMS under the file (Art. 15: the facial image is updated)."""
    if not live:
        return check
    prints = live.fingers if fingers else {}
    if live.face is None and not prints:
        return check
    _sbms(ctx).enrol(ctx.session, biometric_subject(f.id), "EES", at, face=live.face, fingers=prints)
    base = check or S.BiometricCheckOut(face_quality=live.face.quality.score if live.face is not None else None,
                                        face_score=None, face_match=None, enrolled=False)
    return base.model_copy(update={"enrolled": True})


def _detect_multiple_identities(ctx: Context, f: Any, doc_in: S.DocumentIn, at: datetime, live: _Live
                                ) -> list[S.MidLinkOut]:
    """Reg. 2019/817 Art. 27: a file created or updated with identity data or biometrics goes to the
    CIR, and the MID looks for the person in the other systems; the links come back to the guard."""
    from smartborders.interop import cir, mid

    ctx.session.flush()
    who = cir.Identity(f.surname, f.given_names, f.birth_date, f.sex, f.nationality,
                       _normalise_number(doc_in.number), doc_in.issuing_state)
    ref = str(f.id)
    cir.store(ctx.session, "EES", ref, who, at, has_biometrics=live.face is not None or bool(live.fingers))
    found = mid.detect(ctx.session, "EES", ref, who, at, face=live.face, sbms=_sbms(ctx) if live.face else None,
                       face_candidates=live.face_candidates, finger_candidates=live.finger_candidates)
    return [S.MidLinkOut.model_validate(link.to_json()) for link in found]


# ---- writes --------------------------------------------------------------------------------------


def record_entry(ctx: Context, cmd: S.EntryCommand) -> S.EntryResult:
    """Art. 14, 16(2), 11(2)(a): create or update the file, compute the authorised stay, record the entry."""
    return _idempotent(ctx, "entry", cmd, S.EntryResult, lambda: _record_entry(ctx, cmd),
                       in_first_query=True)


@dataclass
class _Crossing:
    """What every crossing command starts from: where, when (instant and local day), who."""

    bcp: _Bcp
    at: datetime
    on: date
    document: S.DocumentIn
    identity: S.IdentityIn | None
    file: IndividualFile | _LockedFile | None
    records: list[_Record]


def _crossing(ctx: Context, cmd: S.Crossing) -> _Crossing:
    bcp = _crossing_point(ctx, cmd.bcp)
    at = _instant(ctx, cmd.at)
    on = local_date(at, bcp.timezone)
    doc_in, ident = _doc_ident(cmd, on)
    f, recs = _find_for_write(ctx, doc_in, ident)
    return _Crossing(bcp, at, on, doc_in, ident, f, recs)


def _in_bcp_mode(ctx: Context, cmd: Any, live: Any) -> tuple[Any, Any]:
    """The crossing point's heavy-traffic mode (Reg. 2025/1534, ees/modes.py), after the replay check of
    the first query: suspended refuses the record; without biometrics drops what was captured."""
    from smartborders.ees import modes

    applied = modes.apply(ctx, cmd)
    if applied is not cmd:
        return applied, _Live()
    return cmd, live


def _record_entry(ctx: Context, cmd: S.EntryCommand) -> S.EntryResult:
    live = _Live() if cmd.heavy_traffic else _capture(cmd.biometrics)
    c = _crossing(ctx, cmd)
    cmd, live = _in_bcp_mode(ctx, cmd, live)
    bcp, at, on, doc_in, ident, f, records = c.bcp, c.at, c.on, c.document, c.identity, c.file, c.records
    created = f is None
    check = None
    if f is None:
        _no_other_identity(ctx, live)
        f = _create_file(ctx, ident, doc_in, cmd.authority, at, cmd.biometrics, on)
        if not f.visa_required:  # visa holders' prints are in the VIS (Art. 17(2))
            _check_four_fingers(live)
    else:
        check = _verify(ctx, f, live)
        if f.fingerprint_status != "present" and not f.visa_required:
            _check_four_fingers(live)
        if not _in_scope(f.nationality):
            raise OutsideScope(f"nationals of {f.nationality} are not registered in the EES (Art. 2(3))")
        open_rec = next((r for r in records if r.exit_at is None), None)
        if open_rec is not None:
            raise AlreadyInside(
                f"the traveller entered on {open_rec.entry_date} at {open_rec.entry_bcp} and has not exited",
                record_id=str(open_rec.id),
            )
    if doc_in.expiry_date is not None and doc_in.expiry_date < on:
        raise InvalidInput(f"the travel document expired on {doc_in.expiry_date} (refusal reason A)",
                           refusal_reason="A")
    if f.visa_required and cmd.visa is None and not cmd.family_member:
        raise VisaRequired("nationals of this country need a short-stay visa (refusal reason C)", refusal_reason="C")
    if cmd.visa is not None and cmd.visa.ltv_states and bcp.state not in cmd.visa.ltv_states:
        raise InvalidInput(f"the visa has limited territorial validity ({', '.join(cmd.visa.ltv_states)}) and does "
                           f"not cover {bcp.state} (refusal reason C)", refusal_reason="C")
    for r in records:
        if r.exit_at is not None and r.exit_at > at:
            raise Conflict(f"a recorded exit at {r.exit_at.isoformat()} lies after this entry at {at.isoformat()}")

    visa = _visa(cmd.visa)
    a = _assess(_stays(records, on, cmd.stamped_stays), on, Mode.PLAN, visa, cmd.family_member)
    if a.rule_applies and (a.max_stay_days or 0) == 0:
        reason = "C" if a.limited_by != "rule" else "F"
        raise NoAuthorisedStay(a.explanation().replace("\n", " "), refusal_reason=reason,
                               stay=stay_out(a).model_dump(mode="json"))

    doc = _add_document(ctx, f, doc_in, at, ctx.found_document)
    renamed = ident is not None and not created and _update_identity(f, ident)
    if cmd.nfp and not f.nfp:
        _orm(f).nfp = True
    if not cmd.heavy_traffic:
        _store_biometrics(ctx, f, cmd.biometrics, at, face=True, fingers=not f.visa_required)
    if not created and f.fingerprint_status == "temporarily_impossible" and cmd.biometrics is not None \
            and cmd.biometrics.fingerprint_exemption == "physically_impossible":
        _orm(f).fingerprint_status, _orm(f).fingerprint_exemption = "not_applicable", "physically_impossible"
    # Art. 16(2)(d): the end of the maximum stay, counted from this entry.
    latest = a.latest_exit if a.rule_applies else None
    ctx.session.flush()  # the file and the document exist before the record that points at them
    record_id = uuid.uuid4()
    ctx.session.execute(_INSERT_RECORD, dict(
        id=record_id, file_id=f.id, entry_client_id=cmd.client_id, entry_at=at, entry_date=on,
        entry_bcp=bcp.code, entry_authority=cmd.authority, entry_from_stamp=False, document_id=doc.id,
        family_member=cmd.family_member, max_stay_days=a.max_stay_days, authorised_until=latest,
        overstay=False, fallback=cmd.fallback,
        mode="heavy_traffic" if cmd.heavy_traffic else "full" if f.face_status == "present" else "no_biometrics",
        **_visa_columns(cmd.visa),
    ))
    check = _enrol(ctx, f, live, at, check, fingers=not f.visa_required)
    if not f.visa_required:
        _second_line_check_done(ctx, doc_in, on)
    links = _detect_multiple_identities(ctx, f, doc_in, at, live) if created or live or renamed else []
    return S.EntryResult(
        record_id=str(record_id), file_id=str(f.id), file_created=created, entry_date=on, authorised_until=latest,
        max_stay_days=a.max_stay_days, visa_entries_used=(a.visa.entries_used + 1) if a.visa else None,
        visa_entries_used_up=(a.visa.entries_used + 1 >= (cmd.visa.entries or 10**6)) if a.visa and cmd.visa else None,
        stay=stay_out(a), biometrics=check, mid_links=links,
    )


def _second_line_check_done(ctx: Context, doc: S.DocumentIn, on: date) -> None:
    """ETIAS Art. 36(2): the second-line-check flag goes once the border authority has done the check and
    recorded the entry in the EES."""
    from smartborders.etias import rules as etias_rules
    from smartborders.etias.service import valid_authorisation

    if etias_rules.periods().on(on) is etias_rules.Period.NOT_STARTED:
        return
    ta = valid_authorisation(ctx.session, doc.number, doc.issuing_state, on)
    if ta is not None and "second_line_check" in (ta.flags or []):
        ta.flags = [x for x in ta.flags if x != "second_line_check"]


def _visa_columns(v: S.VisaIn | None) -> dict[str, Any]:
    if v is None:
        return {}
    return dict(visa_sticker=v.sticker, visa_issuing_state=v.issuing_state, visa_type=v.type,
                visa_entries=v.entries, visa_duration_days=v.duration_days, visa_valid_from=v.valid_from,
                visa_valid_until=v.valid_until, visa_ltv_states=" ".join(v.ltv_states) or None)


def _update_identity(f: IndividualFile | _LockedFile, ident: S.IdentityIn) -> bool:
    """Art. 14(1): the file is updated where necessary (names as on the newest document). True if it was."""
    if (ident.surname, ident.given_names, ident.sex, ident.nationality) == (f.surname, f.given_names, f.sex,
                                                                           f.nationality) \
            and not set(ident.other_nationalities) - set(f.other_nationalities.split()):
        return False
    f = _orm(f)
    f.surname, f.given_names, f.sex = ident.surname, ident.given_names, ident.sex
    if f.birth_date is None:
        f.birth_date = ident.birth_date
    others = set(f.other_nationalities.split()) | set(ident.other_nationalities)
    if ident.nationality != f.nationality:
        others.add(f.nationality)
        f.nationality = ident.nationality
    others.discard(f.nationality)
    f.other_nationalities = " ".join(sorted(others))
    return True


def record_exit(ctx: Context, cmd: S.ExitCommand) -> S.ExitResult:
    """Art. 16(3), 11(2)(c): close the open record; any overstay is reported and flagged."""
    return _idempotent(ctx, "exit", cmd, S.ExitResult, lambda: _record_exit(ctx, cmd),
                       in_first_query=True)


def _record_exit(ctx: Context, cmd: S.ExitCommand) -> S.ExitResult:
    live = _Live() if cmd.heavy_traffic else _capture(cmd.biometrics)
    c = _crossing(ctx, cmd)
    cmd, live = _in_bcp_mode(ctx, cmd, live)
    bcp, at, on, doc_in, ident, f = c.bcp, c.at, c.on, c.document, c.identity, c.file
    check = _verify(ctx, f, live) if f is not None else None
    rec = next((r for r in c.records if r.exit_at is None), None)
    if rec is None:
        if cmd.entry_stamp_date is None:
            if f is None:
                raise UnknownDocument("no individual file holds this travel document, and no entry stamp date was "
                                      "given (Art. 22(2))", document=doc_in.number)
            raise ExitWithoutEntry("the traveller has no entry without an exit; if they entered before the EES ran, "
                                   "give the entry date from the stamp (Art. 22(2))", file_id=str(f.id))
        if cmd.entry_stamp_date > on:
            raise InvalidInput(f"entry stamp date {cmd.entry_stamp_date} lies after the exit on {on}")
        if f is None:
            f = _create_file(ctx, ident, doc_in, cmd.authority, at, None, on)
        rec = _stamped_entry(ctx, f, c.records, cmd, bcp)
    if at < rec.entry_at:
        raise InvalidInput(f"exit at {at.isoformat()} is before the entry at {rec.entry_at.isoformat()}")
    _add_document(ctx, f, doc_in, at, ctx.found_document)
    days_over = (on - rec.authorised_until).days if rec.authorised_until and on > rec.authorised_until else 0
    ctx.session.flush()
    values: dict[str, Any] = dict(exit_client_id=cmd.client_id, exit_at=at, exit_date=on, exit_bcp=bcp.code,
                                  exit_authority=cmd.authority, fallback=rec.fallback or cmd.fallback)
    if days_over and not rec.overstay:
        values.update(overstay=True, overstay_flagged_at=at)  # Art. 12(1): the maximum stay was exceeded
    ctx.session.execute(_CLOSE_RECORD, {"record_id": rec.id, **values})
    stay_days = (on - rec.entry_date).days + 1
    text = (f"Stay {rec.entry_date} – {on}: {stay_days} day(s); authorised until {rec.authorised_until}. "
            + (f"Overstay of {days_over} day(s)." if days_over else "No overstay.")
            if rec.authorised_until else f"Stay {rec.entry_date} – {on}: {stay_days} day(s); the 90/180 rule "
            "does not apply (Art. 11(1)).")
    return S.ExitResult(record_id=str(rec.id), file_id=str(f.id), entry_date=rec.entry_date, exit_date=on,
                        stay_days=stay_days, authorised_until=rec.authorised_until, overstay=bool(days_over),
                        overstay_days=days_over, explanation=text, biometrics=check)


@dataclass(frozen=True)
class _StampedEntry:
    id: uuid.UUID
    entry_at: datetime
    entry_date: date
    authorised_until: date
    overstay: bool = False
    fallback: bool = False


def _stamped_entry(ctx: Context, f: IndividualFile, records: list[Any], cmd: S.ExitCommand,
                   bcp: _Bcp) -> _StampedEntry:
    """Art. 22(2): entered before the EES ran, exits after; the entry date comes from the stamp."""
    entry_on = cmd.entry_stamp_date
    assert entry_on is not None
    a = _assess(_stays(records, entry_on), entry_on, Mode.PLAN, None, False)
    entry_at = datetime.combine(entry_on, datetime.min.time(), tzinfo=ctx.now().tzinfo)
    rec = _StampedEntry(uuid.uuid4(), entry_at, entry_on,
                        a.latest_exit if a.max_stay_days else entry_on - timedelta(days=1), fallback=cmd.fallback)
    ctx.session.flush()
    ctx.session.execute(_INSERT_RECORD, dict(
        id=rec.id, file_id=f.id, entry_client_id=f"{cmd.client_id}:stamp", entry_at=entry_at,
        entry_date=entry_on, entry_bcp=bcp.code, entry_authority=cmd.authority, entry_from_stamp=True,
        family_member=False, max_stay_days=a.max_stay_days, authorised_until=rec.authorised_until,
        overstay=False, fallback=cmd.fallback, mode="full" if f.face_status == "present" else "no_biometrics",
    ))
    return rec


def record_refusal(ctx: Context, cmd: S.RefusalCommand) -> S.RefusalResult:
    """Art. 18: a refusal record with its reason letters; biometrics only on reasons B, D or H (18(2))."""
    return _idempotent(ctx, "refusal", cmd, S.RefusalResult, lambda: _record_refusal(ctx, cmd),
                       in_first_query=True)


def _record_refusal(ctx: Context, cmd: S.RefusalCommand) -> S.RefusalResult:
    c = _crossing(ctx, cmd)
    cmd, _ = _in_bcp_mode(ctx, cmd, None)
    bcp, at, on, doc_in, ident, f = c.bcp, c.at, c.on, c.document, c.identity, c.file
    created = f is None
    f = _orm(f) if f is not None else _create_file(ctx, ident, doc_in, cmd.authority, at, None, on)
    reasons = "".join(sorted(set(cmd.reasons)))
    biometric = bool(BIOMETRIC_REFUSAL_REASONS & set(reasons))
    has_biometrics = any(True for _ in f.biometrics)
    stored = False
    if biometric and not has_biometrics:
        # 18(2): visa holders give the face; visa-exempt ones, and visa holders not in the VIS, face and prints.
        stored = _store_biometrics(ctx, f, cmd.biometrics, at, face=True, fingers=True)
    rec = RefusalRecord(id=uuid.uuid4(), file_id=f.id, client_id=cmd.client_id, refused_at=at, refusal_date=on,
                        bcp=bcp.code, authority=cmd.authority, reasons=reasons, fallback=cmd.fallback)
    ctx.session.add(rec)
    f.refusals.append(rec)
    f.updated_at = at
    ctx.session.flush()
    return S.RefusalResult(refusal_id=str(rec.id), file_id=str(f.id), file_created=created, reasons=list(reasons),
                           biometrics_stored=stored)


def amend_record(ctx: Context, record_id: uuid.UUID, cmd: S.AmendmentCommand) -> S.AmendmentResult:
    """Art. 19: revocation, annulment or extension, added to the latest relevant record."""
    return _idempotent(ctx, "amendment", cmd, S.AmendmentResult, lambda: _amend(ctx, record_id, cmd))


def _amend(ctx: Context, record_id: uuid.UUID, cmd: S.AmendmentCommand) -> S.AmendmentResult:
    rec = ctx.session.get(EntryExitRecord, record_id, with_for_update=True)
    if rec is None:
        raise NotFound(f"no entry/exit record {record_id}")
    if cmd.kind == "extended":
        if (cmd.new_until is None) == (cmd.extension_days is None):
            raise InvalidInput("an extension gives either new_until or extension_days (Art. 19(1)(e)-(f))")
        base = rec.authorised_until or rec.entry_date
        new_until = cmd.new_until or base + timedelta(days=cmd.extension_days or 0)
        if new_until < base:
            raise InvalidInput(f"an extension cannot end ({new_until}) before the current end ({base})")
    else:
        # A revoked or annulled visa or authorisation ends the authorised stay on the day of the decision.
        new_until = min(rec.authorised_until or cmd.decided_on, cmd.decided_on)
    am = RecordAmendment(
        id=uuid.uuid4(), record_id=rec.id, client_id=cmd.client_id, kind=cmd.kind, authority=cmd.authority,
        place=cmd.place, decided_on=cmd.decided_on, new_visa_sticker=cmd.new_visa_sticker,
        extension_days=cmd.extension_days, new_until=new_until, cisa_20_2b=cmd.cisa_20_2b,
        territorial_state=cmd.territorial_state, grounds=cmd.grounds, created_at=ctx.now(),
    )
    ctx.session.add(am)
    rec.amendments.append(am)
    rec.authorised_until = new_until
    if cmd.new_visa_sticker:
        rec.visa_sticker = cmd.new_visa_sticker
    _reflag(ctx, rec)
    ctx.session.flush()
    return S.AmendmentResult(amendment_id=str(am.id), record_id=str(rec.id), authorised_until=rec.authorised_until,
                             overstay=rec.overstay)


def _reflag(ctx: Context, rec: EntryExitRecord) -> None:
    """After a change to the authorised stay, the overstay flag says what the data now show (Art. 35(2))."""
    # As the sweep: an open record is over on the first day after its authorised stay (Art. 12(1)).
    end = rec.exit_date if rec.exit_date is not None else sweep_day(ctx)
    over = rec.authorised_until is not None and end > rec.authorised_until
    if over and not rec.overstay:
        rec.overstay, rec.overstay_flagged_at = True, ctx.now()
    elif not over and rec.overstay:
        rec.overstay, rec.overstay_flagged_at = False, None


def rebut_presumption(ctx: Context, cmd: S.RebuttalCommand) -> S.RebuttalResult:
    """Art. 20: the presumption of overstay is rebutted; complete the file or records, or erase."""
    return _idempotent(ctx, "rebuttal", cmd, S.RebuttalResult, lambda: _rebut(ctx, cmd))


def _rebut(ctx: Context, cmd: S.RebuttalCommand) -> S.RebuttalResult:
    at = ctx.now()
    f, _ = _find_file(ctx, cmd.document, cmd.identity, lock=True)
    if cmd.action == "erase_file":
        if f is None:
            raise UnknownDocument("no individual file holds this travel document")
        fid = str(f.id)
        ctx.session.delete(f)
        ctx.session.flush()
        return S.RebuttalResult(action=cmd.action, file_id=fid, record_id=None, overstay=False)
    if cmd.bcp is None:
        raise InvalidInput("give the crossing point of the missing entry or exit (bcp)")
    bcp = _crossing_point(ctx, cmd.bcp)
    today = local_date(at, bcp.timezone)
    if cmd.action == "record_missing_entry":
        if cmd.entry_date is None or cmd.entry_date > today:
            raise InvalidInput("record_missing_entry needs an entry_date that is not in the future")
        if f is None:
            f = _create_file(ctx, cmd.identity, cmd.document, cmd.authority, at, None, today)  # 20(a)
        if any(r.exit_at is None for r in f.records):
            raise AlreadyInside("the file already has an entry without an exit")
        a = _assess(_stays([r for r in f.records if r.exit_date and r.exit_date <= cmd.entry_date], cmd.entry_date),
                    cmd.entry_date, Mode.PLAN, None, False)
        rec = EntryExitRecord(
            id=uuid.uuid4(), file_id=f.id, entry_client_id=cmd.client_id,
            entry_at=datetime.combine(cmd.entry_date, datetime.min.time(), tzinfo=at.tzinfo),
            entry_date=cmd.entry_date, entry_bcp=bcp.code, entry_authority=cmd.authority, entry_from_stamp=True,
            max_stay_days=a.max_stay_days, authorised_until=a.latest_exit, mode="no_biometrics",
        )
        ctx.session.add(rec)
        f.records.append(rec)
        _reflag(ctx, rec)
        ctx.session.flush()
        return S.RebuttalResult(action=cmd.action, file_id=str(f.id), record_id=str(rec.id), overstay=rec.overstay)
    # record_missing_exit: 20(b), the last record gets the exit the evidence proves.
    if f is None:
        raise UnknownDocument("no individual file holds this travel document")
    rec = next((r for r in f.records if r.exit_at is None), None)
    if rec is None:
        raise ExitWithoutEntry("the file has no entry without an exit")
    if cmd.exit_date is None or cmd.exit_date < rec.entry_date or cmd.exit_date > today:
        raise InvalidInput("record_missing_exit needs an exit_date between the entry and today")
    rec.exit_client_id = cmd.client_id
    rec.exit_at = datetime.combine(cmd.exit_date, datetime.max.time().replace(microsecond=0), tzinfo=at.tzinfo)
    rec.exit_date, rec.exit_bcp, rec.exit_authority = cmd.exit_date, bcp.code, cmd.authority
    _reflag(ctx, rec)
    ctx.session.flush()
    return S.RebuttalResult(action=cmd.action, file_id=str(f.id), record_id=str(rec.id), overstay=rec.overstay)


# ---- overstays (Art. 12) ---------------------------------------------------------------------------


def sweep_day(ctx: Context) -> date:
    """The day up to which authorised stays have ended everywhere: the local date at the westernmost
    crossing point (an authorised stay ends at the end of its last day, local time)."""
    zones = ctx.session.scalars(select(CrossingPoint.timezone).distinct()).all() or ["UTC"]
    return min(local_date(ctx.now(), z) for z in zones)


def sweep_overstays(ctx: Context, *, full: bool = False) -> S.SweepResultOut:
    """Art. 12(1): flag, immediately after the authorised stay expires, every record without exit.

    Incremental: only records whose authorised stay ended since the previous run (amendments re-flag
    their record at once); `full` re-checks every open record. Re-running changes nothing."""
    as_of = sweep_day(ctx)
    last = ctx.session.scalars(select(SweepRun).order_by(SweepRun.id.desc()).limit(1)).first()
    since = None if full or last is None else last.as_of - timedelta(days=1)
    cond = [EntryExitRecord.exit_at.is_(None), EntryExitRecord.authorised_until < as_of,
            EntryExitRecord.overstay.is_(False)]
    if since is not None:
        cond.append(EntryExitRecord.authorised_until >= since)
    res = ctx.session.execute(
        update(EntryExitRecord).where(and_(*cond)).values(overstay=True, overstay_flagged_at=ctx.now())
        .execution_options(synchronize_session=False)
    )
    flagged = res.rowcount or 0
    ctx.session.add(SweepRun(ran_at=ctx.now(), as_of=as_of, flagged=flagged))
    ctx.session.flush()
    return S.SweepResultOut(as_of=as_of, flagged=flagged, checked_since=since)


def overstayers(ctx: Context, *, include_exited: bool = False, limit: int = 1000, offset: int = 0
                ) -> list[S.OverstayerOut]:
    """Art. 12(3): the list of identified overstayers with their Art. 16/17 data."""
    today = sweep_day(ctx)
    cond = [EntryExitRecord.overstay.is_(True)]
    if not include_exited:
        cond.append(EntryExitRecord.exit_at.is_(None))
    return [overstayer_out(rec, f, (rec.exit_date or today) - rec.authorised_until)
            for rec, f in records_with_files(ctx, cond, limit=limit, offset=offset)]


def records_with_files(ctx: Context, cond: list[Any], *, limit: int, offset: int
                       ) -> list[tuple[EntryExitRecord, IndividualFile]]:
    """Records matching `cond` with their files and documents, by end of authorised stay."""
    rows = ctx.session.execute(
        select(EntryExitRecord, IndividualFile)
        .join(IndividualFile, IndividualFile.id == EntryExitRecord.file_id)
        .where(*cond)
        .options(selectinload(IndividualFile.documents))
        .order_by(EntryExitRecord.authorised_until, EntryExitRecord.id)
        .limit(limit).offset(offset)
    ).all()
    return [(rec, f) for rec, f in rows]


def overstayer_out(rec: EntryExitRecord, f: IndividualFile, over: timedelta, *,
                   model: type[S.OverstayerOut] = S.OverstayerOut, **extra: Any) -> S.OverstayerOut:
    """Art. 12(3): an overstayer with the Art. 16/17 data (`model`, `extra`: a subtype with more fields)."""
    assert rec.authorised_until is not None
    return model(
        file_id=str(f.id), record_id=str(rec.id), surname=f.surname, given_names=f.given_names,
        birth_date=f.birth_date, nationality=f.nationality, documents=[document_out(d) for d in f.documents],
        entry_date=rec.entry_date, entry_bcp=rec.entry_bcp, authorised_until=rec.authorised_until,
        days_over=max(0, over.days), flagged_at=rec.overstay_flagged_at, exited=rec.exit_at is not None,
        **extra,
    )


# ---- web service (Art. 13) -----------------------------------------------------------------------


def traveller_query(ctx: Context, q: S.TravellerQuery) -> S.WebServiceAnswer:
    """Art. 13(1): OK / NOT OK and the remaining authorised stay, for intended dates of entry, exit or both.

    The answer has the same shape whether or not the document is known: the service tells nothing
    else about the EES's content."""
    if q.intended_entry is None and q.intended_exit is None:
        raise InvalidInput("give the intended date of entry, of exit, or both")
    today = sweep_day(ctx)
    f = find_by_document(ctx.session, q.document)
    records = list(f.records) if f else []
    open_rec = next((r for r in records if r.exit_at is None), None)
    if q.intended_entry is not None:
        if q.intended_entry < today:
            raise InvalidInput("the intended entry lies in the past")
        if open_rec is not None:
            raise InvalidInput("the EES has an entry without an exit for this document: ask with the intended exit")
        stays = _stays(records, q.intended_entry)
        if q.intended_exit is not None:
            if q.intended_exit < q.intended_entry:
                raise InvalidInput("the intended exit lies before the intended entry")
            a = _assess(stays + [Stay(q.intended_entry, q.intended_exit)], q.intended_exit, Mode.CHECK, None, False)
            trip = [p for p in a.overstay_periods if p[1] >= q.intended_entry]
            ok = not trip
            text = (f"The trip {q.intended_entry} – {q.intended_exit} stays within 90 days in any 180."
                    if ok else f"The trip breaks the rule from {max(trip[0][0], q.intended_entry)}: "
                    f"{a.window(max(trip[0][0], q.intended_entry)).describe()}.")
            remaining = max(0, (a.latest_exit - q.intended_exit).days) if a.latest_exit and ok else 0
            return S.WebServiceAnswer(answer="OK" if ok else "NOT OK", remaining_days=remaining,
                                      latest_exit=a.latest_exit if ok else None, explanation=text)
        a = _assess(stays, q.intended_entry, Mode.PLAN, None, False)
        ok = (a.max_stay_days or 0) > 0
        return S.WebServiceAnswer(answer="OK" if ok else "NOT OK", remaining_days=a.max_stay_days or 0,
                                  latest_exit=a.latest_exit, explanation=a.explanation())
    # Only the intended exit: the traveller is inside (or will be) until then.
    assert q.intended_exit is not None
    if q.intended_exit < today:
        raise InvalidInput("the intended exit lies in the past")
    if open_rec is not None and open_rec.authorised_until is not None:
        latest = open_rec.authorised_until
        ok = q.intended_exit <= latest
        remaining = max(0, (latest - today).days + 1)
        text = (f"Authorised to stay until {latest} (computed at entry on {open_rec.entry_date}, with any "
                f"extension); {remaining} day(s) left from {today}.")
        return S.WebServiceAnswer(answer="OK" if ok else "NOT OK", remaining_days=remaining, latest_exit=latest,
                                  explanation=text)
    a = _assess(_stays(records, today), today, Mode.CHECK, None, False)
    latest = a.latest_exit
    ok = latest is not None and q.intended_exit <= latest
    return S.WebServiceAnswer(answer="OK" if ok else "NOT OK", remaining_days=a.max_stay_days or 0,
                              latest_exit=latest, explanation=a.explanation())


def carrier_query(ctx: Context, q: S.CarrierQuery) -> S.CarrierAnswer:
    """Art. 13(3): whether the holder of a single- or double-entry visa has used the entries allowed."""
    f = find_by_document(ctx.session, q.document)
    if f is None:
        return S.CarrierAnswer(answer="OK", reason="no entry on this visa is recorded")
    on_visa = [r for r in f.records if r.visa_sticker == q.visa_sticker]
    allowed = next((r.visa_entries for r in on_visa if r.visa_entries is not None), None)
    if allowed is None:
        return S.CarrierAnswer(answer="OK", reason=f"{len(on_visa)} entr{'y' if len(on_visa) == 1 else 'ies'} "
                               "recorded; the visa is not limited to one or two entries")
    if len(on_visa) >= allowed:
        return S.CarrierAnswer(answer="NOT OK", reason=f"all {allowed} entr{'y' if allowed == 1 else 'ies'} "
                               "allowed by the visa are used")
    return S.CarrierAnswer(answer="OK", reason=f"{len(on_visa)} of {allowed} entries used")


# ---- statistics ------------------------------------------------------------------------------------

GROUPS = ("day", "bcp", "nationality")


def statistics(ctx: Context, date_from: date, date_to: date, group_by: list[str]) -> S.StatisticsOut:
    """Crossings, refusals by reason and overstays, by day, crossing point and nationality."""
    if date_to < date_from:
        raise InvalidInput("date_to lies before date_from")
    if (date_to - date_from).days > 3660:
        raise InvalidInput("at most ten years at once")
    bad = [g for g in group_by if g not in GROUPS]
    if bad or len(set(group_by)) != len(group_by):
        raise InvalidInput(f"group_by takes distinct values among {', '.join(GROUPS)}")
    rows: dict[tuple, dict[str, Any]] = {}

    def bump(k: tuple, field: str, n: int) -> None:
        row = rows.setdefault(k, {"entries": 0, "exits": 0, "refusals": 0, "refusals_by_reason": {}, "overstays": 0})
        row[field] += n

    for kind, day_col, bcp_col, where in (
        ("entries", EntryExitRecord.entry_date, EntryExitRecord.entry_bcp, EntryExitRecord.entry_date),
        ("exits", EntryExitRecord.exit_date, EntryExitRecord.exit_bcp, EntryExitRecord.exit_date),
        ("overstays", EntryExitRecord.authorised_until, EntryExitRecord.entry_bcp, EntryExitRecord.authorised_until),
    ):
        sel = {"day": day_col, "bcp": bcp_col, "nationality": IndividualFile.nationality}
        cols = [sel[g] for g in group_by]
        stmt = (select(*cols, func.count()).select_from(EntryExitRecord)
                .join(IndividualFile, IndividualFile.id == EntryExitRecord.file_id)
                .where(where >= date_from, where <= date_to))
        if kind == "overstays":
            stmt = stmt.where(EntryExitRecord.overstay.is_(True))
        if cols:
            stmt = stmt.group_by(*cols)
        for *k, n in ctx.session.execute(stmt):
            bump(tuple(k), kind, n)
    sel = {"day": RefusalRecord.refusal_date, "bcp": RefusalRecord.bcp, "nationality": IndividualFile.nationality}
    cols = [sel[g] for g in group_by]
    stmt = (select(*cols, RefusalRecord.reasons, func.count()).select_from(RefusalRecord)
            .join(IndividualFile, IndividualFile.id == RefusalRecord.file_id)
            .where(RefusalRecord.refusal_date >= date_from, RefusalRecord.refusal_date <= date_to)
            .group_by(*cols, RefusalRecord.reasons))
    for *k, reasons, n in ctx.session.execute(stmt):
        bump(tuple(k), "refusals", n)
        by = rows[tuple(k)]["refusals_by_reason"]
        for letter in reasons:
            by[letter] = by.get(letter, 0) + n
    out = []
    for k in sorted(rows, key=lambda t: tuple("" if v is None else str(v) for v in t)):
        labels = dict(zip(group_by, k))
        out.append(S.StatisticsRow(**labels, **rows[k]))
    return S.StatisticsOut(date_from=date_from, date_to=date_to, group_by=group_by, rows=out)
