"""The traveller console (issue 6): "how long may I stay" (the 90/180 calculator over the trips typed in,
and the EES web service of EES Art. 13 over the EES's own records), the ETIAS application form with its
status and the answers to requests for information (ETIAS Art. 17-19, 27, 31), and a read-only view of
what the EES and ETIAS hold on oneself (EES Art. 52, ETIAS Art. 64).

The rules stay where they live: `travel.stay.assess`, `ees.service.traveller_query`, `etias.service.submit`
and `etias.manual.answer`. This module only turns form fields into their inputs and their answers (and
refusals) into pages, with a calendar of the 180-day window.
"""

from __future__ import annotations

import base64
import calendar as _cal
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from smartborders.core.errors import Problem
from smartborders.web import auth
from smartborders.web.auth import User
from smartborders.web.common import _, attempt, call, csrf, is_htmx, lang_of, render

router = APIRouter(include_in_schema=False)


def anyone(request: Request) -> User:
    """No sign-in: a traveller proves who they are with their document data, form by form. An officer
    who is signed in sees what a traveller sees."""
    return auth.current(request) or User(name="", role="traveller")

STAY_ROWS = 5  # empty rows for stays without JavaScript; "Add a stay" adds more with htmx
MAX_ROWS = 40
WINDOW = 180
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _countries() -> list[tuple[str, str]]:
    from smartborders.reference.countries import iso_alpha3

    return sorted(iso_alpha3().items())


def _today(request: Request) -> date:
    return request.app.state.sb.clock.now().date()  # type: ignore[no-any-return]


def _date(value: str | None) -> date | None:
    """A date from a form field (YYYY-MM-DD, as input type=date sends it); None when empty; ValueError if bad."""
    value = (value or "").strip()
    if not value:
        return None
    if not _ISO.fullmatch(value):
        raise ValueError(value)
    return date.fromisoformat(value)


def _text(form: Any, name: str) -> str:
    v = form.get(name)
    return v.strip() if isinstance(v, str) else ""


def _upper(s: str) -> str:
    return re.sub(r"\s+", "", s).upper()


# ---- the calendar of the 180-day window ---------------------------------------------------------------


@dataclass
class Calendar:
    """One 180-day window drawn as months (rows) of days (cells), with its text alternative."""

    start: date
    end: date
    months: list[dict[str, Any]]
    recorded: list[tuple[date, date, int]]  # periods of recorded (or typed-in) presence in the window
    allowed: tuple[date, date, int] | None  # the stay the answer allows, clipped to the window
    recorded_days: int
    allowed_days: int
    marks: list[tuple[str, date]]  # (what, day): planned entry, latest exit, planned exit
    records_known: bool = True


def _month_label(d: date, lang: str) -> str:
    try:
        from babel.dates import format_date

        return format_date(d, "MMM yyyy", locale=lang)
    except Exception:  # noqa: BLE001 - an unknown locale falls back to the plain form
        return d.strftime("%b %Y")


def build_calendar(lang: str, end: date, recorded: list[tuple[date, date]], allowed: tuple[date, date] | None,
                   marks: dict[date, tuple[str, str, str]], *, records_known: bool = True) -> Calendar:
    """The window [end-179, end]: `recorded` days, the `allowed` stay, and `marks` (day -> css class, letter,
    label) for the planned entry, the latest exit and the planned exit."""
    start = end - timedelta(days=WINDOW - 1)
    rec: set[date] = set()
    periods = []
    for a, b in recorded:
        a, b = max(a, start), min(b, end)
        if a > b:
            continue
        periods.append((a, b, (b - a).days + 1))
        rec.update(a + timedelta(days=i) for i in range((b - a).days + 1))
    allow = None
    if allowed is not None:
        a, b = max(allowed[0], start), min(allowed[1], end)
        if a <= b:
            allow = (a, b, (b - a).days + 1)
    allowed_days = sum(1 for i in range(allow[2]) if allow[0] + timedelta(days=i) not in rec) if allow else 0
    months = []
    first = date(start.year, start.month, 1)
    while first <= end:
        length = _cal.monthrange(first.year, first.month)[1]
        cells: list[dict[str, Any] | None] = []
        for day in range(1, 32):
            if day > length:
                cells.append(None)
                continue
            x = date(first.year, first.month, day)
            classes, what = ["day"], []
            if not start <= x <= end:
                classes.append("out")
            elif x in rec:
                classes.append("stay")
                what.append("stay")
            elif allow and allow[0] <= x <= allow[1]:
                classes.append("allowed")
                what.append("may stay")
            letter = ""
            if x in marks and start <= x <= end:
                cls, letter, label = marks[x]
                classes.append(cls)
                what.append(label)
            cells.append({"date": x, "classes": " ".join(classes), "letter": letter,
                          "title": f"{x.isoformat()}" + (f" · {', '.join(what)}" if what else "")})
        months.append({"label": _month_label(first, lang), "cells": cells})
        first = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return Calendar(start=start, end=end, months=months, recorded=periods, allowed=allow, recorded_days=len(rec),
                    allowed_days=allowed_days,
                    marks=sorted(((label, d) for d, (_c, _l, label) in marks.items()), key=lambda m: m[1]),
                    records_known=records_known)


# ---- pages ----------------------------------------------------------------------------------------


