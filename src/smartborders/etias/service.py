"""ETIAS use cases. Each runs in the caller's transaction (`ees.service.run` gives one per call).

This module has the application (Reg. 2018/1240 Art. 15-19): who may apply, admissibility and the
fee, the application file and its number, and the link to the applicant's earlier files.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from smartborders.core.errors import Conflict, InvalidInput, NotFound
from smartborders.ees.service import ClientIdReused, Context, request_fingerprint
from smartborders.etias import rules
from smartborders.etias import schemas as S
from smartborders.etias.manual import decision_constraints, log, start_consultations, valid_ltv
from smartborders.etias.models import Application, Hit
from smartborders.etias.rules import (  # the file's states and deadlines, also read as service.ISSUED etc.
    CENTRAL_UNIT,
    CENTRAL_UNIT_HOURS,
    DECISION_HOURS,
    ISSUED,
    MANUAL,
    REQUESTED,
)


class NoAuthorisationNeeded(InvalidInput):
    slug = "etias-not-applicable"
    title = "This traveller does not apply for an ETIAS travel authorisation"


class FeeNotPaid(InvalidInput):
    slug = "etias-fee-not-paid"
    title = "The application is not admissible: the fee is not paid"


class GuardianMissing(InvalidInput):
    slug = "etias-guardian-missing"
    title = "The application of a minor needs the person with parental authority or the guardian"


class DocumentExpired(Conflict):
    slug = "etias-document-expired"
    title = "The travel document has expired"


class ApplicationNotFound(NotFound):
    slug = "etias-application-not-found"
    title = "No ETIAS application with this number"


_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U


def _new_number() -> str:
    """An application number: 'E' and 15 base-32 characters in three groups, the last a check character
    (the sum of the values, weighted by position, mod 32), so a mistyped number is caught on entry."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(14))
    check = _ALPHABET[sum((i + 1) * _ALPHABET.index(c) for i, c in enumerate(body)) % 32]
    s = body + check
    return f"E{s[:5]}-{s[5:10]}-{s[10:]}"


def valid_number(number: str) -> bool:
    s = number.removeprefix("E").replace("-", "")
    if len(s) != 15 or any(c not in _ALPHABET for c in s):
        return False
    return _ALPHABET[sum((i + 1) * _ALPHABET.index(c) for i, c in enumerate(s[:-1])) % 32] == s[-1]


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _out(ctx: Context, a: Application, *, new: bool = False) -> S.ApplicationOut:
    """The applicant's view; `new`: just created, so no request or LTV to read (two queries saved on
    every submission)."""
    from smartborders.etias import manual

    if new:
        return S.ApplicationOut(number=a.number, status=a.status, submitted_at=a.submitted_at, fee_eur=a.fee_eur,
                                fee_reason=a.fee_reason, linked_to=list(a.linked_to or []), valid_until=a.valid_until,
                                notices=list(a.notices or []), decision_due=a.due_at)
    return S.ApplicationOut(number=a.number, status=a.status, submitted_at=a.submitted_at, fee_eur=a.fee_eur,
                            fee_reason=a.fee_reason, linked_to=list(a.linked_to or []), valid_until=a.valid_until,
                            notices=list(a.notices or []), decision_due=a.due_at,
                            open_requests=[r for r in manual.requests_of(ctx, a) if r.status == "open"],
                            ltvs=manual.ltvs_of(ctx, a))


