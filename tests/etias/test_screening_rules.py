"""ETIAS screening rules in use (Art. 33) on both databases: the guard refuses what the law forbids, a
rule is activated by another officer after the Screening Board, its hits go to the Central Unit with an
explanation, family members skip illegal-immigration rules, and the fairness report reads the files."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from smartborders.core.clock import FixedClock
from smartborders.core.errors import Problem
from smartborders.ees.service import run
from smartborders.etias import schemas as S
from smartborders.etias import screening_rules, service, sri
from tests.etias.factory import application

NOW = datetime(2026, 12, 20, 10, 0, tzinfo=timezone.utc)
RULE = {"id": "R-2027-001", "version": 1, "risk": "illegal_immigration", "basis": "33(2)(a)",
        "description": "abnormal overstay rate in the EES for this group (synthetic)",
        "conditions": [{"attribute": "nationality", "op": "in", "value": ["CAN"]},
                       {"attribute": "age", "op": "between", "value": [18, 30]},
                       {"attribute": "job_group", "op": "in", "value": ["U"]}]}


def go(engine, fn, at=NOW):
    return run(engine, FixedClock(at), fn)


def submit(engine, **over):
    cmd = S.ApplicationIn.model_validate(application(**over))
    return go(engine, lambda ctx: service.submit(ctx, cmd))


def young_unemployed_canadian(**over):
    return {"person": {"nationality": "CAN", "birth_date": "2000-03-03"}, "document": {"issuing_country": "CAN"},
            "job_group": "U", **over}


def test_the_guard_refuses_a_protected_characteristic_before_anything_is_stored(ees_engine):
    bad = {**RULE, "conditions": [*RULE["conditions"], {"attribute": "religion", "op": "eq", "value": "x"}]}
    with pytest.raises(Problem) as e:
        go(ees_engine, lambda ctx: screening_rules.propose(ctx, S.RuleProposalIn(officer="cu.a", rule=bad)))
    assert e.value.slug == "etias-screening-rule-not-allowed"
    [p] = e.value.extensions["problems"]
    assert p["where"] == "conditions[3].attribute" and "Art. 14" in p["why"]
    only_sex = {**RULE, "conditions": [{"attribute": "sex", "op": "eq", "value": "F"}]}
    with pytest.raises(Problem, match="sex"):
        go(ees_engine, lambda ctx: screening_rules.propose(ctx, S.RuleProposalIn(officer="cu.a", rule=only_sex)))
    assert go(ees_engine, lambda ctx: screening_rules.listing(ctx)) == []


def test_an_active_rule_sends_matching_files_to_the_central_unit_and_not_family_members(ees_engine):
    go(ees_engine, lambda ctx: screening_rules.propose(ctx, S.RuleProposalIn(officer="cu.a", rule=RULE)))
    assert submit(ees_engine, **young_unemployed_canadian()).status == service.ISSUED  # proposed: not in use
    act = S.RuleActivationIn(officer="cu.a", screening_board="favourable, 2027-01 meeting")
    with pytest.raises(Problem, match="another officer"):
        go(ees_engine, lambda ctx: screening_rules.activate(ctx, "R-2027-001", 1, act))
    out = go(ees_engine, lambda ctx: screening_rules.activate(ctx, "R-2027-001", 1, act.model_copy(
        update={"officer": "cu.b"})))
    assert out.status == "active" and out.activated_by == "cu.b"
    hit = submit(ees_engine, **young_unemployed_canadian())
    assert hit.status == service.CENTRAL_UNIT
    [h] = go(ees_engine, lambda ctx: service.case(ctx, hit.number)).hits
    assert (h.article, h.source, h.reference) == ("20(5)", "SRI", "R-2027-001 v1")
    assert "nationality CAN in [CAN]" in h.explanation and "job_group U in [U]" in h.explanation
    assert submit(ees_engine, **young_unemployed_canadian(job_group="25")).status == service.ISSUED
    family = submit(ees_engine, **young_unemployed_canadian(
        payment=None, background={"conviction": {"answer": False}, "conflict_zone": {"answer": False},
                                   "removal": None},
        family_member={"surname": "Jansen", "given_names": "Pieter", "birth_date": "1985-02-02",
                       "nationality": "NLD", "relationship": "spouse"}))
    assert family.status == service.ISSUED  # Art. 24(4): no illegal-immigration rule for them
    # A change is a new version; activating it retires the old one.
    with pytest.raises(Problem, match="new, higher version"):
        go(ees_engine, lambda ctx: screening_rules.propose(ctx, S.RuleProposalIn(officer="cu.a", rule=RULE)))
    v2 = {**RULE, "version": 2, "conditions": RULE["conditions"][:2]}
    go(ees_engine, lambda ctx: screening_rules.propose(ctx, S.RuleProposalIn(officer="cu.a", rule=v2)))
    go(ees_engine, lambda ctx: screening_rules.activate(ctx, "R-2027-001", 2, act.model_copy(
        update={"officer": "cu.c"})))
    rows = {(r.version, r.status) for r in go(ees_engine, lambda ctx: screening_rules.listing(ctx))}
    assert rows == {(1, "retired"), (2, "active")}
    again = submit(ees_engine, **young_unemployed_canadian(job_group="25"))
    assert [h.reference for h in go(ees_engine, lambda ctx: service.case(ctx, again.number)).hits] == [
        "R-2027-001 v2"]


def test_the_fairness_report_reads_the_screened_files(ees_engine):
    go(ees_engine, lambda ctx: screening_rules.propose(ctx, S.RuleProposalIn(officer="cu.a", rule=RULE)))
    go(ees_engine, lambda ctx: screening_rules.activate(ctx, "R-2027-001", 1, S.RuleActivationIn(
        officer="cu.b", screening_board="favourable")))
    for i in range(6):
        submit(ees_engine, **young_unemployed_canadian())
        submit(ees_engine, person={"sex": "M" if i % 2 else "F"})
    report = go(ees_engine, lambda ctx: screening_rules.fairness(ctx, date(2026, 12, 1), date(2026, 12, 31),
                                                                 min_group=5))
    assert report.total == 12
    md = sri.render_markdown(report)
    assert "R-2027-001" in md and "CAN" in md
    flagged = {(f.dimension, f.group) for f in report.flags}
    assert ("nationality", "CAN") in flagged
    none = go(ees_engine, lambda ctx: screening_rules.fairness(ctx, date(2026, 1, 1), date(2026, 1, 31)))
    assert none.total == 0 and not none.flags


def test_the_etias_commands_report_and_refuse_bad_periods(ees_url, ees_engine, monkeypatch):
    import json

    from tests.conftest import run_cli

    go(ees_engine, lambda ctx: screening_rules.propose(ctx, S.RuleProposalIn(officer="cu.a", rule=RULE)))
    go(ees_engine, lambda ctx: screening_rules.activate(ctx, "R-2027-001", 1, S.RuleActivationIn(
        officer="cu.b", screening_board="favourable")))
    for _ in range(3):
        submit(ees_engine, **young_unemployed_canadian())
    monkeypatch.setenv("SMARTBORDERS_DATABASE_URL", ees_url)
    r = run_cli("etias", "statistics", "--from", "2026-12-01", "--to", "2026-12-31")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["figures"]["totals"]["applications"] == 3
    r = run_cli("etias", "fairness", "--from", "2026-12-01", "--to", "2026-12-31", "--min-group", "1")
    assert r.returncode == 0 and "| CAN | 3 | 3 | 100.0% |" in r.stdout, r.stdout
    bad = run_cli("etias", "fairness", "--from", "2026-12-31", "--to", "2026-12-01")
    assert bad.returncode == 2 and "before" in bad.stderr
    r = run_cli("etias", "housekeeping")
    assert r.returncode == 0 and json.loads(r.stdout)["erased"]["validity_ended"] == 0