@router.get("/traveller")
async def index(request: Request, user: User = Depends(anyone)):  # type: ignore[no-untyped-def]  # noqa: B008
    return render(request, "traveller/index.html", title=_(request, "Traveller"))


# ---- "How long may I stay": (a) from the trips typed in ----------------------------------------------


@dataclass
class TripsForm:
    rows: list[tuple[str, str]] = field(default_factory=lambda: [("", "")] * STAY_ROWS)
    on: str = ""
    planned_exit: str = ""
    mode: str = "plan"
    family_member: bool = False
    visa: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problem: str | None = None
    result: dict[str, Any] | None = None


@dataclass
class EesForm:
    values: dict[str, str] = field(default_factory=lambda: {"document_type": "P"})
    errors: dict[str, str] = field(default_factory=dict)
    problem: str | None = None
    result: dict[str, Any] | None = None


def _stay_page(request: Request, trips: TripsForm | None = None, ees: EesForm | None = None,
               status_code: int = 200, fragment: str | None = None) -> HTMLResponse:
    trips = trips or TripsForm(on=(_today(request) + timedelta(days=14)).isoformat())
    ees = ees or EesForm(values={"document_type": "P", "intended_entry": (_today(request) + timedelta(days=14))
                                 .isoformat()})
    template = fragment if fragment and is_htmx(request) else "traveller/stay.html"
    if is_htmx(request):
        status_code = 200  # htmx swaps only 2xx answers; the errors are in the fragment
    return render(request, template, status_code=status_code, title=_(request, "How long may I stay?"),
                  trips=trips, ees=ees, today=_today(request), max_rows=MAX_ROWS, countries=_countries())


@router.get("/traveller/stay")
async def stay_page(request: Request, user: User = Depends(anyone)):  # type: ignore[no-untyped-def]  # noqa: B008
    return _stay_page(request)


@router.get("/traveller/stay/row")
async def stay_row(request: Request, n: int = 1, user: User = Depends(anyone)):  # type: ignore[no-untyped-def]  # noqa: B008
    """One more empty row for a stay (htmx), and the "Add a stay" button for the next one (out of band)."""
    n = max(1, min(n, MAX_ROWS))
    return render(request, "traveller/_stay_row.html", n=n, entry="", exit="", error=None, oob=True, more=n < MAX_ROWS)


@router.post("/traveller/stay", dependencies=[Depends(csrf)])
async def stay_trips(request: Request, user: User = Depends(anyone)):  # type: ignore[no-untyped-def]  # noqa: B008
    """SBC Art. 6, EES Art. 11: the calculator (`travel.stay.assess`, as `smartborders stay`) over the
    stays the traveller types in."""
    from smartborders.travel.stay import Mode, Stay, Visa, assess

    form = await request.form()
    entries = [v.strip() if isinstance(v, str) else "" for v in form.getlist("entry")][:MAX_ROWS]
    exits = [v.strip() if isinstance(v, str) else "" for v in form.getlist("exit")][:MAX_ROWS]
    exits += [""] * (len(entries) - len(exits))
    rows = [(a, b) for a, b in zip(entries, exits, strict=False) if a or b]  # empty rows drop out: "stay n" = row n
    f = TripsForm(rows=rows + [("", "")] * max(0, STAY_ROWS - len(rows)), on=_text(form, "on"),
                  planned_exit=_text(form, "planned_exit"), mode="check" if _text(form, "mode") == "check" else "plan",
                  family_member=_text(form, "family_member") == "yes",
                  visa={k: _text(form, f"visa_{k}") for k in ("valid_from", "valid_until", "duration_days", "entries")})
    stays: list[tuple[date, date]] = []
    for i, (a, b) in enumerate(rows, start=1):
        try:
            da, db = _date(a), _date(b)
        except ValueError:
            f.errors[f"stay-{i}"] = _(request, "Write the dates as YYYY-MM-DD.")
            continue
        if da is None or db is None:
            f.errors[f"stay-{i}"] = _(request, "Give both the entry and the exit date of this stay.")
            continue
        if db < da:
            f.errors[f"stay-{i}"] = _(request, "The exit is before the entry.")
            continue
        stays.append((da, db))
    on = planned_exit = None
    try:
        on = _date(f.on)
        if on is None:
            f.errors["on"] = _(request, "Give the date of your planned entry (or of the check).")
    except ValueError:
        f.errors["on"] = _(request, "Write the date as YYYY-MM-DD.")
    try:
        planned_exit = _date(f.planned_exit)
        if planned_exit is not None and on is not None and planned_exit < on:
            f.errors["planned_exit"] = _(request, "The planned exit is before the planned entry.")
    except ValueError:
        f.errors["planned_exit"] = _(request, "Write the date as YYYY-MM-DD.")
    visa = None
    if any(f.visa.values()):
        try:
            vf, vu = _date(f.visa["valid_from"]), _date(f.visa["valid_until"])
        except ValueError:
            vf = vu = None
        if vf is None:
            f.errors["visa_valid_from"] = _(request, "Give the first day the visa is valid (YYYY-MM-DD).")
        if vu is None:
            f.errors["visa_valid_until"] = _(request, "Give the last day the visa is valid (YYYY-MM-DD).")
        days = f.visa["duration_days"]
        if not days.isdigit() or not 1 <= int(days) <= 90:
            f.errors["visa_duration_days"] = _(request, "The duration of stay on the visa: 1 to 90 days.")
        if f.visa["entries"] not in ("1", "2", "multiple"):
            f.errors["visa_entries"] = _(request, "Choose the number of entries.")
        if vf is not None and vu is not None and not f.errors:
            try:
                visa = Visa("visa", vf, vu, int(days), None if f.visa["entries"] == "multiple" else int(f.visa["entries"]))
            except Problem as p:
                f.problem = p.detail
    if f.errors or f.problem or on is None:
        return _stay_page(request, trips=f, status_code=422, fragment="traveller/_stay_trips.html")
    mode = Mode.CHECK if f.mode == "check" else Mode.PLAN
    try:
        a = assess([Stay(s, e, visa="visa" if visa else None) for s, e in stays], on, mode, visa=visa,
                   family_member=f.family_member)
    except Problem as p:
        f.problem = p.detail
        m = re.search(r"\bstays? (\d+)(?: and (\d+))?", p.detail)
        for n in (m.groups() if m else ()):
            if n:
                f.errors[f"stay-{n}"] = p.detail
        return _stay_page(request, trips=f, status_code=422, fragment="traveller/_stay_trips.html")
    f.result = _trips_result(request, a, on, mode, planned_exit)
    return _stay_page(request, trips=f, fragment="traveller/_stay_trips.html")


