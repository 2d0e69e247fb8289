"""The ETIAS officers' console (issue 6): the Central Unit's verification of hits (Reg. 2018/1240 Art.
22), the national units' manual processing (Art. 25-29, 32, 36-44) and the MID's yellow links
(Reg. 2019/817 Art. 29).

Every rule is the service's (etias.service, etias.manual, interop.mid): this module reads what a
screen shows, turns a form into the service's command, and shows a refusal on the page. A national
unit officer acts for `user.state`; the service refuses what that state may not do.

Who sees a file: the Central Unit every file; a national unit the files its state is responsible for
(Art. 25), reviews after a monitoring hit (Art. 41), is consulted on (Art. 28), decided, or supplied
the data behind a hit of. Yellow MID
links are verified here by the Central Unit until issue 7 gives each authority its own queue.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from smartborders.core.errors import Problem
from smartborders.ees.service import Context
from smartborders.etias import manual, rules, service
from smartborders.etias import schemas as S
from smartborders.etias.rules import ETIAS_COUNTRIES
from smartborders.web.auth import User
from smartborders.web.common import _, attempt, call, csrf, render, require

router = APIRouter(include_in_schema=False)

CU, NU = "etias_central_unit", "etias_national_unit"
Officer = Annotated[User, Depends(require(CU, NU))]
CentralUnit = Annotated[User, Depends(require(CU))]
NationalUnit = Annotated[User, Depends(require(NU))]
NUMBER = r"^E[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}$"
FLASH = "etias_flash"

# What each point of Art. 20 compares with, for the officer reading a hit.
ARTICLES = {
    "20(2)(a)": "SIS: travel document reported lost, stolen, misappropriated or invalidated",
    "20(2)(b)": "Interpol SLTD: travel document reported lost or stolen",
    "20(2)(c)": "SIS: alert for refusal of entry and stay",
    "20(2)(d)": "SIS: alert for arrest",
    "20(2)(e)": "ETIAS: an earlier authorisation refused, revoked or annulled",
    "20(2)(f)": "ETIAS: the same travel document with other identity data",
    "20(2)(g)": "EES: recorded overstay",
    "20(2)(h)": "EES: recorded refusal of entry",
    "20(2)(m)": "SIS: alert on the person with parental authority or the guardian",
    "20(4)": "ETIAS watchlist",
    "20(5)": "ETIAS screening rule",
}
STATUSES = {
    "travel_authorisation_requested": "Requested",
    "central_unit_verification": "Central Unit verification",
    "manual_processing": "Manual processing",
    "issued": "Issued",
    "refused": "Refused",
    "annulled": "Annulled",
    "revoked": "Revoked",
}
WAITING = {
    "central_unit": "Central Unit",
    "applicant": "Applicant",
    "consultation": "Consulted authorities",
    "national_unit": "National unit",
}
OUTCOMES = {"confirmed": "Confirmed: it is this person", "doubt": "Doubt: the identity is not certain",
            "discarded": "Discarded: a false hit"}
LTV_GROUNDS = {"humanitarian": "Humanitarian grounds", "national_interest": "National interest",
               "international_obligations": "International obligations"}
# Art. 29, Reg. 2019/817, and mid.verify: what each colour of a verified link means.
MID_COLOURS = {
    "white": "White: the same person, and the multiple identities are justified",
    "green": "Green: different persons who share data in good faith",
    "red": "Red: an unjustified multiple identity, or identity fraud",
}


# ---- small helpers ----------------------------------------------------------------------------------


def _officer(user: User) -> str:
    """The officer's id as the services take it (letters, digits and ._@- only)."""
    slug = re.sub(r"[^A-Za-z0-9_.@-]+", ".", user.name).strip(".")[:64]
    return slug if len(slug) >= 2 else f"officer.{slug}".strip(".")


