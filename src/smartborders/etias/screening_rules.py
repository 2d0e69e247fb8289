"""The ETIAS screening rules in use (Reg. 2018/1240 Art. 33): proposed, activated after the Screening
Board was consulted (by another officer than the author), retired; evaluated in the automated
processing (Art. 20(5)); and the fairness report over the applications they screened.

The rule language and its legal guard are `etias/sri.py`: a rule that uses anything but the
attributes of Art. 33(4), or that rests on sex or age alone, is refused before it is stored.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from smartborders.core.errors import Conflict, InvalidInput, NotFound
from smartborders.ees.service import Context
from smartborders.etias import schemas as S
from smartborders.etias import sri
from smartborders.etias.manual import log
from smartborders.etias.models import Application, Hit, ScreeningRule


class RuleNotAllowed(InvalidInput):
    slug = "etias-screening-rule-not-allowed"
    title = "The screening rule is not allowed (Art. 33, Art. 14)"


class RuleNotFound(NotFound):
    slug = "etias-screening-rule-not-found"
    title = "No such screening rule version"


class RuleStep(Conflict):
    slug = "etias-screening-rule-step"
    title = "The screening rule is not at a step where this can be done"


def _out(r: ScreeningRule) -> S.ScreeningRuleOut:
    return S.ScreeningRuleOut(rule_id=r.rule_id, version=r.version, status=r.status, definition=r.definition,
                              proposed_by=r.proposed_by, proposed_at=r.proposed_at, activated_by=r.activated_by,
                              activated_at=r.activated_at, screening_board=r.screening_board,
                              retired_by=r.retired_by, retired_at=r.retired_at, retired_reason=r.retired_reason)


def propose(ctx: Context, cmd: S.RuleProposalIn) -> S.ScreeningRuleOut:
    try:
        rule = sri.parse_rule(cmd.rule)
    except sri.RuleError as e:
        raise RuleNotAllowed(str(e), problems=[{"where": w, "why": y} for w, y in e.problems]) from None
    latest = ctx.session.scalar(select(ScreeningRule).where(ScreeningRule.rule_id == rule.id)
                                .order_by(ScreeningRule.version.desc()).limit(1))
    if latest is not None and rule.version <= latest.version:
        raise RuleStep(f"{rule.id} has version {latest.version}: a change is a new, higher version",
                       latest_version=latest.version)
    r = ScreeningRule(rule_id=rule.id, version=rule.version, definition=rule.to_json(), status="proposed",
                      proposed_by=cmd.officer, proposed_at=ctx.now())
    ctx.session.add(r)
    log(ctx, "central_unit", cmd.officer, "ETIAS Art. 33", "rule_proposed", None, rule=rule.id, version=rule.version)
    ctx.session.flush()
    return _out(r)


def _rule(ctx: Context, rule_id: str, version: int) -> ScreeningRule:
    r = ctx.session.get(ScreeningRule, (rule_id, version), with_for_update=True)
    if r is None:
        raise RuleNotFound(f"no screening rule {rule_id} version {version}")
    return r


def activate(ctx: Context, rule_id: str, version: int, cmd: S.RuleActivationIn) -> S.ScreeningRuleOut:
    """Art. 33(6), 9(2)(a): in use once the Screening Board was consulted, by an officer other than the
    author (four eyes); the version it replaces is retired."""
    r = _rule(ctx, rule_id, version)
    if r.status != "proposed":
        raise RuleStep(f"{rule_id} v{version} is {r.status}")
    if cmd.officer == r.proposed_by:
        raise RuleStep("another officer than the author activates a rule")
    now = ctx.now()
    for old in ctx.session.scalars(select(ScreeningRule).where(ScreeningRule.rule_id == rule_id,
                                                               ScreeningRule.status == "active")):
        old.status, old.retired_at, old.retired_by = "retired", now, cmd.officer
        old.retired_reason = f"replaced by version {version}"
    r.status, r.activated_at, r.activated_by, r.screening_board = "active", now, cmd.officer, cmd.screening_board
    log(ctx, "central_unit", cmd.officer, "ETIAS Art. 33", "rule_activated", None, rule=rule_id, version=version)
    ctx.session.flush()
    return _out(r)


def retire(ctx: Context, rule_id: str, version: int, cmd: S.RuleRetirementIn) -> S.ScreeningRuleOut:
    r = _rule(ctx, rule_id, version)
    if r.status == "retired":
        raise RuleStep(f"{rule_id} v{version} is already retired")
    r.status, r.retired_at, r.retired_by, r.retired_reason = "retired", ctx.now(), cmd.officer, cmd.reason
    log(ctx, "central_unit", cmd.officer, "ETIAS Art. 33", "rule_retired", None, rule=rule_id, version=version)
    ctx.session.flush()
    return _out(r)


def listing(ctx: Context) -> list[S.ScreeningRuleOut]:
    return [_out(r) for r in ctx.session.scalars(select(ScreeningRule).order_by(ScreeningRule.rule_id,
                                                                                 ScreeningRule.version))]


_cache: dict[tuple[Any, ...], sri.RuleSet] = {}
_cache_lock = threading.Lock()


def active(session: Any) -> sri.RuleSet:
    """The rules in use, parsed once per set of versions (a small table: one query per application)."""
    rows = session.execute(select(ScreeningRule.rule_id, ScreeningRule.version, ScreeningRule.definition)
                           .where(ScreeningRule.status == "active").order_by(ScreeningRule.rule_id)).all()
    key = tuple((r.rule_id, r.version) for r in rows)
    with _cache_lock:
        rs = _cache.get(key)
        if rs is None:
            rs = sri.RuleSet([sri.parse_rule(r.definition) for r in rows])
            _cache.clear()
            _cache[key] = rs
    return rs


def evaluate(session: Any, a: Application) -> list[sri.Match]:
    """Art. 20(5): the application against the rules in use (no illegal-immigration rule for a family
    member of a Union citizen, Art. 24(4))."""
    rs = active(session)
    if not len(rs):
        return []
    return rs.evaluate(a.data, a.submitted_at.date(), family_member=a.data.get("family_member") is not None)


def fairness(ctx: Context, period_from: date, period_to: date, *, min_group: int = 30) -> sri.FairnessReport:
    """The fairness report over the applications submitted in the period: hit and manual-referral rates
    by nationality, sex and age band, overall and for each rule that was in use."""
    lo = datetime.combine(period_from, time.min, tzinfo=UTC)
    hi = datetime.combine(period_to + timedelta(days=1), time.min, tzinfo=UTC)
    rows = ctx.session.execute(select(Application.id, Application.nationality, Application.birth_date,
                                      Application.submitted_at, Application.responsible_state, Application.data)
                               .where(Application.submitted_at >= lo, Application.submitted_at < hi)).all()
    matched: dict[Any, list[str]] = {}
    ids = [r.id for r in rows]
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for h in ctx.session.execute(select(Hit.application_id, Hit.reference).where(
                Hit.application_id.in_(chunk), Hit.source == "SRI")):
            matched.setdefault(h.application_id, []).append(h.reference.split(" ", 1)[0])
    records = [sri.Screened(nationality=r.nationality, sex=r.data["person"].get("sex", "X"),
                            matched=tuple(matched.get(r.id, ())), manual=r.responsible_state is not None,
                            birth_date=r.birth_date, application_date=r.submitted_at.date()) for r in rows]
    rules = [sri.parse_rule(r.definition) for r in ctx.session.scalars(select(ScreeningRule).where(
        ScreeningRule.status != "proposed"))]
    return sri.fairness_report(records, rules, min_group=min_group)