def _trips_result(request: Request, a: Any, on: date, mode: Any, planned_exit: date | None) -> dict[str, Any]:
    from smartborders.travel.stay import Mode

    lang = lang_of(request)
    plan = mode is Mode.PLAN
    entry_label = _(request, "planned entry") if plan else _(request, "date of the check")
    marks: dict[date, tuple[str, str, str]] = {on: ("entry", "E", entry_label)}
    if not a.rule_applies or a.latest_exit is None:
        w = a.window(on)
        cal = build_calendar(lang, on, list(w.periods), None, marks)
    else:
        assume = on if plan else on + timedelta(days=1)
        w = a.window(a.latest_exit, assume_from=assume if assume <= a.latest_exit else None)
        recorded = [(x, y) for x, y in w.periods if w.assumed_from is None or x < w.assumed_from]
        if planned_exit is not None:
            marks[planned_exit] = ("planned-exit", "P", _(request, "your planned exit"))
        marks[a.latest_exit] = ("latest-exit", "X", _(request, "latest exit"))
        cal = build_calendar(lang, a.latest_exit, recorded, (on, a.latest_exit), marks)
    fits = None
    if planned_exit is not None and a.rule_applies:
        fits = a.latest_exit is not None and planned_exit <= a.latest_exit
    return {"a": a, "plan": plan, "on": on, "planned_exit": planned_exit, "fits": fits,
            "too_many": (planned_exit - a.latest_exit).days if fits is False and a.latest_exit else None,
            "explanation": a.explanation().splitlines(), "calendar": cal}


# ---- "How long may I stay": (b) the EES web service (EES Art. 13) -------------------------------------


_EES_FIELDS = {("document", "document_type"): "document_type", ("document", "number"): "number",
               ("document", "issuing_state"): "issuing_state", ("intended_entry",): "intended_entry",
               ("intended_exit",): "intended_exit"}


@router.post("/traveller/stay/ees", dependencies=[Depends(csrf)])
async def stay_ees(request: Request, user: User = Depends(anyone)):  # type: ignore[no-untyped-def]  # noqa: B008
    """EES Art. 13(1): the web service answers from the EES records: OK / NOT OK and the remaining stay."""
    from smartborders.ees import schemas as ES
    from smartborders.ees import service as ees

    form = await request.form()
    v = {k: _text(form, k) for k in ("document_type", "number", "issuing_state", "intended_entry", "intended_exit")}
    v["number"], v["issuing_state"] = _upper(v["number"]), _upper(v["issuing_state"])
    f = EesForm(values=v)
    data: dict[str, Any] = {"document": {"document_type": v["document_type"] or "P", "number": v["number"],
                                         "issuing_state": v["issuing_state"]}}
    for k in ("intended_entry", "intended_exit"):
        if v[k]:
            data[k] = v[k]
    if not v["intended_entry"] and not v["intended_exit"]:
        f.errors["intended_entry"] = _(request, "Give your planned entry date, your planned exit date, or both.")
    try:
        q = ES.TravellerQuery.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            name = _EES_FIELDS.get(tuple(err["loc"]), "number")
            f.errors.setdefault(name, _message(request, err, _EES_KINDS.get(name)))
    if f.errors:
        return _stay_page(request, ees=f, status_code=422, fragment="traveller/_stay_ees.html")
    answer, problem = await attempt(request, lambda ctx: ees.traveller_query(ctx, q), readonly=True, border=True)
    if problem is not None or answer is None:
        f.problem = problem.detail if problem else _(request, "The EES web service gave no answer.")
        return _stay_page(request, ees=f, status_code=422, fragment="traveller/_stay_ees.html")
    lang = lang_of(request)
    cal = None
    if answer.latest_exit is not None:
        begin = q.intended_entry or _today(request)
        marks: dict[date, tuple[str, str, str]] = {}
        if q.intended_entry:
            marks[q.intended_entry] = ("entry", "E", _(request, "planned entry"))
        if q.intended_exit:
            marks[q.intended_exit] = ("planned-exit", "P", _(request, "your planned exit"))
        marks[answer.latest_exit] = ("latest-exit", "X", _(request, "latest exit"))
        cal = build_calendar(lang, answer.latest_exit, [], (begin, answer.latest_exit) if begin <= answer.latest_exit
                             else None, marks, records_known=False)
    f.result = {"answer": answer, "calendar": cal, "explanation": answer.explanation.splitlines(), "q": q}
    return _stay_page(request, ees=f, fragment="traveller/_stay_ees.html")


