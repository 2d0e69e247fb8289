"""Data-subject rights over EES data (EES Art. 52, with Art. 35 and GDPR Arts. 15-18).

A third-country national asks any Member State for access to, or rectification, completion, erasure or
restriction of, their EES data. The request is answered within 45 days of receipt (52(3)). A Member
State that is not responsible for the data either checks them itself within 30 days, or contacts the
Member State responsible within 7 days, which then checks within 30 days of the contact (52(4)-(5),
35(3)). The person gets written confirmation of receipt and of the outcome (52(6)).

The Member State responsible is the one that created the file: the state of the crossing point of the
file's earliest entry or refusal record (the file itself stores only the creating authority's name).
Every step appends one line to the request's trail: when, which Member State and authority, what; no
personal data beyond the request's own.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any, Literal, get_args

from pydantic import Field
from sqlalchemy import JSON, Date, Index, String, Uuid, select, text
from sqlalchemy.orm import Mapped, mapped_column

from smartborders.core.db import Base, UTCDateTime
from smartborders.core.errors import Conflict, InvalidInput, NotFound
from smartborders.ees import schemas as S
from smartborders.ees.models import CrossingPoint, EntryExitRecord, IndividualFile, RefusalRecord
from smartborders.ees.service import Context, file_out, find_by_document
from smartborders.reference import read_rows
from smartborders.reference.countries import iso_alpha3

ANSWER_DAYS = 45  # Art. 52(3)
CHECK_DAYS = 30  # Art. 52(4), 35(3): the receiving state's own check, or the responsible state's after contact
CONTACT_DAYS = 7  # Art. 35(3): a non-responsible state contacts the responsible one

# The Member States that operate the EES (Art. 2, 66): the EU without Ireland and Cyprus, and the four
# Schengen associated states.
StateCode = Literal[
    "AUT", "BEL", "BGR", "HRV", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN", "ITA", "LVA", "LTU",
    "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN", "ESP", "SWE", "CHE", "ISL", "LIE", "NOR",
]
EES_STATES = frozenset(get_args(StateCode))

Kind = Literal["access", "rectification", "completion", "erasure", "restriction"]
Status = Literal["received", "forwarded", "answered", "rejected"]
# Advance erasure bases of `ees.purge.erase_file` (Art. 35(5)); erasure for unlawful processing
# (35(2)) has no use case in the purge module yet.
ErasureBasis = Literal["nationality", "residence_permit", "residence_card", "long_stay_visa"]


# ---- table ---------------------------------------------------------------------------------------


class DataSubjectRequest(Base):
    """One Art. 52 request. No foreign key to the file: the request and its trail outlive an erasure."""

    __tablename__ = "ees_data_subject_request"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the receipt request, for replays
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    received_by: Mapped[str] = mapped_column(String(3))
    received_authority: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    file_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    responsible_state: Mapped[str | None] = mapped_column(String(3))
    answer_due: Mapped[date] = mapped_column(Date)
    check_due: Mapped[date | None] = mapped_column(Date)
    contact_due: Mapped[date | None] = mapped_column(Date)
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    forwarded_check_due: Mapped[date | None] = mapped_column(Date)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(3))
    outcome: Mapped[str | None] = mapped_column(String(16))
    # Rectification / completion: the change asked for (the person's own data, needed to decide).
    changes: Mapped[dict] = mapped_column(JSON, server_default=text("'{}'"))
    reasons: Mapped[str | None] = mapped_column(String(1000))
    trail: Mapped[list] = mapped_column(JSON, server_default=text("'[]'"))

    __table_args__ = (Index("ix_ees_dsr_open_due", "status", "answer_due"),)


# ---- shapes --------------------------------------------------------------------------------------


class ProofOfIdentity(S.Strict):
    """What the person shows: the travel document and the identity it carries."""

    document: S.DocumentIn
    surname: S.Name
    birth_date: S.IsoDate


class Changes(S.Strict):
    """Art. 52(1): what the person asks to be rectified or completed in the file's identity data."""

    surname: S.Name | None = None
    given_names: S.GivenNames | None = None
    birth_date: S.IsoDate | None = None
    sex: Literal["M", "F", "X"] | None = None
    nationality: S.CountryCode | None = None
    other_nationalities: list[S.CountryCode] = Field(default_factory=list, max_length=5)


class RequestIn(S.Strict):
    client_id: S.ClientId
    kind: Kind
    received_by: StateCode = Field(description="the Member State (alpha-3) that received the request")
    authority: S.Authority
    person: ProofOfIdentity
    changes: Changes | None = Field(None, description="rectification and completion: the change asked for")


