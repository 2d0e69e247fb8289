"""ETIAS after the automated processing: the national unit's manual processing (Reg. 2018/1240 Art.
27-29, 32), limited territorial validity (Art. 44), annulment and revocation (Art. 40-43), the
monitoring of valid authorisations against new alerts (Art. 41(3)-(5)), appeals, and the log of every
operation with its purpose (Art. 69).

Deadlines, each from the law, and marked [K] where the figure was not read in the text:
- the applicant answers a request for information within 10 days of receiving it (Art. 27(2));
- a consulted Member State or Europol gives its opinion within 60 hours, silence counting as a positive
  opinion (Art. 28 [K], 29(6));
- the decision follows within 96 hours of the answer, or 48 hours of the interview (Art. 32(2)) [K];
- an interview takes place within 30 days (the official guidance: "up to 30 days") [K];
- an LTV is valid for at most 90 days (Art. 44) [K].

Each function runs in the caller's transaction; a refused operation changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from smartborders.core.errors import Conflict, InvalidInput, NotFound
from smartborders.ees.service import Context
from smartborders.etias import rules
from smartborders.etias import schemas as S
from smartborders.etias.models import (
    Appeal,
    Application,
    Consultation,
    Document,
    Hit,
    InfoRequest,
    ListEntry,
    Log,
    Ltv,
)

REPLY_DAYS = 10  # Art. 27(2)
CONSULTATION_HOURS = 60  # Art. 28 [K], 29(6)
AFTER_ANSWER_HOURS = 96  # Art. 32(2) [K]
AFTER_INTERVIEW_HOURS = 48  # Art. 32(2) [K]
INTERVIEW_WITHIN_DAYS = 30  # [K] official guidance
LTV_MAX_DAYS = 90  # Art. 44 [K]


class ApplicationNotFound(NotFound):
    slug = "etias-application-not-found"
    title = "No ETIAS application with this number"


class NotResponsible(Conflict):
    slug = "etias-not-responsible"
    title = "Another Member State is responsible for this application"


class WrongStep(Conflict):
    slug = "etias-wrong-step"
    title = "The application is not at a step where this can be done"


class RequestNotFound(NotFound):
    slug = "etias-request-not-found"
    title = "No such request on this application"


class ReplyLate(Conflict):
    slug = "etias-reply-late"
    title = "The deadline to reply has passed"


class NotTheApplicant(Conflict):
    slug = "etias-not-the-applicant"
    title = "The document number does not match the application"


class ConsultationNotFound(NotFound):
    slug = "etias-consultation-not-found"
    title = "No consultation of this authority on this application"


class OpinionLate(Conflict):
    slug = "etias-opinion-late"
    title = "The 60 hours have passed: the silence counted as a positive opinion"


# ---- helpers ----------------------------------------------------------------------------------------


def log(ctx: Context, authority: str, actor: str, purpose: str, operation: str, number: str | None,
        **detail: Any) -> None:
    """Art. 69: one line for each processing operation; the file number, never the applicant's data."""
    ctx.session.add(Log(at=ctx.now(), authority=authority, actor=actor, purpose=purpose, operation=operation,
                        application=number, detail=detail))


def application(ctx: Context, number: str, *, lock: bool = True) -> Application:
    q = select(Application).where(Application.number == number)
    a = ctx.session.scalar(q.with_for_update() if lock else q)
    if a is None:
        raise ApplicationNotFound(f"no application {number}")
    return a


def _state(who: str | None) -> str | None:
    return who.split(":", 1)[0] if who else None


def _notify(a: Application, now: datetime, text: str) -> None:
    a.notices = [*(a.notices or []), f"{now.isoformat()} {text}"]


def consultation_status(c: Consultation, now: datetime) -> str:
    if c.opinion is not None:
        return "deemed_positive" if c.deemed else "answered"
    return "deemed_positive" if now > c.due_at else "pending"


def request_status(r: InfoRequest, now: datetime) -> str:
    if r.status == "open" and r.kind == "information" and now > r.due_at:
        return "lapsed"
    return r.status


def _responsible(a: Application, state: str) -> None:
    if a.status != rules.MANUAL:
        raise WrongStep(f"application {a.number} is {a.status}, not in manual processing", status=a.status)
    if state != a.responsible_state:
        raise NotResponsible(f"{a.responsible_state} is responsible for application {a.number} (Art. 25)",
                             responsible_state=a.responsible_state)