# ---- form errors: pydantic's messages, said for people -------------------------------------------------


_EES_KINDS = {"number": "docnumber", "issuing_state": "country", "document_type": "doctype"}
_HINTS = {
    "name": "Use Latin letters (with accents), spaces, hyphens, apostrophes or full stops.",
    "docnumber": "Letters A–Z and digits only, as printed on the document.",
    "country": "A three-letter country code, e.g. USA.",
    "email": "An e-mail address, e.g. name@example.org.",
    "phone": "Digits, spaces, brackets and hyphens, optionally starting with +.",
    "amount": "An amount in euro with cents, e.g. 20.00.",
    "reference": "Letters, digits and . _ : - only, at least 4.",
    "doctype": "Choose the kind of document.",
}


def _message(request: Request, err: dict[str, Any], kind: str | None) -> str:
    t, msg = err.get("type", ""), str(err.get("msg", ""))
    if t == "missing" or (t == "string_too_short" and err.get("input") == ""):
        return _(request, "Required.")
    if t == "literal_error" and kind == "confirm":
        return _(request, "Required: tick the box to confirm.")
    if t == "literal_error":
        return _(request, "Choose one of the options.")
    if t in ("string_pattern_mismatch", "string_too_short") and kind in _HINTS:
        return _(request, _HINTS[kind])
    if t == "too_short":
        return _(request, "Required.")
    return msg.removeprefix("Value error, ")


# ---- the ETIAS application (Reg. 2018/1240 Art. 17-19) -----------------------------------------------


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    type: str = "text"  # text, date, email, tel, select, country, list, confirm
    required: bool = False
    hint: str = ""
    kind: str | None = None  # what the value must look like (the message on a pattern error)
    autocomplete: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    wide: bool = False

    @property
    def id(self) -> str:
        return _fid(self.name)


def _etias_fields() -> dict[str, FormField]:
    from smartborders.etias.rules import ETIAS_COUNTRIES
    from smartborders.etias.schemas import JOB_GROUPS
    from smartborders.reference.countries import iso_alpha3

    names = iso_alpha3()
    sex = (("F", "Female"), ("M", "Male"), ("X", "Unspecified (X)"))
    fs = [
        FormField("person.surname", "Surname (family name)", required=True, kind="name", autocomplete="family-name"),
        FormField("person.given_names", "First name(s)", kind="name", autocomplete="given-name",
                  hint="As in the travel document; leave empty if there is none."),
        FormField("person.surname_at_birth", "Surname at birth", kind="name", hint="If different."),
        FormField("person.other_names", "Other names (alias, artistic name, usual name)", type="list", kind="name",
                  hint="Separate several with commas."),
        FormField("person.birth_date", "Date of birth", type="date", required=True, autocomplete="bday"),
        FormField("person.birth_place", "Place of birth", required=True, kind="name"),
        FormField("person.birth_country", "Country of birth", type="country", required=True, kind="country"),
        FormField("person.sex", "Sex", type="select", required=True, options=sex),
        FormField("person.nationality", "Nationality", type="country", required=True, kind="country"),
        FormField("person.other_nationalities", "Other nationalities", type="list", kind="country",
                  hint="Three-letter codes, separated by commas."),
        FormField("person.parents_first_names.0", "First name of your first parent", required=True, kind="name"),
        FormField("person.parents_first_names.1", "First name of your second parent", kind="name"),
        FormField("document.document_type", "Kind of document", type="select", required=True, options=(
            ("P", "Passport"), ("PD", "Diplomatic passport"), ("PS", "Service passport"), ("PO", "Other passport"))),
        FormField("document.number", "Document number", required=True, kind="docnumber"),
        FormField("document.issuing_country", "Issuing country", type="country", required=True, kind="country"),
        FormField("document.issued_on", "Date of issue", type="date", required=True),
        FormField("document.expires_on", "Date of expiry", type="date", required=True),
        FormField("residence.address", "Home address", wide=True, autocomplete="street-address",
                  hint="If you have none, give at least the city and country of residence."),
        FormField("residence.city", "City of residence", required=True, kind="name", autocomplete="address-level2"),
        FormField("residence.country", "Country of residence", type="country", required=True, kind="country"),
        FormField("contact.email", "E-mail address", type="email", required=True, kind="email", autocomplete="email",
                  hint="The answer and any request for information are sent here."),
        FormField("contact.phones.0", "Telephone", type="tel", kind="phone", autocomplete="tel"),
        FormField("contact.phones.1", "Other telephone", type="tel", kind="phone"),
        FormField("education", "Level of education", type="select", required=True, options=(
            ("none", "None"), ("primary", "Primary"), ("secondary", "Secondary"), ("higher", "Higher"))),
        FormField("job_group", "Current occupation (job group)", type="select", required=True,
                  options=tuple(sorted(JOB_GROUPS.items(), key=lambda kv: kv[1]))),
        FormField("job_title", "Job title", hint="Optional."),
        FormField("first_member_state", "Country of your first intended stay", type="select", required=True,
                  options=tuple(sorted(((c, names.get(c, c)) for c in ETIAS_COUNTRIES), key=lambda kv: kv[1]))),
        FormField("first_stay_address", "Address of your first intended stay", wide=True, hint="Optional."),
        FormField("background.conviction.when", "When", type="date"),
        FormField("background.conviction.country", "In which country", type="country", kind="country"),
        FormField("background.conflict_zone.zone", "Which zone"),
        FormField("background.conflict_zone.reasons", "Why you stayed there", wide=True),
        FormField("background.removal.when", "When", type="date"),
        FormField("background.removal.country", "Which country", type="country", kind="country"),
        FormField("family_member.surname", "Surname of the family member", kind="name"),
        FormField("family_member.given_names", "First name(s) of the family member", kind="name"),
        FormField("family_member.birth_date", "Their date of birth", type="date"),
        FormField("family_member.nationality", "Their nationality", type="country", kind="country"),
        FormField("family_member.relationship", "Your relationship to them", type="select", options=(
            ("spouse", "Spouse"), ("partner", "Registered partner"), ("child", "Child"), ("parent", "Parent"),
            ("grandchild", "Grandchild"), ("grandparent", "Grandparent"), ("other", "Other family member"))),
        FormField("guardian.surname", "Surname of the guardian", kind="name"),
        FormField("guardian.given_names", "First name(s) of the guardian", kind="name"),
        FormField("guardian.address", "Guardian's address", wide=True),
        FormField("guardian.email", "Guardian's e-mail", type="email", kind="email"),
        FormField("guardian.phone", "Guardian's telephone", type="tel", kind="phone"),
        FormField("filled_by.surname", "Your surname", kind="name"),
        FormField("filled_by.given_names", "Your first name(s)", kind="name"),
        FormField("filled_by.organisation", "Company or organisation", hint="If you act for one."),
        FormField("filled_by.email", "Your e-mail", type="email", kind="email"),
        FormField("filled_by.address", "Your address", wide=True),
        FormField("filled_by.phone", "Your telephone", type="tel", kind="phone"),
        FormField("filled_by.relationship", "Your relationship to the applicant"),
        FormField("filled_by.representation_declaration", "I declare that I represent the applicant", type="confirm",
                  kind="confirm"),
        FormField("declarations.data_true_and_complete", "The data I give are true, complete and correct",
                  type="confirm", required=True, kind="confirm"),
        FormField("declarations.aware_of_entry_conditions", "I know the conditions of entry and that I may be asked "
                  "for supporting documents at the border", type="confirm", required=True, kind="confirm"),
        FormField("payment.reference", "Payment reference", kind="reference",
                  hint="The confirmation from the payment service."),
        FormField("payment.amount_eur", "Amount paid (EUR)", kind="amount"),
    ]
    return {f.name: f for f in fs}