def submit(ctx: Context, cmd: S.ApplicationIn, *, ip_address: str | None = None) -> S.ApplicationOut:
    """Art. 15-19: check who applies and admissibility, create the application file with its number and
    status "travel authorisation requested", link the applicant's earlier files, tell the applicant.
    Idempotent by `client_id`: a replay answers the file created first."""
    fp = request_fingerprint("etias-application", cmd)
    seen = ctx.session.scalar(select(Application).where(Application.client_id == cmd.client_id))
    if seen is not None:
        if seen.fingerprint != fp:
            raise ClientIdReused(f"client id {cmd.client_id} was first used for another application",
                                 client_id=cmd.client_id)
        return _out(ctx, seen)
    now = ctx.now()
    today = now.date()
    p, doc = cmd.person, cmd.document
    family = cmd.family_member is not None
    # Who applies (Art. 2).
    need = rules.required(p.nationality, rules.Holdings(family_member_of_union_citizen=family))
    if not need.required:
        raise NoAuthorisationNeeded(need.explanation, ground=need.ground.value)
    if p.birth_date > today:
        raise InvalidInput("person.birth_date: in the future")
    if doc.expires_on <= today:
        raise DocumentExpired(f"the travel document expired on {doc.expires_on}: apply with a valid one",
                              expires_on=doc.expires_on.isoformat())
    if doc.issued_on > today:
        raise InvalidInput("document.issued_on: in the future")
    # Art. 17: the questions a family member is not asked, and the guardian of a minor.
    if family and cmd.background.removal is not None:
        raise InvalidInput("background.removal: not asked of a family member of a Union citizen (Art. 24(2)(a))")
    if not family and cmd.background.removal is None:
        raise InvalidInput("background.removal: the third background question must be answered (Art. 17(4)(c))")
    if _age(p.birth_date, today) < 18 and cmd.guardian is None:
        raise GuardianMissing("the applicant is a minor: give the person with parental authority or the legal "
                              "guardian (Art. 17(2)(k)), who signs the form (Art. 17(1))")
    # Admissibility (Art. 19(1)-(2)): the fee is paid.
    amount, why = rules.fee(p.birth_date, today, family_member=family)
    if amount > 0:
        if cmd.payment is None:
            raise FeeNotPaid(f"the fee of EUR {amount} is not paid ({why})", fee_eur=str(amount))
        if Decimal(cmd.payment.amount_eur) != amount:
            raise FeeNotPaid(f"paid EUR {cmd.payment.amount_eur}, the fee is EUR {amount}", fee_eur=str(amount))
    elif cmd.payment is not None and Decimal(cmd.payment.amount_eur) != 0:
        raise InvalidInput(f"payment: no fee is due ({why}); nothing may be charged")
    # Art. 19(4): earlier files of the same applicant, by the Art. 17(2)(a) and (aa) data.
    earlier = ctx.session.scalars(select(Application.number).where(
        func.upper(Application.surname) == p.surname.upper(),
        func.upper(Application.given_names) == p.given_names.upper(),
        Application.birth_date == p.birth_date,
        func.upper(Application.birth_place) == p.birth_place.upper(),
        Application.nationality == p.nationality,
    ).order_by(Application.submitted_at)).all()
    data = cmd.model_dump(mode="json", exclude={"client_id", "payment"})
    a = Application(
        number=_new_number(), client_id=cmd.client_id, fingerprint=fp, status=REQUESTED,
        surname=p.surname, given_names=p.given_names, birth_date=p.birth_date, birth_place=p.birth_place,
        nationality=p.nationality, document_number=doc.number, document_country=doc.issuing_country,
        document_expires_on=doc.expires_on, email=cmd.contact.email, data=data, ip_address=ip_address,
        fee_eur=str(amount), fee_reason=why, payment_reference=cmd.payment.reference if cmd.payment else None,
        linked_to=list(earlier), submitted_at=now,
        # Art. 19(5): told at once that more information, documents or an interview may be asked for.
        notices=[f"{now.isoformat()} application received; additional information or documents may be "
                 "requested, or an interview held, while it is processed (Art. 19(5))"],
    )
    ctx.session.add(a)
    ctx.session.flush()
    _automated_processing(ctx, a)
    return _out(ctx, a, new=True)