class ForwardIn(S.Strict):
    state: StateCode = Field(description="the Member State forwarding: the one that received the request")
    authority: S.Authority


class AnswerIn(S.Strict):
    state: StateCode = Field(description="the Member State answering")
    authority: S.Authority
    decision: Literal["granted", "rejected"]
    reasons: str | None = Field(None, min_length=1, max_length=1000,
                                description="required when rejected: why, as told to the person")
    erasure_basis: ErasureBasis | None = Field(None, description="erasure: the Art. 35(5) basis found")


class TrailEntry(S.Out):
    at: datetime
    step: str
    state: str
    authority: str
    note: str


class RequestOut(S.Out):
    id: str
    client_id: str
    kind: str
    status: str
    received_by: str
    received_at: datetime
    responsible_state: str | None
    receiver_responsible: bool
    answer_due: date
    check_due: date | None = Field(description="non-responsible receiver checking itself: 30 days")
    contact_due: date | None = Field(description="non-responsible receiver: contact the responsible state, 7 days")
    forwarded_at: datetime | None
    forwarded_check_due: date | None = Field(description="the responsible state's check: 30 days from contact")
    answered_at: datetime | None
    answered_by: str | None
    outcome: str | None
    reasons: str | None
    overdue: list[str] = Field(description="the deadlines passed with the request still open")
    changes: dict[str, Any]
    trail: list[TrailEntry]


class ReceiptOut(S.Out):
    request: RequestOut
    confirmation: str = Field(description="the written confirmation of receipt (Art. 52(6))")


class AnswerOut(S.Out):
    request: RequestOut
    confirmation: str = Field(description="the written confirmation of the outcome (Art. 52(6))")
    data: S.FileOut | None = Field(None, description="access: the data held, without biometric data")
    changed: list[str] = Field(default_factory=list)
    erased: dict[str, int] | None = None


# ---- problems ------------------------------------------------------------------------------------


class IdentityNotProven(InvalidInput):
    # One answer for an unknown document and for a mismatch: it must not tell whether a file exists.
    slug = "identity-not-proven"
    title = "The person's identity could not be confirmed against EES data"


class WrongStep(Conflict):
    slug = "data-subject-request-wrong-step"
    title = "This step does not apply to the request in its current state"


class WrongState(Conflict):
    slug = "data-subject-request-wrong-member-state"
    title = "This Member State cannot take this step on the request"


class RequestClientIdReused(Conflict):
    slug = "client-id-reused"
    title = "The client id was used for another request"


# ---- rules ---------------------------------------------------------------------------------------


def _alpha3(alpha2: str) -> str | None:
    table = {r["alpha2"]: r["alpha3"] for r in read_rows("countries.csv") if r["alpha3"] in iso_alpha3()}
    return table.get(alpha2)


def responsible_state(ctx: Context, file_id: uuid.UUID) -> str | None:
    """Art. 35(1): the Member State that entered the data: the state of the crossing point where the
    file's earliest entry or refusal was recorded."""
    first_entry = ctx.session.execute(
        select(EntryExitRecord.entry_at, CrossingPoint.state).join(CrossingPoint,
                                                                  CrossingPoint.code == EntryExitRecord.entry_bcp)
        .where(EntryExitRecord.file_id == file_id).order_by(EntryExitRecord.entry_at).limit(1)).first()
    first_refusal = ctx.session.execute(
        select(RefusalRecord.refused_at, CrossingPoint.state).join(CrossingPoint, CrossingPoint.code == RefusalRecord.bcp)
        .where(RefusalRecord.file_id == file_id).order_by(RefusalRecord.refused_at).limit(1)).first()
    firsts = [r for r in (first_entry, first_refusal) if r is not None]
    if not firsts:
        return None
    return _alpha3(min(firsts, key=lambda r: r[0])[1])


def overdue(r: DataSubjectRequest, today: date) -> list[str]:
    """Which of the request's deadlines have passed while it is open."""
    if r.status in ("answered", "rejected"):
        return []
    late = []
    if r.status == "received" and r.check_due is not None and today > r.check_due:
        late.append("check")  # 52(4): neither checked within 30 days nor forwarded
    if r.status == "received" and r.contact_due is not None and today > r.contact_due and r.check_due is None:
        late.append("contact")
    if r.status == "forwarded" and r.forwarded_check_due is not None and today > r.forwarded_check_due:
        late.append("responsible_check")
    if today > r.answer_due:
        late.append("answer")
    return late