_FIELDS: dict[str, FormField] | None = None
QUESTIONS = (
    ("conviction", ("Have you been convicted of a serious criminal offence (such as terrorism, trafficking, murder) "
     "in the last 10 years, or of a terrorist offence in the last 20 years?"), ("when", "country")),
    ("conflict_zone", "Have you stayed in a specific war or conflict zone in the last 10 years?", ("zone", "reasons")),
    ("removal", ("Have you been the subject of a decision to leave the territory of a Member State or of any "
     "country in Annex II, or of a return decision, in the last 10 years?"), ("when", "country")),
)


def _fid(name: str) -> str:
    return "f-" + name.replace(".", "-").replace("_", "-")


def etias_fields() -> dict[str, FormField]:
    global _FIELDS
    if _FIELDS is None:
        _FIELDS = _etias_fields()
    return _FIELDS


def application_data(values: dict[str, str]) -> dict[str, Any]:
    """The form's flat fields (dotted names) as the JSON of `ApplicationIn`. Empty fields are left out,
    so pydantic says what is missing field by field; optional parts appear only when filled in."""
    fields = etias_fields()
    family = values.get("has_family_member") == "yes"
    filled_by = values.get("has_filled_by") == "yes"
    data: dict[str, Any] = {"client_id": values.get("client_id", ""), "person": {}, "document": {}, "residence": {},
                            "contact": {}, "declarations": {},
                            "background": {"conviction": {}, "conflict_zone": {}, **({} if family else {"removal": {}})}}
    if family:
        data["family_member"] = {}
    if filled_by:
        data["filled_by"] = {}
    answers = {q: values.get(f"background.{q}.answer", "") for q, _t, _f in QUESTIONS}
    for q, a in answers.items():
        if q in data["background"] and a in ("yes", "no"):
            data["background"][q]["answer"] = a == "yes"
    for name, f in fields.items():
        raw = values.get(name, "").strip()
        parts = name.split(".")
        top = parts[0]
        if top == "family_member" and not family or top == "filled_by" and not filled_by:
            continue
        if top == "background" and (parts[1] not in data["background"] or answers.get(parts[1]) != "yes"):
            continue  # follow-up answers count only after a "yes" (Art. 17(6))
        if f.type == "confirm":
            if raw:
                _put(data, parts, True)
            continue
        if not raw:
            continue
        if f.kind in ("docnumber",):
            raw = _upper(raw)
        elif f.kind == "country":
            raw = raw.upper()
        if f.type == "list":
            items = [x.strip().upper() if f.kind == "country" else x.strip() for x in raw.split(",") if x.strip()]
            _put(data, parts, items)
        else:
            _put(data, parts, raw)
    for optional in ("guardian", "payment"):
        if optional in data and not data[optional]:
            del data[optional]
    for key in ("parents_first_names", "phones"):
        holder = data["person"] if key == "parents_first_names" else data["contact"]
        if isinstance(holder.get(key), dict):
            holder[key] = [v for _k, v in sorted(holder[key].items())]
    data["person"].setdefault("parents_first_names", [])
    return data