def _when(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def _span(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    d, rest = divmod(minutes, 24 * 60)
    h, m = divmod(rest, 60)
    return (f"{d} d {h} h" if d else f"{h} h {m} min") if (d or h) else f"{m} min"


def _deadline(request: Request, due: datetime | None, now: datetime) -> dict[str, Any] | None:
    if due is None:
        return None
    late = now > due
    text = (_(request, "overdue by %(t)s", t=_span(now - due)) if late
            else _(request, "%(t)s left", t=_span(due - now)))
    return {"at": _when(due), "overdue": late, "text": text, "soon": not late and due - now < timedelta(hours=12)}


def _same(a: Any, b: Any, *, names: bool = False) -> bool | None:
    """A visual aid only (the screening's own comparison is in the hit's explanation): the same value,
    a date of birth within a year or month given, or a name the same in the MRZ's transliteration."""
    if a in (None, "", "—") or b in (None, "", "—"):
        return None
    x, y = " ".join(str(a).upper().split()), " ".join(str(b).upper().split())
    if names:
        from smartborders.travel.mrz import transliterate

        try:
            x, y = transliterate(x), transliterate(y)
        except Problem:
            pass
    return x == y or (len(y) in (4, 7) and x.startswith(y))


def _state_of(who: str | None) -> str | None:
    return who.split(":", 1)[0] if who else None


def _flash(request: Request, message: str) -> None:
    request.session[FLASH] = message


def _errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's complaints by field ("" for the whole form), in words an officer reads."""
    out: dict[str, str] = {}
    for e in exc.errors():
        field = next((str(p) for p in e["loc"] if isinstance(p, str)), "")
        out.setdefault(field, str(e["msg"]).removeprefix("Value error, "))
    return out


def _validate(model: type[BaseModel], data: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, _errors(exc)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _list(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str) and v]


def _codes(text: str) -> list[str]:
    return [c for c in re.split(r"[\s,;]+", text.upper()) if c]


# ---- what the screens read ----------------------------------------------------------------------------


def _application(ctx: Context, number: str) -> Any:
    from smartborders.etias.models import Application

    return ctx.session.scalar(select(Application).where(Application.number == number))


def _access(user: User, case: S.CaseOut, a: Any) -> set[str]:
    """What this officer is to the file: central_unit, responsible, review, consulted, decided (its state
    decided, annulled or revoked it) or supplied (its state supplied the data behind a hit)."""
    from smartborders.etias.rules import ALPHA2

    if user.role == CU:
        return {"central_unit"}
    state, roles = user.state, set[str]()
    if not state:
        return roles
    if state == case.responsible_state:
        roles.add("responsible")
    if state == case.review_state:
        roles.add("review")
    if any(c.consulted == state for c in case.consultations):
        roles.add("consulted")
    if state in (_state_of(a.decided_by), _state_of(a.ended_by)):
        roles.add("decided")
    if any(ALPHA2.get(h.supplied_by or "") == state for h in case.hits):
        roles.add("supplied")
    return roles


def _record_of(ctx: Context, hit: S.HitOut, a: Any) -> dict[str, Any]:
    """The record that hit, beside the application's data (Art. 22(2): the Central Unit compares them)."""
    from smartborders.etias.models import Application, ListEntry
    from smartborders.etias.screening import DOCUMENT_LISTS, NAME_CHECKS

    p = a.data["person"]
    if hit.article == "20(2)(m)" and a.data.get("guardian"):
        g = a.data["guardian"]
        mine = {"name": f"{g.get('given_names', '')} {g['surname']}".strip(), "birth": None, "nationality": None,
                "document": None, "who": "Guardian"}
    else:
        mine = {"name": f"{p.get('given_names', '')} {p['surname']}".strip(), "birth": p["birth_date"],
                "nationality": p["nationality"], "document": f"{a.document_country} {a.document_number}",
                "who": "Applicant"}
    theirs: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    kind, title = "rule", None
    lists = {article: name for name, (article, _src) in {**NAME_CHECKS, **DOCUMENT_LISTS}.items()}
    if hit.source in ("SIS", "SLTD", "WATCHLIST"):
        names = [lists[hit.article]] if hit.article in lists else ["sis_refusal", "sis_arrest"]
        e = ctx.session.scalar(select(ListEntry).where(ListEntry.reference == hit.reference,
                                                       ListEntry.list.in_(names)).limit(1))
        kind, title = "list", f"{hit.source} {hit.reference}"
        if e is not None:
            doc = f"{e.document_country} {e.document_number}" if e.document_number else None
            theirs = {"name": e.name, "birth": e.birth_date, "nationality": e.nationality, "document": doc}
            extra = [("Supplied by", e.supplied_by), ("Entered", _when(e.added_at))]
            if e.reason:
                extra.append(("Reason for the entry", e.reason))
            if e.removed_at:
                extra.append(("Withdrawn", _when(e.removed_at)))
        else:
            extra = [("Record", "no longer on the list")]
    elif hit.source == "ETIAS":
        o = ctx.session.scalar(select(Application).where(Application.number == hit.reference))
        kind, title = "etias", f"ETIAS {hit.reference}"
        if o is not None:
            theirs = {"name": f"{o.given_names} {o.surname}".strip(), "birth": o.birth_date.isoformat(),
                      "nationality": o.nationality, "document": f"{o.document_country} {o.document_number}"}
            extra = [("Status", STATUSES.get(o.status, o.status)), ("Submitted", _when(o.submitted_at)),
                     ("Place of birth", o.birth_place)]
    elif hit.source == "EES":
        from smartborders.ees.service import get_file

        kind, title = "ees", f"EES {hit.reference}"
        try:
            f = get_file(ctx, uuid.UUID(hit.reference))
        except (Problem, ValueError):
            f = None
        if f is not None:
            docs = ", ".join(f"{d.issuing_state} {d.number}" for d in f.documents)
            theirs = {"name": f"{f.given_names} {f.surname}".strip(),
                      "birth": f.birth_date.isoformat() if f.birth_date else None, "nationality": f.nationality,
                      "document": docs}
            extra = [("Entries recorded", str(len(f.records))),
                     ("Overstays", str(sum(1 for r in f.records if r.overstay))),
                     ("Refusals of entry", "; ".join(f"{r.refusal_date} {r.bcp} ({', '.join(r.reasons)})"
                                                     for r in f.refusals) or "—")]
    rows = [(label, mine.get(key), theirs.get(key), _same(mine.get(key), theirs.get(key), names=key == "name"))
            for key, label in (("name", "Name"), ("birth", "Date of birth"), ("nationality", "Nationality"),
                               ("document", "Travel document"))]
    if p.get("other_names") and mine["who"] == "Applicant":
        rows.insert(1, ("Other names", ", ".join(p["other_names"]), None, None))
    return {"kind": kind, "title": title, "who": mine["who"], "rows": rows, "extra": extra,
            "found": bool(theirs)}


def _consulted_on(ctx: Context, state: str) -> list[dict[str, Any]]:
    """The files this state's unit is asked for an opinion on and has not answered (Art. 28-29)."""
    from smartborders.etias.models import Application, Consultation

    rows = ctx.session.execute(select(Application.number, Application.responsible_state, Consultation.why,
                                      Consultation.due_at, Consultation.requested_at)
                               .join(Application, Application.id == Consultation.application_id)
                               .where(Consultation.consulted == state, Consultation.opinion.is_(None),
                                      Consultation.due_at >= ctx.now(), Application.status == service.MANUAL)
                               .order_by(Consultation.due_at)).all()
    return [dict(r._mapping) for r in rows]


def _queue(ctx: Context, user: User) -> dict[str, Any]:
    from smartborders.interop import mid

    if user.role == CU:
        return {"now": ctx.now(), "cases": service.central_unit_queue(ctx), "consulted": [],
                "yellow": len(mid.links(ctx.session, "yellow", None, 1000))}
    state = user.state or ""
    return {"now": ctx.now(), "cases": service.national_unit_queue(ctx, state), "consulted": _consulted_on(ctx, state),
            "yellow": None}


def _case(ctx: Context, number: str, user: User, *, log_access: bool) -> dict[str, Any]:
    case = service.case(ctx, number)
    a = _application(ctx, number)
    access = _access(user, case, a)
    view: dict[str, Any] = {"case": case, "access": access, "now": ctx.now()}
    if not access:
        return view
    if log_access:
        # Art. 69: every consultation of a file is logged with its purpose.
        purpose = ("ETIAS Art. 22" if "central_unit" in access else "ETIAS Art. 26" if "responsible" in access
                   else "ETIAS Art. 41" if "review" in access else "ETIAS Art. 28-29" if "consulted" in access
                   else "ETIAS Art. 37-43")
        authority = "central_unit" if user.role == CU else f"national_unit:{user.state}"
        who = _officer(user) if user.role == CU else f"{user.state}:{_officer(user)}"
        manual.log(ctx, authority, who, purpose, "view_case", number)
    view["data"] = a.data
    view["application"] = {"fee": a.fee_eur, "decided_by": a.decided_by, "decided_at": a.decided_at,
                           "decision_reason": a.decision_reason, "valid_until": a.valid_until,
                           "ended_by": a.ended_by, "ended_at": a.ended_at, "end_reason": a.end_reason,
                           "notices": list(a.notices or [])}
    view["records"] = {h.id: _record_of(ctx, h, a) for h in case.hits}
    view["deciding_state"] = _state_of(a.ended_by if a.status in ("annulled", "revoked") else a.decided_by)
    return view


# ---- the pages --------------------------------------------------------------------------------------


# The forms' fields, as the error summary names them.
FIELDS = {"reason": "Reasons", "text": "What is needed", "grounds": "Grounds", "decision": "Decision",
          "opinion": "Opinion", "consulted": "Consult", "why": "Why", "valid_from": "Valid from",
          "valid_until": "Valid until", "states": "Valid in", "consents": "Consents", "ground": "Ground",
          "note": "Note", "place": "Interview place", "interview_at": "Interview on", "languages": "Languages",
          "attended": "Attended", "kind": "Kind", "others": "Also valid in", "request_information": "Question",
          "colour": "Colour"}


def _labels() -> dict[str, Any]:
    return {"FIELDS": FIELDS, "ARTICLES": ARTICLES, "STATUSES": STATUSES, "WAITING": WAITING, "GROUNDS": S.GROUNDS,
            "OUTCOMES": OUTCOMES, "LTV_GROUNDS": LTV_GROUNDS, "when": _when}


@router.get("/etias")
async def queue(request: Request, user: Officer) -> Response:
    q = await call(request, lambda ctx: _queue(ctx, user), readonly=True)
    now = q["now"]
    rows = [{"case": c, "due": _deadline(request, c.due_at, now)} for c in q["cases"]]
    consulted = [{**c, "due": _deadline(request, c["due_at"], now)} for c in q["consulted"]]
    title = _(request, "Central Unit: hits to verify") if user.role == CU else \
        _(request, "National unit %(state)s: manual processing", state=user.state or "")
    return render(request, "etias/queue.html", title=title, rows=rows, consulted=consulted, yellow=q["yellow"],
                  overdue=sum(1 for r in rows if r["due"] and r["due"]["overdue"]), now=_when(now),
                  flash=request.session.pop(FLASH, None), **_labels())


def _not_allowed(request: Request, user: User, case: S.CaseOut) -> HTMLResponse:
    return render(request, "error.html", status_code=403, title=_(request, "Not allowed"),
                  message=_(request, "The national unit of %(state)s is neither responsible for application "
                            "%(number)s nor consulted on it (%(responsible)s is responsible, Art. 25).",
                            state=user.state or "", number=case.number,
                            responsible=case.responsible_state or case.review_state or "—"))


def _page(request: Request, user: User, view: dict[str, Any], *, status_code: int = 200,
          problem: Problem | None = None, errors: dict[str, str] | None = None, failed: str | None = None,
          values: FormData | None = None) -> HTMLResponse:
    case: S.CaseOut = view["case"]
    access = view["access"]
    manual_step = case.status == service.MANUAL
    state = user.state
    may = {
        "verify": "central_unit" in access and case.status == service.CENTRAL_UNIT,
        "decide": "responsible" in access and manual_step,
        "ltv": user.role == NU and (("responsible" in access and manual_step)
                                    or (case.status in rules.ENDED and state == view.get("deciding_state"))),
        "review": "review" in access and case.status == service.ISSUED,
        "withdraw": user.role == NU and case.status == service.ISSUED
        and (state == case.review_state or state == view.get("deciding_state")),
        "opinion": next((c for c in case.consultations if c.consulted == state and c.status == "pending"), None)
        if manual_step else None,
        "interview": next((r for r in case.requests if r.kind == "interview" and r.status == "open"
                           and view["now"] >= r.due_at), None) if "responsible" in access else None,
    }
    return render(request, "etias/case.html", status_code=status_code, title=_(request, "Application %(n)s",
                                                                                   n=case.number),
                  v=view, c=case, may=may, due=_deadline(request, case.due_at, view["now"]), problem=problem,
                  errors=errors or {}, failed=failed, values=values or FormData(), flash=request.session.pop(FLASH, None),
                  states=sorted(ETIAS_COUNTRIES), **_labels())


@router.get("/etias/cases/{number}")
async def case_page(request: Request, number: str, user: Officer) -> Response:
    if not re.match(NUMBER, number):
        return render(request, "error.html", status_code=404, title=_(request, "Not found"),
                      message=_(request, "%(n)s is not an ETIAS application number.", n=number))
    view, problem = await attempt(request, lambda ctx: _case(ctx, number, user, log_access=True))
    if problem is not None or view is None:
        return render(request, "error.html", status_code=404, title=_(request, "Not found"),
                      message=problem.detail if problem else "")
    if not view["access"]:
        return _not_allowed(request, user, view["case"])
    return _page(request, user, view)


async def _act(request: Request, user: User, number: str, form_name: str, model: type[BaseModel],
               data: dict[str, Any], use_case: Callable[[Context, Any], Any], done: str,
               allowed: Callable[[dict[str, Any]], bool] = lambda v: True,
               local_errors: dict[str, str] | None = None) -> Any:
    """One form of the case screen: validate, run the use case, show a refusal on the page, or go back
    to the file with what was done."""
    form = await request.form()
    view, problem = await attempt(request, lambda ctx: _case(ctx, number, user, log_access=False), readonly=True)
    if view is None:
        return render(request, "error.html", status_code=404, title=_(request, "Not found"),
                      message=problem.detail if problem else "")
    if not view["access"] or not allowed(view):
        return _not_allowed(request, user, view["case"])
    cmd, errors = _validate(model, data)
    errors = {**errors, **(local_errors or {})}  # ours name the field in the officer's words
    if errors:
        return _page(request, user, view, status_code=422, errors=errors, failed=form_name, values=form)
    _done, problem = await attempt(request, lambda ctx: use_case(ctx, cmd))
    if problem is not None:
        # A refusal is a form that could not be processed: shown on the page with the law's reason.
        return _page(request, user, view, status_code=422, problem=problem, failed=form_name, values=form)
    _flash(request, done)
    return RedirectResponse(f"/etias/cases/{number}", status_code=303)


@router.post("/etias/cases/{number}/verification", dependencies=[Depends(csrf)])
async def verify(request: Request, number: str, user: CentralUnit) -> Response:
    form = await request.form()
    ids = _list(form, "hit")
    hits, missing = [], {}
    for k, i in enumerate(ids, start=1):
        outcome, reason = _text(form, f"outcome-{i}"), _text(form, f"reason-{i}")
        if not outcome:
            missing[f"outcome-{i}"] = _(request, "Hit %(n)d: choose confirmed, doubt or discarded.", n=k)
        if not reason:
            missing[f"reason-{i}"] = _(request, "Hit %(n)d: give the reason for the verdict.", n=k)
        # A placeholder where a verdict is missing: the form is refused on `missing`, field by field.
        hits.append({"id": i, "outcome": outcome or "discarded", "reason": reason or "-"})
    data = {"officer": _officer(user), "hits": hits}
    return await _act(request, user, number, "verify", S.VerificationIn, data,
                      lambda ctx, cmd: service.verify(ctx, number, cmd),
                      _(request, "Verification recorded."), local_errors=missing)


@router.post("/etias/cases/{number}/decision", dependencies=[Depends(csrf)])
async def decide(request: Request, number: str, user: NationalUnit) -> Response:
    form = await request.form()
    decision = _text(form, "decision")
    data = {"officer": _officer(user), "state": user.state, "decision": decision,
            "grounds": _list(form, "grounds") if decision == "refuse" else [],
            "reason": _text(form, "reason"), "second_line_check": form.get("second_line_check") == "on"}
    done = _(request, "Travel authorisation issued.") if decision == "issue" else \
        _(request, "Travel authorisation refused.")
    return await _act(request, user, number, "decide", S.DecisionIn, data,
                      lambda ctx, cmd: service.decide(ctx, number, cmd), done)


@router.post("/etias/cases/{number}/requests", dependencies=[Depends(csrf)])
async def request_information(request: Request, number: str, user: NationalUnit) -> Response:
    form = await request.form()
    kind = _text(form, "kind")
    data: dict[str, Any] = {"officer": _officer(user), "state": user.state, "kind": kind, "text": _text(form, "text"),
                            "languages": _list(form, "languages") or ["en", "fr", "de"]}
    local: dict[str, str] = {}
    if kind == "interview":
        raw, place = _text(form, "interview_at"), _text(form, "place")
        try:
            data["interview_at"] = datetime.fromisoformat(raw).replace(tzinfo=UTC) if raw else None
        except ValueError:
            local["interview_at"] = _(request, "Give the date and time of the interview.")
        data["place"] = place or None
    return await _act(request, user, number, "request", S.InfoRequestIn, data,
                      lambda ctx, cmd: manual.request_information(ctx, number, cmd),
                      _(request, "The applicant was asked; the file waits on the answer."), local_errors=local)


@router.post("/etias/cases/{number}/consultations", dependencies=[Depends(csrf)])
async def consult(request: Request, number: str, user: NationalUnit) -> Response:
    form = await request.form()
    data = {"officer": _officer(user), "state": user.state, "consulted": _codes(_text(form, "consulted")),
            "why": _text(form, "why")}
    return await _act(request, user, number, "consult", S.ConsultIn, data,
                      lambda ctx, cmd: manual.consult(ctx, number, cmd), _(request, "Consultation sent."))


@router.post("/etias/cases/{number}/opinion", dependencies=[Depends(csrf)])
async def opinion(request: Request, number: str, user: NationalUnit) -> Response:
    form = await request.form()
    consultation = _text(form, "consultation")
    data = {"officer": _officer(user), "consulted": user.state, "opinion": _text(form, "opinion"),
            "reason": _text(form, "reason"), "second_line_check": form.get("second_line_check") == "on",
            "request_information": _text(form, "request_information") or None}
    return await _act(request, user, number, "opinion", S.OpinionIn, data,
                      lambda ctx, cmd: manual.opinion(ctx, number, consultation, cmd),
                      _(request, "Opinion recorded."), allowed=lambda v: "consulted" in v["access"])


@router.post("/etias/cases/{number}/interview", dependencies=[Depends(csrf)])
async def interview(request: Request, number: str, user: NationalUnit) -> Response:
    form = await request.form()
    request_id = _text(form, "request")
    attended = _text(form, "attended")
    local = {} if attended in ("yes", "no") else {"attended": _(request, "Say whether the applicant attended.")}
    data = {"officer": _officer(user), "state": user.state, "attended": attended == "yes", "note": _text(form, "note")}
    return await _act(request, user, number, "interview", S.InterviewOutcomeIn, data,
                      lambda ctx, cmd: manual.interview_outcome(ctx, number, request_id, cmd),
                      _(request, "Interview recorded."), local_errors=local)


@router.post("/etias/cases/{number}/ltv", dependencies=[Depends(csrf)])
async def ltv(request: Request, number: str, user: NationalUnit) -> Response:
    form = await request.form()
    others, consents, local = [], [], {}
    for line in _text(form, "others").splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            local["others"] = _(request, "One Member State a line: its code and the officer who consented.")
            continue
        others.append(parts[0].upper())
        consents.append({"state": parts[0].upper(), "officer": parts[1]})
    data = {"officer": _officer(user), "state": user.state, "ground": _text(form, "ground"),
            "states": [user.state, *others], "consents": consents, "valid_from": _text(form, "valid_from"),
            "valid_until": _text(form, "valid_until"), "reason": _text(form, "reason")}
    return await _act(request, user, number, "ltv", S.LtvIn, data,
                      lambda ctx, cmd: manual.issue_ltv(ctx, number, cmd),
                      _(request, "Travel authorisation with limited territorial validity issued."), local_errors=local)


@router.post("/etias/cases/{number}/withdrawal", dependencies=[Depends(csrf)])
async def withdraw(request: Request, number: str, user: NationalUnit) -> Response:
    form = await request.form()
    kind = _text(form, "kind")
    local = {} if kind in ("revoked", "annulled") else {"kind": _(request, "Choose revocation or annulment.")}
    if not _list(form, "grounds"):
        local["grounds"] = _(request, "Tick at least one ground (Art. 37).")
    data = {"officer": _officer(user), "state": user.state, "grounds": _list(form, "grounds"),
            "reason": _text(form, "reason")}
    done = _(request, "Travel authorisation annulled.") if kind == "annulled" else \
        _(request, "Travel authorisation revoked.")
    return await _act(request, user, number, "withdraw", S.WithdrawalIn, data,
                      lambda ctx, cmd: manual.withdraw(ctx, number, cmd, kind), done, local_errors=local)


@router.post("/etias/cases/{number}/keep", dependencies=[Depends(csrf)])
async def keep(request: Request, number: str, user: NationalUnit) -> Response:
    form = await request.form()
    data = {"officer": _officer(user), "state": user.state, "reason": _text(form, "reason")}
    return await _act(request, user, number, "keep", S.ReviewIn, data,
                      lambda ctx, cmd: manual.keep(ctx, number, cmd),
                      _(request, "The travel authorisation is kept; the new hits are recorded as assessed."))


# ---- the MID's yellow links (Reg. 2019/817 Art. 29) ---------------------------------------------------


def _identity(session: Any, side: str) -> dict[str, Any]:
    from smartborders.interop import cir

    system, reference = side.split(":", 1)
    got = cir.get(session, system, reference)
    if got is None:
        return {"system": system, "reference": reference, "found": False}
    who, biometrics = got
    return {"system": system, "reference": reference, "found": True, "surname": who.surname,
            "given_names": who.given_names, "birth_date": who.birth_date.isoformat() if who.birth_date else None,
            "sex": who.sex, "nationality": who.nationality,
            "document": f"{who.document_state} {who.document_number}" if who.document_number else None,
            "biometrics": biometrics}


def _link(ctx: Context, link_id: uuid.UUID) -> dict[str, Any]:
    from smartborders.interop import mid

    f = mid.identity_confirmation_file(ctx.session, link_id)
    a, b = _identity(ctx.session, f["a"]), _identity(ctx.session, f["b"])
    rows = [(label, a.get(key), b.get(key), _same(a.get(key), b.get(key), names=key in ("surname", "given_names")))
            for key, label in (("surname", "Surname"), ("given_names", "Given names"), ("birth_date", "Date of birth"),
                               ("sex", "Sex"), ("nationality", "Nationality"), ("document", "Travel document"))]
    created = f["history"][0]["reason"].removeprefix("created on: ") if f["history"] else ""
    return {"link": f, "a": a, "b": b, "rows": rows, "grounds": created}


@router.get("/etias/mid")
async def mid_queue(request: Request, user: CentralUnit, system: str = "") -> Response:
    from smartborders.interop import mid

    which = system if re.fullmatch(r"[A-Z]{2,8}", system) else None
    links = await call(request, lambda ctx: mid.links(ctx.session, "yellow", which, 200), readonly=True)
    return render(request, "etias/mid_queue.html", title=_(request, "MID: yellow links to verify"), links=links,
                  system=which or "", when=_when, flash=request.session.pop(FLASH, None))


def _mid_page(request: Request, view: dict[str, Any], *, status_code: int = 200, problem: Problem | None = None,
              errors: dict[str, str] | None = None, values: FormData | None = None) -> HTMLResponse:
    return render(request, "etias/mid_link.html", status_code=status_code, title=_(request, "MID link"), v=view,
                  colours=MID_COLOURS, FIELDS=FIELDS, problem=problem, errors=errors or {}, values=values or FormData(), when=_when,
                  flash=request.session.pop(FLASH, None))


@router.get("/etias/mid/{link_id}")
async def mid_link(request: Request, link_id: uuid.UUID, user: CentralUnit) -> Response:
    view, problem = await attempt(request, lambda ctx: _link(ctx, link_id), readonly=True)
    if view is None:
        return render(request, "error.html", status_code=404, title=_(request, "Not found"),
                      message=problem.detail if problem else "")
    return _mid_page(request, view)


@router.post("/etias/mid/{link_id}/verification", dependencies=[Depends(csrf)])
async def mid_verify(request: Request, link_id: uuid.UUID, user: CentralUnit) -> Response:
    from smartborders.interop import mid
    from smartborders.interop.schemas import LinkVerification

    form = await request.form()
    authority = ("ETIAS-CU/" + re.sub(r"[^A-Za-z0-9 ./:_-]+", ".", user.name))[:64]
    cmd, errors = _validate(LinkVerification, {"colour": _text(form, "colour"), "authority": authority,
                                               "reason": _text(form, "reason")})
    if cmd is None:
        if "colour" in errors:
            errors["colour"] = _(request, "Choose white, green or red.")
        if "reason" in errors:
            errors["reason"] = _(request, "Give the reason for the verdict (at least 3 characters).")
        view = await call(request, lambda ctx: _link(ctx, link_id), readonly=True)
        return _mid_page(request, view, status_code=422, errors=errors, values=form)

    def use_case(ctx: Context) -> None:
        mid.verify(ctx.session, link_id, cmd.colour, by=cmd.authority, reason=cmd.reason, at=ctx.now())

    _done, problem = await attempt(request, use_case)
    if problem is not None:
        view = await call(request, lambda ctx: _link(ctx, link_id), readonly=True)
        return _mid_page(request, view, status_code=422, problem=problem, values=form)
    _flash(request, _(request, "The link is now %(colour)s.", colour=cmd.colour))
    return RedirectResponse(f"/etias/mid/{link_id}", status_code=303)
