"""Retention of ETIAS application files (Reg. 2018/1240 Art. 54) and the applicant's consent to keep
a file longer.

A file is kept (Art. 54(1)):
- (a) for the validity period of the travel authorisation, and up to 3 more years if the applicant
  consented by an electronically signed statement (Art. 54(2)); consent can be withdrawn [K];
- (b) 5 years from the last decision to refuse, annul or revoke; but when the data that gave rise to
  that decision (a SIS alert, an SLTD or watchlist entry) are deleted earlier, the file goes within
  7 days of that deletion.
`purge` checks this and deletes what is due, with everything hanging off the file; the ETIAS log keeps
the file number and the operation (Art. 69), no personal data.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select

from smartborders.core.errors import Conflict
from smartborders.ees.service import Context
from smartborders.etias import rules
from smartborders.etias import schemas as S
from smartborders.etias.manual import NotTheApplicant, application, log
from smartborders.etias.models import (
    Appeal,
    Application,
    Consultation,
    Document,
    Hit,
    InfoRequest,
    ListEntry,
    Ltv,
)

YEARS_AFTER_REFUSAL = 5
CONSENT_YEARS = 3
LIST_SOURCES = {"SIS", "SLTD", "WATCHLIST"}


def _years(d: date, n: int) -> date:
    try:
        return d.replace(year=d.year + n)
    except ValueError:  # 29 February
        return d.replace(year=d.year + n, day=28)


def keep_until(a: Application) -> date | None:
    """The last day the file may be kept, or None while it is in processing."""
    if a.status == rules.ISSUED and a.valid_until is not None:
        return max(a.valid_until, a.consent_until or a.valid_until)
    if a.status in rules.ENDED:
        last = a.ended_at or a.decided_at
        return _years(last.date(), YEARS_AFTER_REFUSAL) if last else None
    return None


def _source_deleted(ctx: Context, a: Application) -> datetime | None:
    """When every list entry behind a refusal, annulment or revocation has been removed, the time of the
    last removal (Art. 54(1)(b), second subparagraph)."""
    kept = [h for h in ctx.session.scalars(select(Hit).where(Hit.application_id == a.id))
            if h.status in ("confirmed", "doubt")]
    if not kept or any(h.source not in LIST_SOURCES for h in kept):
        return None
    removed = []
    for h in kept:
        e = ctx.session.scalar(select(ListEntry).where(ListEntry.reference == h.reference))
        if e is None or e.removed_at is None:
            return None
        removed.append(e.removed_at)
    return max(removed)


def _delete(ctx: Context, a: Application) -> None:
    s = ctx.session
    reqs = select(InfoRequest.id).where(InfoRequest.application_id == a.id)
    s.execute(delete(Document).where(Document.request_id.in_(reqs)))
    for model in (InfoRequest, Consultation, Ltv, Appeal, Hit):
        s.execute(delete(model).where(model.application_id == a.id))  # type: ignore[attr-defined]
    s.delete(a)


def purge(ctx: Context, limit: int = 10_000) -> dict[str, int]:
    """Delete the files whose retention ended (Art. 54(1), (3)); answers how many, and why."""
    today = ctx.now().date()
    counts = {"validity_ended": 0, "five_years_after_refusal": 0, "source_data_deleted": 0}
    now = ctx.now()
    ended = rules.ENDED
    # Only the candidates, by index: issued and past validity (and consent); ended five years ago;
    # ended on list data that were since removed.
    expired = select(Application).where(
        Application.status == "issued", Application.valid_until < today,
        or_(Application.consent_until.is_(None), Application.consent_until < today))
    old = select(Application).where(Application.status.in_(ended), func.coalesce(
        Application.ended_at, Application.decided_at) < now - timedelta(days=365 * YEARS_AFTER_REFUSAL))
    removed = select(Hit.application_id).join(ListEntry, ListEntry.reference == Hit.reference).where(
        Hit.status.in_(("confirmed", "doubt")), Hit.source.in_(LIST_SOURCES), ListEntry.removed_at.is_not(None))
    unsourced = select(Application).where(Application.status.in_(ended), Application.id.in_(removed))
    rows = list({a.id: a for q in (expired, old, unsourced)
                 for a in ctx.session.scalars(q.limit(limit))}.values())
    for a in rows:
        until = keep_until(a)
        why = None
        if until is not None and until < today:
            why = "validity_ended" if a.status == "issued" else "five_years_after_refusal"
        elif a.status in ("refused", "annulled", "revoked") and _source_deleted(ctx, a) is not None:
            why = "source_data_deleted"
        if why is None:
            continue
        # Pending appeal: the file is needed for it (Art. 37(3), 56) [K].
        if ctx.session.scalar(select(Appeal.id).where(Appeal.application_id == a.id, Appeal.outcome == "pending")):
            continue
        log(ctx, "system", "retention", "ETIAS Art. 54", "erased", a.number, why=why)
        _delete(ctx, a)
        counts[why] += 1
    ctx.session.flush()
    return counts


class NoConsentPossible(Conflict):
    slug = "etias-consent-not-possible"
    title = "Only the file of a valid travel authorisation can be kept longer with consent"


def consent(ctx: Context, number: str, cmd: Any, give: bool) -> S.ApplicationOut:
    """Art. 54(2): the applicant's electronically signed consent to keep the file up to 3 years after the
    authorisation ends, to make a new application easier; or its withdrawal."""
    from smartborders.etias.service import _out

    a = application(ctx, number)
    if cmd.document_number != a.document_number:
        raise NotTheApplicant("the travel document number is not that of the application")
    now = ctx.now()
    if give:
        if a.status != "issued" or a.valid_until is None:
            raise NoConsentPossible(f"application {number} is {a.status}", status=a.status)
        a.consent_until = _years(a.valid_until, CONSENT_YEARS)
        text = f"you consented to keeping your file until {a.consent_until} (Art. 54(2)); you may withdraw at any time"
    else:
        a.consent_until = None
        text = "you withdrew your consent: the file is kept only as long as the authorisation is valid (Art. 54)"
    a.notices = [*(a.notices or []), f"{now.isoformat()} {text}"]
    log(ctx, "applicant", "applicant", "ETIAS Art. 54(2)", "consent" if give else "consent_withdrawn", number)
    ctx.session.flush()
    return _out(ctx, a)