def sweep(ctx: Context, a: Application | None = None) -> dict[str, int]:
    """Record what the clock decided: consultations unanswered after 60 hours are positive opinions
    (Art. 29(6)); requests for information unanswered after 10 days have lapsed (Art. 27(2), 37(1)(f))."""
    now = ctx.now()
    qc = select(Consultation).where(Consultation.opinion.is_(None), Consultation.due_at < now)
    qr = select(InfoRequest).where(InfoRequest.status == "open", InfoRequest.kind == "information",
                                   InfoRequest.due_at < now)
    if a is not None:
        qc, qr = qc.where(Consultation.application_id == a.id), qr.where(InfoRequest.application_id == a.id)
    n_c = n_r = 0
    for c in ctx.session.scalars(qc):
        c.opinion, c.deemed, c.answered_at = "positive", True, c.due_at
        c.opinion_reason = f"no reply within {CONSULTATION_HOURS} hours: a positive opinion (Art. 28, 29(6))"
        n_c += 1
    for r in ctx.session.scalars(qr):
        r.status = "lapsed"
        n_r += 1
    ctx.session.flush()
    return {"consultations_deemed_positive": n_c, "requests_lapsed": n_r}


# ---- what the case shows ----------------------------------------------------------------------------


def _request_out(ctx: Context, r: InfoRequest) -> S.RequestOut:
    docs = ctx.session.scalars(select(Document.name).where(Document.request_id == r.id)).all()
    return S.RequestOut(id=str(r.id), kind=r.kind, asked_by=r.asked_by, on_behalf_of=r.on_behalf_of, text=r.text,
                        languages=list(r.languages or []), asked_at=r.asked_at, due_at=r.due_at, place=r.place,
                        status=request_status(r, ctx.now()), answered_at=r.answered_at, answer=r.answer,
                        documents=list(docs))


def _ltv_out(v: Ltv) -> S.LtvOut:
    return S.LtvOut(id=str(v.id), issued_by=v.issued_by, ground=v.ground, states=list(v.states),
                    valid_from=v.valid_from, valid_until=v.valid_until, issued_at=v.issued_at)


def requests_of(ctx: Context, a: Application) -> list[S.RequestOut]:
    rows = ctx.session.scalars(select(InfoRequest).where(InfoRequest.application_id == a.id)
                               .order_by(InfoRequest.asked_at))
    return [_request_out(ctx, r) for r in rows]


def ltvs_of(ctx: Context, a: Application) -> list[S.LtvOut]:
    return [_ltv_out(v) for v in ctx.session.scalars(select(Ltv).where(Ltv.application_id == a.id)
                                                     .order_by(Ltv.issued_at))]


def case_parts(ctx: Context, a: Application) -> dict[str, Any]:
    """The manual-processing part of a case, as the units see it."""
    now = ctx.now()
    cons = ctx.session.scalars(select(Consultation).where(Consultation.application_id == a.id)
                               .order_by(Consultation.requested_at, Consultation.consulted)).all()
    appeals = ctx.session.scalars(select(Appeal).where(Appeal.application_id == a.id).order_by(Appeal.recorded_at))
    reqs = requests_of(ctx, a)
    waiting = None
    if a.status == rules.CENTRAL_UNIT:
        waiting = "central_unit"
    elif a.status == rules.MANUAL:
        if any(r.status == "open" for r in reqs):
            waiting = "applicant"
        elif any(consultation_status(c, now) == "pending" for c in cons):
            waiting = "consultation"
        else:
            waiting = "national_unit"
    elif a.status == rules.ISSUED and a.review_state:
        waiting = "national_unit"
    return dict(  # noqa: C408 - keyword names are the CaseOut fields
        waiting_on=waiting, review_state=a.review_state, ended_grounds=list(a.end_grounds or []), requests=reqs,
        consultations=[S.ConsultationOut(
            id=str(c.id), consulted=c.consulted, why=c.why, requested_at=c.requested_at, due_at=c.due_at,
            status=consultation_status(c, now), opinion=c.opinion if c.opinion else (
                "positive" if now > c.due_at else None),
            reason=c.opinion_reason, answered_by=c.answered_by, second_line_check=c.second_line_check)
            for c in cons],
        ltvs=ltvs_of(ctx, a),
        appeals=[S.AppealOut(id=str(p.id), against=p.against, state=p.state, reference=p.reference,
                             lodged_on=p.lodged_on, outcome=p.outcome, outcome_on=p.outcome_on,
                             outcome_note=p.outcome_note) for p in appeals])


# ---- consultations (Art. 28-29) ---------------------------------------------------------------------