def _fingerprint(cmd: RequestIn) -> str:
    body = json.dumps(cmd.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _state_name(code: str) -> str:
    return iso_alpha3().get(code, code)


def supervisory_authority(state: str) -> str:
    """The Art. 52(8)/55 remedy text: complaint to the national data protection authority, or a court."""
    return (f"You may lodge a complaint with the data protection supervisory authority of {_state_name(state)}, "
            f"and bring an action before the courts of {_state_name(state)} (EES Art. 54-55; GDPR Art. 77-79).")


def _log(ctx: Context, r: DataSubjectRequest, step: str, state: str, authority: str, note: str) -> None:
    # A new list, not an append: a JSON column notices only a new value.
    r.trail = [*r.trail, {"at": ctx.now().isoformat(), "step": step, "state": state, "authority": authority,
                          "note": note}]


def request_out(r: DataSubjectRequest, today: date) -> RequestOut:
    return RequestOut(
        id=str(r.id), client_id=r.client_id, kind=r.kind, status=r.status, received_by=r.received_by,
        received_at=r.received_at, responsible_state=r.responsible_state,
        receiver_responsible=r.responsible_state in (None, r.received_by), answer_due=r.answer_due,
        check_due=r.check_due, contact_due=r.contact_due, forwarded_at=r.forwarded_at,
        forwarded_check_due=r.forwarded_check_due, answered_at=r.answered_at, answered_by=r.answered_by,
        outcome=r.outcome, reasons=r.reasons, overdue=overdue(r, today), changes=dict(r.changes or {}),
        trail=[TrailEntry(at=datetime.fromisoformat(t["at"]), step=t["step"], state=t["state"],
                          authority=t["authority"], note=t["note"]) for t in r.trail],
    )


def _today(ctx: Context) -> date:
    return ctx.now().date()


# ---- use cases -----------------------------------------------------------------------------------


def receive(ctx: Context, cmd: RequestIn) -> ReceiptOut:
    """Art. 52(1)-(3), (6): register the request, confirm its receipt in writing with the deadline.
    Idempotent by `client_id`."""
    fp = _fingerprint(cmd)
    seen = ctx.session.scalars(select(DataSubjectRequest).where(DataSubjectRequest.client_id == cmd.client_id)).first()
    if seen is not None:
        if seen.fingerprint != fp:
            raise RequestClientIdReused(f"client id {cmd.client_id} was first used for another request",
                                        client_id=cmd.client_id)
        return ReceiptOut(request=request_out(seen, _today(ctx)), confirmation=_receipt_text(seen))
    if cmd.kind in ("rectification", "completion"):
        if cmd.changes is None or not cmd.changes.model_dump(exclude_defaults=True):
            raise InvalidInput(f"a {cmd.kind} request says what to change (changes)")
    elif cmd.changes is not None:
        raise InvalidInput(f"an {cmd.kind} request carries no changes")
    f = find_by_document(ctx.session, cmd.person.document)
    if f is None or f.surname != cmd.person.surname or f.birth_date != cmd.person.birth_date:
        raise IdentityNotProven("the travel document, surname and date of birth given do not identify the person "
                                "in the EES; check them against the travel document")
    now = ctx.now()
    responsible = responsible_state(ctx, f.id) or cmd.received_by
    other = responsible != cmd.received_by
    r = DataSubjectRequest(
        id=uuid.uuid4(), client_id=cmd.client_id, fingerprint=fp, kind=cmd.kind, status="received",
        received_by=cmd.received_by, received_authority=cmd.authority, received_at=now, file_id=f.id,
        responsible_state=responsible, answer_due=now.date() + timedelta(days=ANSWER_DAYS),
        check_due=now.date() + timedelta(days=CHECK_DAYS) if other else None,
        contact_due=now.date() + timedelta(days=CONTACT_DAYS) if other else None,
        changes=cmd.changes.model_dump(mode="json", exclude_defaults=True) if cmd.changes else {},
        trail=[],
    )
    _log(ctx, r, "received", cmd.received_by, cmd.authority,
         f"{cmd.kind} request received; identity confirmed against the file; responsible state {responsible}")
    ctx.session.add(r)
    ctx.session.flush()
    return ReceiptOut(request=request_out(r, now.date()), confirmation=_receipt_text(r))


def _receipt_text(r: DataSubjectRequest) -> str:
    text_ = (f"{_state_name(r.received_by)} received your request for {r.kind} of your data in the Entry/Exit "
             f"System on {r.received_at.date().isoformat()} (reference {r.id}). You will receive an answer by "
             f"{r.answer_due.isoformat()} at the latest (EES Art. 52).")
    if r.responsible_state not in (None, r.received_by):
        text_ += (f" Your data were entered by {_state_name(r.responsible_state)}; if we cannot check them "
                  f"ourselves we will contact it by {r.contact_due.isoformat()}.")  # type: ignore[union-attr]
    return text_ + " " + supervisory_authority(r.received_by)


def _get(ctx: Context, request_id: uuid.UUID, *, lock: bool = False) -> DataSubjectRequest:
    r = ctx.session.get(DataSubjectRequest, request_id, with_for_update=lock or None)
    if r is None:
        raise NotFound(f"no data-subject request {request_id}", request_id=str(request_id))
    return r


def get_request(ctx: Context, request_id: uuid.UUID) -> RequestOut:
    return request_out(_get(ctx, request_id), _today(ctx))


def list_requests(ctx: Context, *, state: str | None = None, only_overdue: bool = False, limit: int = 100,
                  offset: int = 0) -> list[RequestOut]:
    """The requests a Member State has received or must answer, open ones by due date; `only_overdue`:
    those past a deadline."""
    stmt = select(DataSubjectRequest).order_by(DataSubjectRequest.answer_due, DataSubjectRequest.id)
    if state is not None:
        stmt = stmt.where((DataSubjectRequest.received_by == state) | (DataSubjectRequest.responsible_state == state))
    if only_overdue:
        stmt = stmt.where(DataSubjectRequest.status.in_(("received", "forwarded")))
    today = _today(ctx)
    out = [request_out(r, today) for r in ctx.session.scalars(stmt)]
    if only_overdue:
        out = [r for r in out if r.overdue]
    return out[offset:offset + limit]


def forward(ctx: Context, request_id: uuid.UUID, cmd: ForwardIn) -> RequestOut:
    """Art. 35(3), 52(5): the receiving, non-responsible state contacts the responsible one."""
    r = _get(ctx, request_id, lock=True)
    if r.status != "received":
        raise WrongStep(f"the request is {r.status}; only a received request is forwarded", request_status=r.status)
    if cmd.state != r.received_by:
        raise WrongState(f"only {r.received_by}, which received the request, forwards it")
    if r.responsible_state in (None, r.received_by):
        raise WrongStep(f"{r.received_by} is itself responsible for the data; it answers the request")
    now = ctx.now()
    r.status, r.forwarded_at = "forwarded", now
    r.forwarded_check_due = now.date() + timedelta(days=CHECK_DAYS)
    late = r.contact_due is not None and now.date() > r.contact_due
    _log(ctx, r, "forwarded", cmd.state, cmd.authority,
         f"contacted {r.responsible_state}; check due {r.forwarded_check_due.isoformat()}"
         + (f"; late: contact was due by {r.contact_due.isoformat()}" if late else ""))  # type: ignore[union-attr]
    ctx.session.flush()
    return request_out(r, now.date())


def answer(ctx: Context, request_id: uuid.UUID, cmd: AnswerIn) -> AnswerOut:
    """Art. 52(3)-(6), 35: decide the request, carry it out, and confirm the outcome in writing.

    Who answers: a forwarded request, the responsible state; a received one, the receiving state (when it
    is responsible, or when it checks without consulting the responsible one, 35(3))."""
    r = _get(ctx, request_id, lock=True)
    if r.status in ("answered", "rejected"):
        raise WrongStep(f"the request was already {r.status}", request_status=r.status)
    allowed = r.responsible_state if r.status == "forwarded" else r.received_by
    if cmd.state != allowed:
        raise WrongState(f"this request is answered by {allowed}")
    if cmd.decision == "rejected" and not cmd.reasons:
        raise InvalidInput("a rejection gives its reasons")
    now = ctx.now()
    f = ctx.session.get(IndividualFile, r.file_id, with_for_update=True) if r.file_id else None
    data, changed, erased = None, [], None
    if cmd.decision == "granted":
        if r.kind == "erasure" and cmd.erasure_basis is None:
            raise InvalidInput("an erasure names its basis (erasure_basis, Art. 35(5))")
        if r.kind != "erasure" and cmd.erasure_basis is not None:
            raise InvalidInput("erasure_basis belongs to an erasure request")
        if f is None and r.kind != "access":
            raise WrongStep("the individual file no longer exists (erased meanwhile); answer with a rejection")
        if r.kind == "access":
            data = file_out(f) if f is not None else None  # file_out carries no biometric data, only their status
            note = ("data released: " + (f"{len(data.documents)} documents, {len(data.records)} records, "
                                         f"{len(data.refusals)} refusals" if data else "no data held any longer"))
        elif r.kind in ("rectification", "completion"):
            changed = _apply(ctx, f, r.kind, r.changes)  # type: ignore[arg-type]
            note = f"{r.kind} applied under Art. 35: {', '.join(changed) or 'nothing differed'}"
        elif r.kind == "erasure":
            from smartborders.ees.purge import erase_file

            erased = erase_file(ctx, f.id, basis=cmd.erasure_basis).detail  # type: ignore[union-attr, arg-type]
            note = f"file erased, basis {cmd.erasure_basis}"
        else:
            note = "processing restricted (GDPR Art. 18): kept, marked, used only to answer and defend"
        r.outcome = {"access": "data_provided", "rectification": "rectified", "completion": "completed",
                     "erasure": "erased", "restriction": "restricted"}[r.kind]
        r.status = "answered"
    else:
        r.status, r.outcome, note = "rejected", "rejected", "rejected with reasons given to the person"
    r.reasons = cmd.reasons
    r.answered_at, r.answered_by = now, cmd.state
    late = overdue_before_answer(r, now.date())
    _log(ctx, r, r.status, cmd.state, cmd.authority, note + (f"; late: {', '.join(late)}" if late else ""))
    ctx.session.flush()
    return AnswerOut(request=request_out(r, now.date()), confirmation=_outcome_text(r), data=data,
                     changed=changed, erased=erased)


def overdue_before_answer(r: DataSubjectRequest, today: date) -> list[str]:
    late = []
    if r.forwarded_check_due is not None and today > r.forwarded_check_due:
        late.append("responsible_check")
    elif r.forwarded_at is None and r.check_due is not None and today > r.check_due:
        late.append("check")
    if today > r.answer_due:
        late.append("answer")
    return late


_IDENTITY_FIELDS = ("surname", "given_names", "birth_date", "sex", "nationality")


def _apply(ctx: Context, f: IndividualFile, kind: str, changes: dict[str, Any]) -> list[str]:
    """Art. 35(1)-(2): rectify (replace) or complete (fill what is missing) the file's identity data, and
    keep the CIR in step."""
    changed = []
    for name in _IDENTITY_FIELDS:
        if name not in changes or changes[name] is None:
            continue
        new = date.fromisoformat(changes[name]) if name == "birth_date" else changes[name]
        old = getattr(f, name)
        if kind == "completion" and old not in (None, ""):
            continue  # completion fills gaps; replacing a value is rectification
        if old != new:
            setattr(f, name, new)
            changed.append(name)
    extra = set(changes.get("other_nationalities") or []) - set(f.other_nationalities.split()) - {f.nationality}
    if extra:
        f.other_nationalities = " ".join(sorted(set(f.other_nationalities.split()) | extra))
        changed.append("other_nationalities")
    if changed:
        f.updated_at = ctx.now()
        from smartborders.interop import cir

        held = cir.get(ctx.session, "EES", str(f.id))
        if held is not None:
            who, bio = held
            cir.store(ctx.session, "EES", str(f.id), cir.Identity(
                f.surname, f.given_names, f.birth_date, f.sex, f.nationality, who.document_number,
                who.document_state), ctx.now(), has_biometrics=bio)
    return changed


def _outcome_text(r: DataSubjectRequest) -> str:
    by = _state_name(r.answered_by or r.received_by)
    head = f"{by} has decided your request for {r.kind} of your data in the Entry/Exit System (reference {r.id}): "
    body = {
        "data_provided": "the data held about you are set out in this answer.",
        "rectified": "your data have been rectified as set out.",
        "completed": "your data have been completed as set out.",
        "erased": "your data have been erased.",
        "restricted": "the processing of your data has been restricted.",
        "rejected": f"your request is rejected, for these reasons: {r.reasons}",
    }[r.outcome or "rejected"]
    return head + body + " " + supervisory_authority(r.answered_by or r.received_by)


def restricted_files(ctx: Context) -> set[uuid.UUID]:
    """The files whose processing a granted restriction request marks (for the consoles and exports)."""
    return set(ctx.session.scalars(select(DataSubjectRequest.file_id).where(
        DataSubjectRequest.kind == "restriction", DataSubjectRequest.outcome == "restricted",
        DataSubjectRequest.file_id.is_not(None))))