def _put(data: dict[str, Any], parts: list[str], value: Any) -> None:
    d = data
    for p in parts[:-1]:
        d = d.setdefault(p, {})
    d[parts[-1]] = value


# Errors of a whole part (a model validator) land on the field that decides them.
_PART_ERRORS = {("document",): "document.expires_on", ("filled_by",): "filled_by.surname",
                ("guardian",): "guardian.surname", ("family_member",): "family_member.surname"}
_PROBLEM_FIELDS = {"etias-guardian-missing": "guardian.surname", "etias-fee-not-paid": "payment.amount_eur",
                   "etias-document-expired": "document.expires_on", "etias-not-applicable": "person.nationality"}


def _field_of(loc: tuple[Any, ...], msg: str) -> str:
    fields = etias_fields()
    parts = [str(p) for p in loc]
    if parts[:1] == ["background"] and len(parts) == 1:
        m = re.match(r"(?:Value error, )?(conviction|conflict_zone|removal):", msg)
        q = m.group(1) if m else "conviction"
        return {"conviction": "background.conviction.when", "conflict_zone": "background.conflict_zone.zone",
                "removal": "background.removal.when"}[q]
    if len(parts) == 3 and parts[0] == "background" and parts[2] == "answer":
        return f"background.{parts[1]}.answer"
    if tuple(parts) in _PART_ERRORS:
        return _PART_ERRORS[tuple(parts)]
    while parts:
        name = ".".join(parts)
        if name in fields:
            return name
        if name + ".0" in fields:
            return name + ".0"
        parts = parts[:-1]
    return "form"


def validation_errors(request: Request, exc: ValidationError) -> dict[str, str]:
    fields = etias_fields()
    errors: dict[str, str] = {}
    for err in exc.errors():
        name = _field_of(tuple(err["loc"]), str(err.get("msg", "")))
        f = fields.get(name)
        errors.setdefault(name, _message(request, err, f.kind if f else None))
    return errors


def problem_errors(p: Problem) -> dict[str, str]:
    """A refusal of the use case, next to the field it is about where one is named."""
    fields = etias_fields()
    m = re.match(r"([a-z_]+(?:\.[a-z_]+)+):", p.detail)
    if m and (m.group(1) in fields or m.group(1) + ".answer" in fields or m.group(1).startswith("background.")):
        name = m.group(1) if m.group(1) in fields else m.group(1) + ".answer"
        return {name: p.detail}
    slug = type(p).slug
    if slug in _PROBLEM_FIELDS:
        return {_PROBLEM_FIELDS[slug]: p.detail}
    return {}


def _label(request: Request, name: str) -> str:
    f = etias_fields().get(name)
    if f is not None:
        return _(request, f.label)
    for q, text, _fu in QUESTIONS:
        if name == f"background.{q}.answer":
            return _(request, text)
    return _(request, "The form")


def _etias_form(request: Request, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                problem: Problem | None = None, status_code: int = 200) -> HTMLResponse:
    from smartborders.etias.rules import FEE

    values = dict(values or {})
    values.setdefault("client_id", f"web-{uuid.uuid4().hex}")
    values.setdefault("document.document_type", "P")
    errors = errors or {}
    fields = etias_fields()
    summary = [(fields[n].id if n in fields else (_fid(n) + "-yes" if n.startswith("background.") else "etias-form"),
                _label(request, n), msg) for n, msg in errors.items()]
    return render(request, "traveller/etias_form.html", status_code=status_code,
                  title=_(request, "Apply for an ETIAS travel authorisation"), fields=fields, values=values,
                  errors=errors, summary=summary, problem=problem, questions=QUESTIONS, fee=str(FEE),
                  countries=_countries())


@router.get("/traveller/etias")
async def etias_form(request: Request, user: User = Depends(anyone)):  # type: ignore[no-untyped-def]  # noqa: B008
    return _etias_form(request)


@router.post("/traveller/etias", dependencies=[Depends(csrf)])
async def etias_submit(request: Request, user: User = Depends(anyone)):  # type: ignore[no-untyped-def]  # noqa: B008
    """Art. 17-19: the form to `etias.service.submit`. The form carries a client id made when it was
    drawn, so a second press of the button (or a replay) answers the same application."""
    from smartborders.etias import schemas as ETS
    from smartborders.etias import service as etias

    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    data = application_data(values)
    try:
        cmd = ETS.ApplicationIn.model_validate(data)
    except ValidationError as e:
        errors = validation_errors(request, e)
        # The follow-up rule of a "yes" (Art. 17(6)) runs only once all three questions are answered:
        # ask it now too, with the unanswered questions taken as "no", so every message comes at once.
        background = {q: a if "answer" in a else {"answer": False} for q, a in data["background"].items()}
        try:
            ETS.BackgroundIn.model_validate(background)
        except ValidationError as b:
            for err in b.errors():
                if not err["loc"]:
                    name = _field_of(("background",), str(err.get("msg", "")))
                    errors.setdefault(name, _message(request, err, None))
        return _etias_form(request, values, errors, status_code=422)
    ip = request.client.host if request.client else None
    out, problem = await attempt(request, lambda ctx: etias.submit(ctx, cmd, ip_address=ip))
    if problem is not None or out is None:
        return _etias_form(request, values, problem_errors(problem) if problem else {}, problem=problem,
                           status_code=422)
    _remember(request, out.number)
    return RedirectResponse(f"/traveller/etias/applications/{out.number}", status_code=303)