def start_consultations(ctx: Context, a: Application, kept: list[Hit], by: str) -> list[str]:
    """Art. 28(1), 29(1): when the data behind the kept hits came from other Member States or from
    Europol, they are consulted (the Central Unit notifies them on verification)."""
    others = {rules.ALPHA2[h.supplied_by] for h in kept if (h.supplied_by or "") in rules.ALPHA2}
    others.discard(a.responsible_state or "")
    if any(h.supplied_by == "EUROPOL" for h in kept):
        others.add("EUROPOL")
    for who in sorted(others):
        refs = ", ".join(sorted({f"{h.article} {h.reference}" for h in kept
                                 if h.supplied_by == who or rules.ALPHA2.get(h.supplied_by or "") == who}))
        _consult(ctx, a, who, f"it supplied the data behind the hit(s) {refs}"[:500], by)
    return sorted(others)


def _consult(ctx: Context, a: Application, who: str, why: str, by: str) -> Consultation:
    now = ctx.now()
    c = Consultation(application_id=a.id, consulted=who, why=why, requested_at=now,
                     due_at=now + timedelta(hours=CONSULTATION_HOURS), second_line_check=False)
    ctx.session.add(c)
    # Art. 29(3): Europol never receives the education data (Art. 17(2)(h)); the case view it gets
    # (a unit's console, issue 6) must leave it out. Recorded here so that the log shows what was sent.
    sent = sorted(k for k in a.data if not (who == "EUROPOL" and k == "education"))
    log(ctx, "central_unit" if by == "central_unit" else f"national_unit:{a.responsible_state}", by,
        "ETIAS Art. 28-29", "consult", a.number, consulted=who, data=sent)
    return c


def consult(ctx: Context, number: str, cmd: S.ConsultIn) -> S.CaseOut:
    """Art. 28(5), 29(5): the unit responsible consults others itself (e.g. after an answer)."""
    from smartborders.etias.service import _case

    a = application(ctx, number)
    _responsible(a, cmd.state)
    for who in cmd.consulted:
        if who == a.responsible_state:
            raise InvalidInput(f"consulted: {who} is the Member State responsible")
        if who != "EUROPOL" and who not in rules.ETIAS_COUNTRIES:
            raise InvalidInput(f"consulted: {who} is not a Member State where ETIAS applies, nor EUROPOL")
        pending = ctx.session.scalar(select(Consultation).where(
            Consultation.application_id == a.id, Consultation.consulted == who, Consultation.opinion.is_(None),
            Consultation.due_at >= ctx.now()))
        if pending is not None:
            raise WrongStep(f"{who} is already consulted on {number}, until {pending.due_at.isoformat()}")
        _consult(ctx, a, who, cmd.why, f"{cmd.state}:{cmd.officer}")
    ctx.session.flush()
    return _case(ctx, a)


def opinion(ctx: Context, number: str, consultation_id: str, cmd: S.OpinionIn) -> S.CaseOut:
    """Art. 28(3), 29(4): a reasoned positive or negative opinion, recorded in the file and seen only by
    the consulted and the responsible units. A consulted Member State may ask for information from the
    applicant (the unit responsible must then ask it, Art. 27(1)) or for the second-line flag (Art. 36(2))."""
    from smartborders.etias.service import _case

    a = application(ctx, number)
    if a.status != rules.MANUAL:
        raise WrongStep(f"application {number} is {a.status}, not in manual processing", status=a.status)
    c = ctx.session.scalar(select(Consultation).where(Consultation.application_id == a.id,
                                                      Consultation.consulted == cmd.consulted)
                           .order_by(Consultation.requested_at.desc()).limit(1))
    if c is None or str(c.id) != consultation_id:
        raise ConsultationNotFound(f"{cmd.consulted} has no consultation {consultation_id} on {number}")
    now = ctx.now()
    status = consultation_status(c, now)
    if status == "deemed_positive":
        raise OpinionLate(f"the opinion was due by {c.due_at.isoformat()}", due_at=c.due_at.isoformat())
    if status == "answered":
        raise WrongStep(f"{cmd.consulted} already gave its opinion on {number}")
    c.opinion, c.opinion_reason, c.answered_at = cmd.opinion, cmd.reason, now
    c.answered_by, c.second_line_check = f"{cmd.consulted}:{cmd.officer}", cmd.second_line_check
    log(ctx, "europol" if cmd.consulted == "EUROPOL" else f"national_unit:{cmd.consulted}",
        f"{cmd.consulted}:{cmd.officer}", "ETIAS Art. 28-29", "opinion", number, opinion=cmd.opinion)
    if cmd.request_information:
        if any(r.status == "open" for r in requests_of(ctx, a)):
            raise WrongStep("a request to the applicant is already open: give the question after its answer")
        _ask(ctx, a, f"{a.responsible_state}:{cmd.officer}", "information", cmd.request_information,
             ["en", "fr", "de"], on_behalf_of=cmd.consulted)
    ctx.session.flush()
    return _case(ctx, a)


