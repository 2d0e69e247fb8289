"""ETIAS statistics (Reg. 2018/1240 Art. 84) and the figures of the Central Unit's activity report
(Art. 7(3)): counts only, never a row that identifies an applicant. A count below `SUPPRESS` (but
not zero) in a breakdown is shown as null, so a rare nationality or ground cannot single anyone out.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from smartborders.ees.service import Context
from smartborders.etias import schemas as S
from smartborders.etias.manual import AFTER_ANSWER_HOURS, AFTER_INTERVIEW_HOURS, consultation_status
from smartborders.etias.models import Application, Consultation, Hit, InfoRequest, Ltv
from smartborders.etias.rules import CENTRAL_UNIT_HOURS, DECISION_HOURS

SUPPRESS = 5


def _suppress(counts: dict[str, int], k: int) -> dict[str, int | float | None]:
    return {key: (None if 0 < n < k else n) for key, n in sorted(counts.items())}


def report(ctx: Context, period_from: date, period_to: date, *, k: int = SUPPRESS) -> S.StatisticsOut:
    """The applications submitted in [period_from, period_to] and what became of them."""
    lo = datetime.combine(period_from, time.min, tzinfo=UTC)
    hi = datetime.combine(period_to + timedelta(days=1), time.min, tzinfo=UTC)
    in_period = (Application.submitted_at >= lo, Application.submitted_at < hi)
    s = ctx.session
    rows = s.execute(select(Application.id, Application.status, Application.nationality, Application.submitted_at,
                            Application.verified_at, Application.decided_at, Application.decided_by,
                            Application.decision_grounds, Application.end_grounds, Application.responsible_state)
                     .where(*in_period)).all()
    ids = [r.id for r in rows]
    by_status = Counter(r.status for r in rows)
    by_nationality = Counter(r.nationality for r in rows)
    # How each decided file was decided (Art. 39(1)(b), 7(3)).
    how: Counter[str] = Counter()
    grounds: Counter[str] = Counter()
    manual_by_state: Counter[str] = Counter()
    for r in rows:
        if r.decided_at is None:
            continue
        if r.decided_by:
            how["decided_by_national_unit"] += 1
            manual_by_state[r.decided_by.split(":", 1)[0]] += 1
        elif r.verified_at is not None:
            how["issued_after_central_unit_verification"] += 1
        else:
            how["issued_automatically"] += 1
        for g in [*(r.decision_grounds or []), *(r.end_grounds or [])]:
            grounds[g] += 1
    hits_by_source: Counter[str] = Counter()
    hits_by_article: Counter[str] = Counter()
    outcome: Counter[str] = Counter()
    requests: Counter[str] = Counter()
    consults: Counter[str] = Counter()
    ltvs = 0
    answered_at: dict[Any, datetime] = {}
    now = ctx.now()
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for h in s.execute(select(Hit.source, Hit.article, Hit.status, Hit.phase).where(Hit.application_id.in_(chunk))):
            hits_by_source[h.source] += 1
            hits_by_article[h.article] += 1
            outcome[f"{h.phase}:{h.status}"] += 1
        for q in s.scalars(select(InfoRequest).where(InfoRequest.application_id.in_(chunk))):
            requests[f"{q.kind}:{q.status}"] += 1
            if q.answered_at is not None and q.status in ("answered", "attended"):
                hours = AFTER_ANSWER_HOURS if q.kind == "information" else AFTER_INTERVIEW_HOURS
                end = q.answered_at + timedelta(hours=hours)
                answered_at[q.application_id] = max(answered_at.get(q.application_id, end), end)
        for c in s.scalars(select(Consultation).where(Consultation.application_id.in_(chunk))):
            who = "europol" if c.consulted == "EUROPOL" else "member_state"
            consults[f"{who}:{consultation_status(c, now)}"] += 1
        ltvs += s.scalar(select(func.count()).select_from(Ltv).where(Ltv.application_id.in_(chunk))) or 0
    # Deadlines (Art. 22(6): 12 h for the Central Unit; Art. 32: 96 h, or from the answer or interview).
    deadlines: Counter[str] = Counter()
    for r in rows:
        if r.verified_at is not None:
            ok = r.verified_at - r.submitted_at <= timedelta(hours=CENTRAL_UNIT_HOURS)
            deadlines["central_unit_met" if ok else "central_unit_missed"] += 1
        if r.decided_by and r.decided_at is not None:
            due = max(r.submitted_at + timedelta(hours=DECISION_HOURS), answered_at.get(r.id, r.submitted_at))
            deadlines["decision_met" if r.decided_at <= due else "decision_missed"] += 1
    decided = sum(how.values())
    went_manual = sum(1 for r in rows if r.responsible_state is not None)
    totals: dict[str, int | float | None] = {
        "applications": len(rows), "decided": decided, "ltv_issued": ltvs,
        "manual_share": round(went_manual / len(rows), 4) if rows else None,
        "issued_automatically_share": round(how["issued_automatically"] / decided, 4) if decided else None,
    }
    figures = {
        "totals": totals,
        "applications_by_status": _suppress(dict(by_status), k),
        "applications_by_nationality": _suppress(dict(by_nationality), k),
        "how_decided": _suppress(dict(how), k),
        "manual_decisions_by_state": _suppress(dict(manual_by_state), k),
        "grounds_refused_annulled_revoked": _suppress(dict(grounds), k),
        "hits_by_source": _suppress(dict(hits_by_source), k),
        "hits_by_article": _suppress(dict(hits_by_article), k),
        "hit_outcomes": _suppress(dict(outcome), k),
        "requests": _suppress(dict(requests), k),
        "consultations": _suppress(dict(consults), k),
        "deadlines": dict(sorted(deadlines.items())),
    }
    return S.StatisticsOut(period_from=period_from, period_to=period_to, suppressed_below=k, figures=figures)