# ---- the application's status (Art. 31) and the answers to requests for information (Art. 27) ----------


def _remember(request: Request, number: str) -> None:
    """The applications this session has shown it may see (submitted here, or number + document number)."""
    seen = [n for n in request.session.get("etias_numbers", []) if n != number]
    request.session["etias_numbers"] = [number, *seen][:10]


def _may_see(request: Request, number: str) -> bool:
    return number in request.session.get("etias_numbers", [])


STATUS = {
    "travel_authorisation_requested": ("Requested", "warn"),
    "central_unit_verification": ("Being verified by the ETIAS Central Unit", "warn"),
    "manual_processing": ("Being examined by a national unit", "warn"),
    "issued": ("Issued", "ok"),
    "refused": ("Refused", "bad"),
    "annulled": ("Annulled", "bad"),
    "revoked": ("Revoked", "bad"),
}


def _own_application(number: str, document_number: str) -> Any:
    """The application's status for the one who holds its travel document: the same answer whether the
    number is unknown or the document number is not its own."""
    from smartborders.etias import manual
    from smartborders.etias import service as etias

    def use_case(ctx: Any) -> Any:
        try:
            a = manual.application(ctx, number, lock=False)
        except Problem:
            a = None
        if a is None or a.document_number != document_number:
            raise etias.ApplicationNotFound("no application with this number and travel document number")
        return etias.get(ctx, number)

    return use_case


def _status_page(request: Request, out: Any, *, errors: dict[str, str] | None = None, values: dict[str, str] | None
                 = None, problem: Problem | None = None, answered: bool = False, status_code: int = 200) -> HTMLResponse:
    label, tone = STATUS.get(out.status, (out.status.replace("_", " ").capitalize(), "warn"))
    notices = []
    for n in out.notices:
        when, _sep, text = n.partition(" ")
        notices.append((when[:16].replace("T", " "), text) if _ISO.match(when[:10]) else ("", n))
    return render(request, "traveller/etias_status.html", status_code=status_code,
                  title=_(request, "Application %(number)s", number=out.number), app=out, status_label=label,
                  tone=tone, notices=notices, errors=errors or {}, values=values or {}, problem=problem,
                  answered=answered)


@router.get("/traveller/etias/status")
async def status_lookup_page(request: Request, number: str = "", user: User = Depends(anyone)):  # type: ignore[no-untyped-def]  # noqa: B008
    return render(request, "traveller/etias_lookup.html", title=_(request, "Your ETIAS application"),
                  values={"number": number[:20]}, errors={}, problem=None)


@router.post("/traveller/etias/status", dependencies=[Depends(csrf)])
async def status_lookup(request: Request, user: User = Depends(anyone)):  # type: ignore[no-untyped-def]  # noqa: B008
    from smartborders.etias import service as etias

    form = await request.form()
    number, doc = _text(form, "number").upper().replace(" ", ""), _upper(_text(form, "document_number"))
    values, errors = {"number": number, "document_number": doc}, {}
    if not number:
        errors["number"] = _(request, "Required.")
    elif not etias.valid_number(number):
        errors["number"] = _(request, "This is not an ETIAS application number (it looks like E1234-56789-ABCDE; "
                             "the last character is a check character).")
    if not doc:
        errors["document_number"] = _(request, "Required.")
    elif not re.fullmatch(r"[A-Z0-9]{1,24}", doc):
        errors["document_number"] = _(request, _HINTS["docnumber"])
    problem = None
    if not errors:
        out, problem = await attempt(request, _own_application(number, doc), readonly=True)
        if problem is None and out is not None:
            _remember(request, out.number)
            return RedirectResponse(f"/traveller/etias/applications/{out.number}", status_code=303)
    return render(request, "traveller/etias_lookup.html", status_code=422, title=_(request, "Your ETIAS application"),
                  values=values, errors=errors, problem=problem)


@router.get("/traveller/etias/applications/{number}")
async def application_status(request: Request, number: str, answered: bool = False,  # type: ignore[no-untyped-def]
                             user: User = Depends(anyone)):  # noqa: B008
    from smartborders.etias import service as etias

    if not _may_see(request, number):
        return RedirectResponse(f"/traveller/etias/status?number={number[:20]}", status_code=303)
    out = await call(request, lambda ctx: etias.get(ctx, number), readonly=True)
    return _status_page(request, out, answered=answered)


MAX_UPLOAD = 2_000_000  # bytes per document: what AnswerIn's base64 limit holds
MEDIA = {"application/pdf", "image/jpeg", "image/png"}