def _automated_processing(ctx: Context, a: Application) -> None:
    """Art. 20-21: compare the file, then issue at once, or send it to the Central Unit (hits, 12 h),
    or straight to the national unit (only a "yes" to a background question)."""
    from smartborders.etias import screening, screening_rules

    now = ctx.now()
    found, yes = screening.process(ctx.session, ctx.session.get_bind(), a)
    # Art. 20(5): the screening rules in use (Art. 33); a hit is verified by the Central Unit like any other.
    found += [screening.Found("20(5)", "SRI", f"{m.rule_id} v{m.version}", f"screening rule {m.rule_id} v{m.version} "
                              f"({m.risk}, Art. {m.basis}): {m.explanation}") for m in screening_rules.evaluate(
                                  ctx.session, a)]
    for f in found:
        ctx.session.add(Hit(application_id=a.id, article=f.article, source=f.source, reference=f.reference,
                            score=f.score, explanation=f.explanation[:1000], supplied_by=f.supplied_by,
                            status="pending", created_at=now))
    if found:
        a.status, a.due_at = CENTRAL_UNIT, now + timedelta(hours=CENTRAL_UNIT_HOURS)
        a.notices = [*a.notices, f"{now.isoformat()} the application is being verified; a decision follows "
                     f"within {DECISION_HOURS} hours unless more information is requested (Art. 22, 32)"]
    elif yes:
        # Art. 21(4), 25: the Member State of first intended stay is responsible for a "yes" [K].
        a.status, a.due_at = MANUAL, a.submitted_at + timedelta(hours=DECISION_HOURS)
        a.responsible_state = a.data["first_member_state"]
        a.notices = [*a.notices, f"{now.isoformat()} the application is examined by the national unit of "
                     f"{a.responsible_state}; a decision follows within {DECISION_HOURS} hours unless more "
                     "information is requested (Art. 26, 32)"]
    else:
        a.status, a.decided_at = ISSUED, now
        a.valid_until = rules.valid_until(now.date(), a.document_expires_on)
        a.notices = [*a.notices, issued_notice(a, now, "automatically")]
    ctx.session.flush()


EES_WEB_SERVICE = "/api/v1/traveller/stay-queries"  # the EES web service of Art. 13 Reg. 2017/2226 (remaining authorised stay)


def issued_notice(a: Application, now: Any, how: str) -> str:
    """Art. 38(1): what the applicant is told when the authorisation is issued, point by point."""
    return (f"{now.isoformat()} (a) travel authorisation {a.number} issued {how}; (b) valid from {now.date()} "
            f"until {a.valid_until}; (c) present the same travel document ({a.document_country} {a.document_number}) "
            "at entry: a new travel document needs a new application; (d) the entry conditions of Art. 6 of "
            "Reg. (EU) 2016/399 apply, and a short stay is at most 90 days in any 180-day period; (e) the "
            "authorisation does not confer an automatic right of entry; (f) border authorities may ask for "
            "supporting documents; (g) a valid travel authorisation is needed for the whole stay; (h) check your "
            f"remaining authorised stay at any time with the EES web service ({EES_WEB_SERVICE}); (j) you may ask for "
            "revocation, and it is revoked if the conditions are no longer met (Art. 38(1), 41)")


def get(ctx: Context, number: str) -> S.ApplicationOut:
    """The application's status (Art. 31 verification tool: by number)."""
    if not valid_number(number):
        raise InvalidInput(f"{number!r} is not an ETIAS application number (mistyped? the check character "
                           "does not agree)")
    a = ctx.session.scalar(select(Application).where(Application.number == number))
    if a is None:
        raise ApplicationNotFound(f"no application {number}")
    return _out(ctx, a)


def fold_name(name: str) -> str:
    """A name as the MRZ writes it: no accents, letters only, upper case (for "is this the same name")."""
    import re
    import unicodedata

    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z]", "", plain.upper())


def own_applications(ctx: Context, document_number: str, document_country: str, surname: str,
                     birth_date: date) -> list[S.ApplicationOut]:
    """Art. 64: an applicant's access to their own applications for one travel document, only where the
    surname (whatever the case and accents) and the date of birth agree; each access is logged."""
    rows = ctx.session.scalars(select(Application).where(
        Application.document_number == document_number, Application.document_country == document_country,
        Application.birth_date == birth_date).order_by(Application.submitted_at)).all()
    out = []
    for a in rows:
        if fold_name(a.surname) == fold_name(surname):
            log(ctx, "applicant", "applicant", "ETIAS Art. 64", "access", a.number)
            out.append(_out(ctx, a))
    return out