# ---- requests for information and interviews (Art. 27, 30, 32) --------------------------------------


def _ask(ctx: Context, a: Application, by: str, kind: str, text: str, languages: list[str],
         on_behalf_of: str | None = None, at: datetime | None = None, place: str | None = None) -> InfoRequest:
    now = ctx.now()
    due = now + timedelta(days=REPLY_DAYS) if kind == "information" else at
    assert due is not None
    r = InfoRequest(application_id=a.id, kind=kind, asked_by=by, on_behalf_of=on_behalf_of, text=text,
                    languages=languages, asked_at=now, due_at=due, place=place, status="open")
    ctx.session.add(r)
    a.due_at = due
    if kind == "information":
        _notify(a, now, f"more information or documents are needed to decide: {text}. Answer through your "
                "secure account by " f"{due.isoformat()} (10 days), in {', '.join(languages)}; without an answer "
                "the authorisation will be refused (Art. 27, 37(1)(f)). The decision follows within 96 hours of "
                "your answer (Art. 32(2))")
    else:
        _notify(a, now, f"you are invited to an interview on {due.isoformat()} at {place}: {text}. If you do not "
                "attend, the authorisation will be refused (Art. 27(4), 37(1)(g)). The decision follows within "
                "48 hours of the interview (Art. 32(2))")
    log(ctx, f"national_unit:{a.responsible_state}", by, "ETIAS Art. 27", f"request_{kind}", a.number,
        on_behalf_of=on_behalf_of)
    return r


def request_information(ctx: Context, number: str, cmd: S.InfoRequestIn) -> S.CaseOut:
    """Art. 27: ask the applicant (one open request at a time). An interview is the last resort: only
    after an answered request for information (Art. 27(4)) [K]."""
    from smartborders.etias.service import _case

    a = application(ctx, number)
    _responsible(a, cmd.state)
    sweep(ctx, a)
    now = ctx.now()
    earlier = ctx.session.scalars(select(InfoRequest).where(InfoRequest.application_id == a.id)).all()
    if any(r.status == "open" for r in earlier):
        raise WrongStep(f"application {number} already waits on the applicant")
    if any(r.status in ("lapsed", "missed") for r in earlier):
        raise WrongStep("the applicant did not answer or attend: the application is to be refused "
                        "(Art. 37(1)(f)-(g))")
    if cmd.kind == "interview":
        assert cmd.interview_at is not None
        if not any(r.kind == "information" and r.status == "answered" for r in earlier):
            raise WrongStep("an interview is the last resort, after a request for information was answered "
                            "(Art. 27(4))")
        if not now + timedelta(hours=24) <= cmd.interview_at <= now + timedelta(days=INTERVIEW_WITHIN_DAYS):
            raise InvalidInput(f"interview_at: between 24 hours and {INTERVIEW_WITHIN_DAYS} days from now")
    _ask(ctx, a, f"{cmd.state}:{cmd.officer}", cmd.kind, cmd.text, list(cmd.languages), at=cmd.interview_at,
         place=cmd.place)
    ctx.session.flush()
    return _case(ctx, a)