@router.post("/traveller/etias/applications/{number}/answers", dependencies=[Depends(csrf)])
async def answer_request(request: Request, number: str, user: User = Depends(anyone)):  # type: ignore[no-untyped-def]  # noqa: B008
    """Art. 27(2): the applicant's answer, with electronic copies of documents; the travel document
    number proves it is theirs (`etias.manual.answer`)."""
    from smartborders.etias import manual
    from smartborders.etias import schemas as ETS
    from smartborders.etias import service as etias

    if not _may_see(request, number):
        return RedirectResponse(f"/traveller/etias/status?number={number[:20]}", status_code=303)
    form = await request.form()
    rid = _text(form, "request_id")
    values = {"request_id": rid, "answer": _text(form, "answer"), "document_number": _upper(_text(form, "document_number"))}
    errors: dict[str, str] = {}
    documents = []
    for up in form.getlist("documents"):
        if isinstance(up, str) or not getattr(up, "filename", ""):
            continue
        content = await up.read(MAX_UPLOAD + 1)
        if len(content) > MAX_UPLOAD:
            errors[f"documents-{rid}"] = _(request, "%(name)s is larger than 2 MB.", name=up.filename)
            continue
        media = (up.content_type or "").split(";")[0]
        if media not in MEDIA:
            errors[f"documents-{rid}"] = _(request, "%(name)s: only PDF, JPEG or PNG files.", name=up.filename)
            continue
        documents.append({"name": up.filename[:200], "media_type": media,
                          "content_base64": base64.b64encode(content).decode()})
    cmd = None
    if not errors:
        try:
            cmd = ETS.AnswerIn.model_validate({"request_id": rid, "document_number": values["document_number"],
                                               "answer": values["answer"], "documents": documents})
        except ValidationError as e:
            for err in e.errors():
                name = {"document_number": "document_number", "documents": "documents"}.get(str(err["loc"][0]), "answer")
                errors.setdefault(f"{name}-{rid}", _message(request, err, "docnumber" if name == "document_number"
                                                            else None))
    problem = None
    if cmd is not None:
        done, problem = await attempt(request, lambda ctx: manual.answer(ctx, number, cmd))
        if problem is None and done is not None:
            return RedirectResponse(f"/traveller/etias/applications/{number}?answered=true", status_code=303)
        if problem is not None and type(problem).slug == "etias-not-the-applicant":
            errors[f"document_number-{rid}"] = problem.detail
    out = await call(request, lambda ctx: etias.get(ctx, number), readonly=True)
    return _status_page(request, out, errors=errors, values=values, problem=problem, status_code=422)


# ---- one's own data (EES Art. 52, ETIAS Art. 64): read-only self-access --------------------------------


def _fold(name: str) -> str:
    from smartborders.etias.service import fold_name

    return fold_name(name)


def own_data(number: str, state: str, surname: str, born: date) -> Any:
    """What the EES holds on the person with this document, surname and date of birth, and their ETIAS
    applications for it; nothing at all unless all four agree (no hint that the document is known)."""
    from smartborders.ees import schemas as ES
    from smartborders.ees import service as ees
    from smartborders.etias import service as etias

    def use_case(ctx: Any) -> tuple[Any, list[Any]]:
        found = ees.search(ctx, ES.SearchRequest(document=ES.DocumentIn(document_type="P", number=number,
                                                                        issuing_state=state)))
        f = found.file
        if f is None or f.birth_date != born or _fold(f.surname) != _fold(surname):
            f = None
        apps = etias.own_applications(ctx, number, state, surname, born)
        return f, apps

    return use_case


@router.get("/traveller/my-data")
async def my_data_page(request: Request, user: User = Depends(anyone)):  # type: ignore[no-untyped-def]  # noqa: B008
    return render(request, "traveller/my_data.html", title=_(request, "My data"), values={}, errors={},
                  searched=False, file=None, apps=[], countries=_countries())


@router.post("/traveller/my-data", dependencies=[Depends(csrf)])
async def my_data(request: Request, user: User = Depends(anyone)):  # type: ignore[no-untyped-def]  # noqa: B008
    from smartborders.reference.countries import is_icao_code

    form = await request.form()
    values = {"document_number": _upper(_text(form, "document_number")),
              "issuing_state": _upper(_text(form, "issuing_state")), "surname": _text(form, "surname"),
              "birth_date": _text(form, "birth_date")}
    errors: dict[str, str] = {}
    for k, v in values.items():
        if not v:
            errors[k] = _(request, "Required.")
    if "document_number" not in errors and not re.fullmatch(r"[A-Z0-9]{1,24}", values["document_number"]):
        errors["document_number"] = _(request, _HINTS["docnumber"])
    if "issuing_state" not in errors and not is_icao_code(values["issuing_state"]):
        errors["issuing_state"] = _(request, _HINTS["country"])
    born = None
    if "birth_date" not in errors:
        try:
            born = _date(values["birth_date"])
        except ValueError:
            errors["birth_date"] = _(request, "Write the date as YYYY-MM-DD.")
    if "surname" not in errors and not _fold(values["surname"]):
        errors["surname"] = _(request, _HINTS["name"])
    if errors or born is None:
        return render(request, "traveller/my_data.html", status_code=422, title=_(request, "My data"), values=values,
                      errors=errors, searched=False, file=None, apps=[], countries=_countries())
    f, apps = await call(request, own_data(values["document_number"], values["issuing_state"], values["surname"],
                                           born))
    return render(request, "traveller/my_data.html", title=_(request, "My data"), values=values, errors={},
                  searched=True, file=f, apps=apps, status_labels=STATUS,
                  countries=_countries())