def valid_authorisation(session: Any, document_number: str, document_country: str, on: date) -> Application | None:
    """The issued travel authorisation for this travel document valid on that day, if any (Art. 36-38:
    it is linked to the document)."""
    return session.scalar(select(Application).where(
        Application.document_number == document_number, Application.document_country == document_country,
        Application.status == ISSUED, Application.valid_until >= on,
    ).order_by(Application.decided_at.desc()).limit(1))


def carrier_check(ctx: Context, q: S.CarrierCheckIn, periods: rules.Periods | None = None) -> S.CarrierCheckOut:
    """Art. 45: OK / NOT OK for a passenger before boarding; not a decision on entry."""
    p = periods or rules.periods()
    period = p.on(q.travel_date)
    obliged = period in (rules.Period.GRACE, rules.Period.FULL)

    def answer(ok: bool, subject: bool, why: str, ltv_states: list[str] | None = None) -> S.CarrierCheckOut:
        # Art. 45(6)-(7) [K]: carrier queries are logged (their own log): the answer, not the passenger.
        log(ctx, f"carrier:{q.carrier}", q.carrier, "ETIAS Art. 45", "carrier_check", None,
            answer="OK" if ok else "NOT_OK", travel_date=q.travel_date.isoformat())
        return S.CarrierCheckOut(answer="OK" if ok else "NOT_OK", subject_to_etias=subject,
                                 obligation_applies=obliged and subject, period=period.value, reason=why,
                                 ltv_states=ltv_states)

    if q.airport_transit:
        return answer(True, False, "airport transit: no travel authorisation is checked (Art. 45(1))")
    need = rules.required(q.nationality)
    if not need.required:
        return answer(True, False, f"not subject to ETIAS: {need.explanation}")
    found = valid_authorisation(ctx.session, q.document_number, q.issuing_country, q.travel_date)
    if found is not None:
        return answer(True, True, f"valid travel authorisation until {found.valid_until}")
    ltv = valid_ltv(ctx.session, q.document_number, q.issuing_country, q.travel_date)
    if ltv is not None:
        states = list(ltv[1].states)
        ok = q.entry_state in states
        return answer(ok, True, f"a travel authorisation with limited territorial validity, for {', '.join(states)} "
                      f"only, until {ltv[1].valid_until} (Art. 44, 45(2))" + ("" if ok else f": not for {q.entry_state}"),
                      states)
    return answer(False, True, "no valid travel authorisation for this travel document on the travel date"
                  + ("" if obliged else " (the optional period of Art. 83(1): not yet required)"))


# ---- the Central Unit (Art. 22) and the Member State responsible (Art. 25) ------------------------


class NotAwaitingVerification(Conflict):
    slug = "etias-not-awaiting-verification"
    title = "The application is not awaiting the Central Unit's verification"


class HitsNotCovered(InvalidInput):
    slug = "etias-hits-not-covered"
    title = "Every hit of the file must be verified, and only its hits"


def _case(ctx: Context, a: Application) -> S.CaseOut:
    from smartborders.etias import manual

    hits = ctx.session.scalars(select(Hit).where(Hit.application_id == a.id).order_by(Hit.created_at, Hit.article))
    return S.CaseOut(
        number=a.number, status=a.status, submitted_at=a.submitted_at, due_at=a.due_at,
        overdue=a.due_at is not None and ctx.now() > a.due_at, responsible_state=a.responsible_state,
        surname=a.surname, given_names=a.given_names, birth_date=a.birth_date, nationality=a.nationality,
        document=f"{a.document_country} {a.document_number}", linked_to=list(a.linked_to or []),
        flags=list(a.flags or []), decision_grounds=list(a.decision_grounds or []),
        hits=[S.HitOut(id=str(h.id), article=h.article, source=h.source, reference=h.reference, score=h.score,
                       explanation=h.explanation, supplied_by=h.supplied_by, status=h.status, phase=h.phase)
              for h in hits],
        **manual.case_parts(ctx, a))


def central_unit_queue(ctx: Context, limit: int = 100) -> list[S.CaseOut]:
    """The files awaiting verification, the most urgent first (Art. 22(6): 12 hours each)."""
    rows = ctx.session.scalars(select(Application).where(Application.status == CENTRAL_UNIT)
                               .order_by(Application.due_at, Application.submitted_at).limit(limit))
    return [_case(ctx, a) for a in rows]