def answer(ctx: Context, number: str, cmd: S.AnswerIn) -> S.ApplicationOut:
    """The applicant's answer, with electronic copies of documents (Art. 27(2)); the 96 hours of the
    decision run again from it (Art. 32(2)) [K]."""
    from smartborders.etias.service import _out

    a = application(ctx, number)
    if cmd.document_number != a.document_number:
        raise NotTheApplicant("the travel document number is not that of the application")
    r = ctx.session.get(InfoRequest, _uuid(cmd.request_id))
    if r is None or r.application_id != a.id or r.kind != "information":
        raise RequestNotFound(f"no request for information {cmd.request_id} on {number}")
    now = ctx.now()
    if request_status(r, now) != "open":
        if request_status(r, now) == "lapsed":
            raise ReplyLate(f"the answer was due by {r.due_at.isoformat()} (Art. 27(2))", due_at=r.due_at.isoformat())
        raise WrongStep(f"this request is {r.status}")
    blobs = []
    for i, d in enumerate(cmd.documents):
        try:
            raw = base64.b64decode(d.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(f"documents[{i}].content_base64: not base64") from None
        magic = {"application/pdf": b"%PDF", "image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG"}[d.media_type]
        if not raw.startswith(magic):
            raise InvalidInput(f"documents[{i}]: the content is not {d.media_type}")
        blobs.append(Document(request_id=r.id, name=d.name, media_type=d.media_type,
                              sha256=hashlib.sha256(raw).hexdigest(), size=len(raw), content=raw))
    ctx.session.add_all(blobs)
    r.status, r.answered_at, r.answer = "answered", now, cmd.answer
    a.due_at = now + timedelta(hours=AFTER_ANSWER_HOURS)
    _notify(a, now, f"your answer was received; a decision follows by {a.due_at.isoformat()} (Art. 32(2))")
    log(ctx, "applicant", "applicant", "ETIAS Art. 27", "answer", number, documents=len(blobs))
    ctx.session.flush()
    return _out(ctx, a)


def interview_outcome(ctx: Context, number: str, request_id: str, cmd: S.InterviewOutcomeIn) -> S.CaseOut:
    from smartborders.etias.service import _case

    a = application(ctx, number)
    _responsible(a, cmd.state)
    r = ctx.session.get(InfoRequest, _uuid(request_id))
    if r is None or r.application_id != a.id or r.kind != "interview":
        raise RequestNotFound(f"no interview {request_id} on {number}")
    if r.status != "open":
        raise WrongStep(f"the interview is already recorded as {r.status}")
    now = ctx.now()
    if now < r.due_at:
        raise WrongStep(f"the interview is on {r.due_at.isoformat()}")
    r.status, r.answered_at, r.answer = ("attended" if cmd.attended else "missed"), now, cmd.note
    a.due_at = now + timedelta(hours=AFTER_INTERVIEW_HOURS) if cmd.attended else now
    log(ctx, f"national_unit:{cmd.state}", f"{cmd.state}:{cmd.officer}", "ETIAS Art. 27(4)", "interview", number,
        attended=cmd.attended)
    ctx.session.flush()
    return _case(ctx, a)


def _uuid(value: str) -> Any:
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not an id") from None


def decision_constraints(ctx: Context, a: Application) -> tuple[list[str], list[str]]:
    """Before the national unit decides: what blocks a decision (raised), the grounds the law then
    requires (Art. 37(1)(f)-(g)), and the flags consulted Member States asked for (Art. 36(2))."""
    sweep(ctx, a)
    now = ctx.now()
    reqs = ctx.session.scalars(select(InfoRequest).where(InfoRequest.application_id == a.id)).all()
    if any(r.status == "open" for r in reqs):
        r = next(r for r in reqs if r.status == "open")
        raise WrongStep(f"the application waits on the applicant until {r.due_at.isoformat()} (Art. 27)",
                        waiting_on="applicant", due_at=r.due_at.isoformat())
    cons = ctx.session.scalars(select(Consultation).where(Consultation.application_id == a.id)).all()
    pending = [c for c in cons if consultation_status(c, now) == "pending"]
    if pending:
        raise WrongStep(f"waiting for the opinion of {', '.join(c.consulted for c in pending)} until "
                        f"{max(c.due_at for c in pending).isoformat()} (Art. 28-29)", waiting_on="consultation")
    required = sorted({"37(1)(f)" for r in reqs if r.status == "lapsed"} | {"37(1)(g)" for r in reqs
                                                                           if r.status == "missed"})
    flags = ["second_line_check"] if any(c.second_line_check for c in cons) else []
    return required, flags


# ---- limited territorial validity (Art. 44) ---------------------------------------------------------


def issue_ltv(ctx: Context, number: str, cmd: S.LtvIn) -> S.CaseOut:
    """Art. 44: exceptionally, the Member State the applicant means to visit issues an authorisation valid
    for itself (and for others that consent), even while manual processing goes on or after a refusal,
    annulment or revocation; manual processing is not interrupted."""
    from smartborders.etias.service import _case

    a = application(ctx, number)
    if a.status not in (rules.MANUAL, rules.CENTRAL_UNIT, *rules.ENDED):
        raise WrongStep(f"application {number} is {a.status}: an LTV is for a file in processing or refused, "
                        "annulled or revoked (Art. 44(1))", status=a.status)
    if cmd.state not in cmd.states:
        raise InvalidInput("states: an LTV is valid in the issuing Member State")
    consented = {c.state for c in cmd.consents}
    missing = sorted(set(cmd.states) - {cmd.state} - consented)
    if missing:
        raise InvalidInput(f"consents: {', '.join(missing)} must consent, through its national unit (Art. 44(4))",
                           missing=missing)
    today = ctx.now().date()
    if cmd.valid_from < today or cmd.valid_until < cmd.valid_from:
        raise InvalidInput("valid_from..valid_until: from today or later, and in order")
    if (cmd.valid_until - cmd.valid_from).days + 1 > LTV_MAX_DAYS:
        raise InvalidInput(f"an LTV is valid for at most {LTV_MAX_DAYS} days (Art. 44) [K]")
    if cmd.valid_until > a.document_expires_on:
        raise InvalidInput(f"valid_until: the travel document expires on {a.document_expires_on}")
    now = ctx.now()
    states = [cmd.state, *sorted(set(cmd.states) - {cmd.state})]
    ctx.session.add(Ltv(application_id=a.id, issued_by=f"{cmd.state}:{cmd.officer}", ground=cmd.ground,
                        states=states, valid_from=cmd.valid_from, valid_until=cmd.valid_until, reason=cmd.reason,
                        issued_at=now))
    _notify(a, now, f"a travel authorisation with limited territorial validity was issued by {cmd.state}, valid "
            f"from {cmd.valid_from} to {cmd.valid_until} only for {', '.join(states)} (Art. 38(1)(i), 44)")
    log(ctx, f"national_unit:{cmd.state}", f"{cmd.state}:{cmd.officer}", "ETIAS Art. 44", "ltv", number,
        ground=cmd.ground, states=states)
    ctx.session.flush()
    return _case(ctx, a)


def valid_ltv(session: Any, document_number: str, document_country: str, on: Any) -> tuple[Application, Ltv] | None:
    row = session.execute(select(Application, Ltv).join(Ltv, Ltv.application_id == Application.id).where(
        Application.document_number == document_number, Application.document_country == document_country,
        Ltv.valid_from <= on, Ltv.valid_until >= on).order_by(Ltv.issued_at.desc()).limit(1)).first()
    return (row[0], row[1]) if row else None


# ---- annulment, revocation and the monitoring of valid authorisations (Art. 40-43) ------------------


def withdraw(ctx: Context, number: str, cmd: S.WithdrawalIn, kind: str) -> S.CaseOut:
    """Art. 40 (annul: the conditions were not met at issue; Art. 37(1) or (2) grounds) or Art. 41
    (revoke: no longer met; Art. 37(1) grounds), by the Member State that holds the evidence, with the
    notification of Art. 42 and the data of Art. 43."""
    from smartborders.etias.service import _case

    a = application(ctx, number)
    if a.status != rules.ISSUED:
        raise WrongStep(f"application {number} is {a.status}: only an issued authorisation is annulled or revoked",
                        status=a.status)
    if kind == "revoked" and "37(2)" in cmd.grounds:
        raise InvalidInput("grounds: revocation is on the grounds of Art. 37(1) (Art. 41(1)); doubts at the time "
                           "of the application (37(2)) lead to annulment (Art. 40(1))")
    if a.data.get("family_member") is not None and "37(1)(c)" in cmd.grounds:
        raise InvalidInput("grounds: not the illegal immigration risk for a family member of a Union citizen "
                           "(Art. 24(4))")
    now = ctx.now()
    a.status, a.ended_at, a.ended_by = kind, now, f"{cmd.state}:{cmd.officer}"
    a.end_grounds, a.end_reason, a.review_state = list(cmd.grounds), cmd.reason, None
    for h in ctx.session.scalars(select(Hit).where(Hit.application_id == a.id, Hit.phase == "monitoring",
                                                   Hit.status == "pending")):
        h.status = "confirmed"
    why = "; ".join(f"{g}: {S.GROUNDS[g]}" for g in cmd.grounds)
    article = "40" if kind == "annulled" else "41"
    _notify(a, now, f"your travel authorisation {number} was {kind} by the national unit of {cmd.state} on the "
            f"grounds of Art. {why} (Art. {article}). A valid travel authorisation is a condition of stay. You may "
            f"appeal in {cmd.state} under its national law; you may ask for access to, rectification or erasure "
            "of your data (the ETIAS data protection officer, the EDPS, the national supervisory authority) "
            "(Art. 42)")
    log(ctx, f"national_unit:{cmd.state}", f"{cmd.state}:{cmd.officer}", f"ETIAS Art. {article}", kind, number,
        grounds=list(cmd.grounds))
    ctx.session.flush()
    return _case(ctx, a)


def revoke_on_request(ctx: Context, number: str, cmd: S.OwnRevocationIn) -> S.ApplicationOut:
    """Art. 41(8): the holder asks for revocation; no appeal lies against it."""
    from smartborders.etias.service import _out

    a = application(ctx, number)
    if cmd.document_number != a.document_number:
        raise NotTheApplicant("the travel document number is not that of the application")
    if a.status != rules.ISSUED:
        raise WrongStep(f"application {number} is {a.status}", status=a.status)
    now = ctx.now()
    a.status, a.ended_at, a.ended_by, a.end_reason = "revoked", now, "applicant", "revoked at the applicant's request"
    a.end_grounds, a.review_state = [], None
    _notify(a, now, f"your travel authorisation {number} was revoked at your request (Art. 41(8), 43)")
    log(ctx, "applicant", "applicant", "ETIAS Art. 41(8)", "revoked", number)
    ctx.session.flush()
    return _out(ctx, a)


def keep(ctx: Context, number: str, cmd: S.ReviewIn) -> S.CaseOut:
    """The unit the monitoring sent a valid authorisation to keeps it: the new hits are found false or
    not to be grounds for revocation (recorded, and the hit-assessed flag is set, Art. 36(3))."""
    from smartborders.etias.service import _case

    a = application(ctx, number)
    if a.status != rules.ISSUED or not a.review_state:
        raise WrongStep(f"application {number} is not waiting on a review", status=a.status)
    if cmd.state != a.review_state:
        raise NotResponsible(f"{a.review_state} reviews application {number} (Art. 41(3)-(5))",
                             responsible_state=a.review_state)
    now = ctx.now()
    for h in ctx.session.scalars(select(Hit).where(Hit.application_id == a.id, Hit.phase == "monitoring",
                                                   Hit.status == "pending")):
        h.status = "discarded"
        h.explanation = (h.explanation + f" | kept by {cmd.state}:{cmd.officer} at {now.isoformat()}: {cmd.reason}")[
            :1000]
    a.review_state = None
    if "hit_assessed" not in (a.flags or []):
        a.flags = [*(a.flags or []), "hit_assessed"]
    log(ctx, f"national_unit:{cmd.state}", f"{cmd.state}:{cmd.officer}", "ETIAS Art. 41", "kept", number)
    ctx.session.flush()
    return _case(ctx, a)


def monitor(ctx: Context, entry: ListEntry) -> list[str]:
    """Art. 41(3)-(5): a new SIS alert or lost/stolen document, or a new watchlist entry, is compared with
    the files of valid authorisations; a match sends the file to the national unit of the Member State
    that entered the data (for Europol's, the Member State of first intended stay [K]). Names are
    screened as in the automated processing, over the files with the entry's date (or year) of birth,
    or, where the entry has none, the same surname [limitation: a transliterated surname without a date of
    birth is missed]."""
    from smartborders.etias.screening import DOCUMENT_LISTS, NAME_CHECKS
    from smartborders.etias.watchlist import THRESHOLD, Person, Watchlist

    today = ctx.now().date()
    valid = select(Application).where(Application.status == rules.ISSUED, Application.valid_until >= today)
    found: list[tuple[Application, str, str, float | None]] = []
    if entry.list in DOCUMENT_LISTS:
        for a in ctx.session.scalars(valid.where(Application.document_number == entry.document_number,
                                                 Application.document_country == entry.document_country)):
            why = f"travel document {a.document_country} {a.document_number} newly reported lost, stolen or invalidated"
            found.append((a, DOCUMENT_LISTS[entry.list][0], why, None))
    elif entry.name:
        q = valid
        if entry.birth_date and len(entry.birth_date) == 10:
            from datetime import date

            q = q.where(Application.birth_date == date.fromisoformat(entry.birth_date))
        elif entry.birth_date:
            from sqlalchemy import extract

            q = q.where(extract("year", Application.birth_date) == int(entry.birth_date[:4]))
        else:
            q = q.where(Application.surname.in_([t.upper() for t in entry.name.split()] + entry.name.split()))
        one = Watchlist([Person(entry.reference, entry.name, entry.birth_date, entry.nationality)])
        for a in ctx.session.scalars(q.limit(10_000)):
            p = a.data["person"]
            names = [" ".join(x for x in (p["given_names"], p["surname"]) if x), *(p.get("other_names") or [])]
            best = None
            for n in names:
                for hit in one.match(Person(a.number, n, p["birth_date"], p["nationality"]), THRESHOLD):
                    if best is None or hit.score > best.score:
                        best = hit
            if best is not None:
                found.append((a, NAME_CHECKS[entry.list][0], f"new {entry.list} entry: {best.explanation}",
                              best.score))
    now = ctx.now()
    out = []
    for a, article, why, score in found:
        source = "WATCHLIST" if entry.list == "watchlist" else ("SLTD" if entry.list == "sltd" else "SIS")
        ctx.session.add(Hit(application_id=a.id, article=article, source=source, reference=entry.reference,
                            score=score, explanation=why[:1000], supplied_by=entry.supplied_by, status="pending",
                            created_at=now, phase="monitoring"))
        a.review_state = rules.ALPHA2.get(entry.supplied_by) or str(a.data["first_member_state"])
        log(ctx, "system", "monitoring", "ETIAS Art. 41(3)-(5)", "monitoring_hit", a.number, list=entry.list,
            reference=entry.reference, review_state=a.review_state)
        out.append(a.number)
    ctx.session.flush()
    return out


# ---- appeals (Art. 37(3), 40(3), 41(7)) -------------------------------------------------------------


def _deciding_state(a: Application) -> str | None:
    return _state(a.ended_by) if a.status in ("annulled", "revoked") else _state(a.decided_by)


def record_appeal(ctx: Context, number: str, cmd: S.AppealIn) -> S.CaseOut:
    from smartborders.etias.service import _case

    a = application(ctx, number)
    if a.status not in rules.ENDED or a.ended_by == "applicant":
        raise WrongStep(f"application {number} is {a.status}: an appeal lies against a refusal, annulment or "
                        "revocation", status=a.status)
    deciding = _deciding_state(a)
    if cmd.state != deciding:
        raise NotResponsible(f"the appeal lies in {deciding}, which decided (Art. 37(3))", responsible_state=deciding)
    if cmd.lodged_on > ctx.now().date():
        raise InvalidInput("lodged_on: in the future")
    if ctx.session.scalar(select(Appeal).where(Appeal.application_id == a.id, Appeal.outcome == "pending")):
        raise WrongStep(f"an appeal on {number} is pending")
    ctx.session.add(Appeal(application_id=a.id, against=a.status, state=cmd.state, reference=cmd.reference,
                           lodged_on=cmd.lodged_on, recorded_by=f"{cmd.state}:{cmd.officer}", recorded_at=ctx.now(),
                           outcome="pending"))
    log(ctx, f"national_unit:{cmd.state}", f"{cmd.state}:{cmd.officer}", "ETIAS Art. 37(3)", "appeal", number)
    ctx.session.flush()
    return _case(ctx, a)


def appeal_outcome(ctx: Context, number: str, appeal_id: str, cmd: S.AppealOutcomeIn) -> S.CaseOut:
    """The outcome, as the deciding state's unit records it. Upheld against a refusal: the file goes back
    to that unit's manual processing for a new decision (96 hours); against an annulment or revocation:
    the authorisation is valid again for the rest of its period."""
    from smartborders.etias.service import _case

    a = application(ctx, number)
    p = ctx.session.get(Appeal, _uuid(appeal_id))
    if p is None or p.application_id != a.id:
        raise NotFound(f"no appeal {appeal_id} on {number}")
    if p.outcome != "pending":
        raise WrongStep(f"the appeal is {p.outcome}")
    if cmd.state != p.state:
        raise NotResponsible(f"the appeal lies in {p.state}", responsible_state=p.state)
    now = ctx.now()
    p.outcome, p.outcome_on, p.outcome_note = cmd.outcome, cmd.decided_on, cmd.note
    if cmd.outcome == "upheld":
        if p.against == "refused":
            a.status, a.responsible_state = rules.MANUAL, p.state
            a.due_at = now + timedelta(hours=rules.DECISION_HOURS)
            _notify(a, now, f"your appeal was upheld in {p.state}; the application is examined again and a decision "
                    f"follows by {a.due_at.isoformat()}")
        else:
            a.status, a.ended_at, a.ended_by, a.end_grounds, a.end_reason = rules.ISSUED, None, None, [], None
            _notify(a, now, f"your appeal was upheld in {p.state}; your travel authorisation is valid again until "
                    f"{a.valid_until}")
    log(ctx, f"national_unit:{cmd.state}", f"{cmd.state}:{cmd.officer}", "ETIAS Art. 37(3)", "appeal_outcome",
        number, outcome=cmd.outcome)
    ctx.session.flush()
    return _case(ctx, a)