def national_unit_queue(ctx: Context, state: str, limit: int = 100) -> list[S.CaseOut]:
    """What waits on one Member State's national unit: files in manual processing it is responsible
    for (Art. 25-26), and valid authorisations a new alert or watchlist entry of its own hit (Art. 41),
    the earliest deadline first."""
    from sqlalchemy import and_, or_

    rows = ctx.session.scalars(select(Application).where(or_(
        and_(Application.status == MANUAL, Application.responsible_state == state),
        and_(Application.status == ISSUED, Application.review_state == state),
    )).order_by(Application.due_at.is_(None), Application.due_at, Application.submitted_at).limit(limit))
    return [_case(ctx, a) for a in rows]


def case(ctx: Context, number: str) -> S.CaseOut:
    if not valid_number(number):
        raise InvalidInput(f"{number!r} is not an ETIAS application number")
    a = ctx.session.scalar(select(Application).where(Application.number == number))
    if a is None:
        raise ApplicationNotFound(f"no application {number}")
    return _case(ctx, a)


def responsible_state(ctx: Context, a: Application, kept: list[Hit]) -> str:
    """Art. 25: the Member State that supplied the data behind the hits; of several, the one with the
    most recent SIS arrest alert, then refusal alert, then the most recent other data [K: tie-breaks];
    where no Member State supplied them (Europol, Interpol, ETIAS's or the EES's own data, answers),
    the Member State of first intended stay (Art. 25(2)) [K]."""
    from smartborders.etias.models import ListEntry

    by_state = [h for h in kept if (h.supplied_by or "") in rules.ALPHA2]
    if not by_state:
        return str(a.data["first_member_state"])
    if len({h.supplied_by for h in by_state}) == 1:
        return rules.ALPHA2[str(by_state[0].supplied_by)]

    def rank(h: Hit) -> tuple[int, Any]:
        entry = ctx.session.scalar(select(ListEntry).where(ListEntry.reference == h.reference))
        order = {"20(2)(d)": 2, "20(2)(c)": 1}.get(h.article, 0)
        return order, entry.added_at if entry is not None else h.created_at

    return rules.ALPHA2[str(max(by_state, key=rank).supplied_by)]


def verify(ctx: Context, number: str, cmd: S.VerificationIn) -> S.CaseOut:
    """Art. 22: the Central Unit verifies each hit. All false: they are deleted from the processing and
    the authorisation is issued at once (22(4)). Any confirmed or doubtful: manual processing by the
    national unit of the Member State responsible (22(5), 25, 26), within the 96 hours of Art. 32."""
    a = ctx.session.scalar(select(Application).where(Application.number == number).with_for_update())
    if a is None:
        raise ApplicationNotFound(f"no application {number}")
    if a.status != CENTRAL_UNIT:
        raise NotAwaitingVerification(f"application {number} is {a.status}", status=a.status)
    hits = {str(h.id): h for h in ctx.session.scalars(select(Hit).where(Hit.application_id == a.id))}
    given = [d.id for d in cmd.hits]
    if sorted(given) != sorted(hits) or len(set(given)) != len(given):
        raise HitsNotCovered(f"the file has {len(hits)} hit(s): verify each exactly once",
                             hits=sorted(hits), given=given)
    now = ctx.now()
    for d in cmd.hits:
        h = hits[d.id]
        h.status = d.outcome
        h.explanation = (h.explanation + f" | {d.outcome} by {cmd.officer} at {now.isoformat()}: {d.reason}")[:1000]
    kept = [h for h in hits.values() if h.status != "discarded"]
    a.verified_at = now
    log(ctx, "central_unit", cmd.officer, "ETIAS Art. 22", "verification", number,
        outcomes={d.id: d.outcome for d in cmd.hits})
    if not kept:
        a.status, a.decided_at, a.due_at = ISSUED, now, None
        a.valid_until = rules.valid_until(now.date(), a.document_expires_on)
        a.notices = [*a.notices, issued_notice(a, now, "after the Central Unit's verification (Art. 22(4))")]
    else:
        a.status = MANUAL
        a.responsible_state = responsible_state(ctx, a, kept)
        a.due_at = a.submitted_at + timedelta(hours=DECISION_HOURS)
        start_consultations(ctx, a, kept, "central_unit")
    ctx.session.flush()
    return _case(ctx, a)


# ---- the national unit's decision (Art. 26, 36-39) --------------------------------------------------


class NotResponsible(Conflict):
    slug = "etias-not-responsible"
    title = "Another Member State is responsible for this application"


class NotAwaitingDecision(Conflict):
    slug = "etias-not-awaiting-decision"
    title = "The application is not in manual processing"


class DecisionNotAllowed(InvalidInput):
    slug = "etias-decision-not-allowed"
    title = "The law does not allow this decision here"


# Art. 26(3): a confirmed hit under these requires refusal, on this ground.
_MUST_REFUSE = {"20(2)(a)": "37(1)(a)", "20(2)(c)": "37(1)(e)"}


def decide(ctx: Context, number: str, cmd: S.DecisionIn) -> S.CaseOut:
    """Art. 26(2): issue or refuse, by the national unit of the Member State responsible, with the
    grounds of Art. 37 and the notification of Art. 38 (the appeal lies in the deciding state)."""
    a = ctx.session.scalar(select(Application).where(Application.number == number).with_for_update())
    if a is None:
        raise ApplicationNotFound(f"no application {number}")
    if a.status != MANUAL:
        raise NotAwaitingDecision(f"application {number} is {a.status}", status=a.status)
    if cmd.state != a.responsible_state:
        raise NotResponsible(f"{a.responsible_state} is responsible for application {number} (Art. 25)",
                             responsible_state=a.responsible_state)
    must, asked_flags = decision_constraints(ctx, a)
    confirmed = [h for h in ctx.session.scalars(select(Hit).where(Hit.application_id == a.id))
                 if h.status in ("confirmed", "doubt")]
    required = sorted({_MUST_REFUSE[h.article] for h in confirmed if h.article in _MUST_REFUSE and h.status == "confirmed"})
    if required and (cmd.decision != "refuse" or not set(required) <= set(cmd.grounds)):
        raise DecisionNotAllowed(f"a confirmed hit requires refusal on ground(s) {', '.join(required)} (Art. 26(3))",
                                 required_grounds=required)
    if must and (cmd.decision != "refuse" or not set(must) <= set(cmd.grounds)):
        raise DecisionNotAllowed(f"the applicant did not answer or attend: refusal on ground(s) {', '.join(must)} "
                                 "(Art. 37(1)(f)-(g))", required_grounds=must)
    family = a.data.get("family_member") is not None
    if family and "37(1)(c)" in cmd.grounds:
        raise DecisionNotAllowed("a family member of a Union citizen is not refused for illegal immigration risk "
                                 "(Art. 24(4))")
    now = ctx.now()
    a.decided_at, a.decided_by, a.due_at, a.decision_reason = now, f"{cmd.state}:{cmd.officer}", None, cmd.reason
    if cmd.decision == "issue":
        a.status = ISSUED
        a.valid_until = rules.valid_until(now.date(), a.document_expires_on)
        a.flags = (["second_line_check"] if cmd.second_line_check or asked_flags
                   else ["hit_assessed"] if confirmed else [])
        a.notices = [*a.notices, issued_notice(a, now, f"by the national unit of {cmd.state} (Art. 26)")]
    else:
        a.status = "refused"
        a.decision_grounds = list(cmd.grounds)
        why = "; ".join(f"{g}: {S.GROUNDS[g]}" for g in cmd.grounds)
        a.notices = [*a.notices, f"{now.isoformat()} travel authorisation refused by the national unit of "
                     f"{cmd.state} on the grounds of Art. {why}. You may appeal in {cmd.state} under its national "
                     "law (Art. 37(3)); you may ask for access to, rectification or erasure of your data "
                     "(Art. 64)"]
    log(ctx, f"national_unit:{cmd.state}", f"{cmd.state}:{cmd.officer}", "ETIAS Art. 26", cmd.decision, number,
        grounds=list(cmd.grounds), flags=list(a.flags or []))
    ctx.session.flush()
    return _case(ctx, a)
