"""ETIAS screening rules (Art. 33): the guard on what an SRI may use (Art. 33(4)-(5), Art. 14), evaluation
against a plain reference implementation, family members (Art. 24(3)), and the fairness report."""

from __future__ import annotations

import json
import unicodedata
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartborders.etias.schemas import JOB_GROUPS, ApplicationIn
from smartborders.etias.sri import (
    AGE_BAND_LABELS,
    ALLOWED_ATTRIBUTES,
    EDUCATION,
    PROTECTED,
    SEX_OR_AGE,
    Match,
    RuleError,
    RuleSet,
    Screened,
    age_on,
    fairness_report,
    parse_rule,
    render_markdown,
)
from tests.etias.factory import application

ON = date(2027, 6, 1)


def data(**over: Any) -> dict[str, Any]:
    """An application's `data`, exactly as the service stores it."""
    return ApplicationIn.model_validate(application(**over)).model_dump(mode="json", exclude={"client_id", "payment"})


def rule(*conditions: dict[str, Any], **over: Any) -> dict[str, Any]:
    body = {"id": "R-2027-001", "version": 1, "risk": "illegal_immigration", "basis": "33(2)(a)",
            "description": "Abnormal overstay rate in the EES for this group",
            "conditions": list(conditions) or [{"attribute": "nationality", "op": "in", "value": ["USA"]}]}
    return {**body, **over}


def cond(attribute: str, op: str, value: Any) -> dict[str, Any]:
    return {"attribute": attribute, "op": op, "value": value}


NAT = cond("nationality", "in", ["USA", "CAN"])


def refusal(body: dict[str, Any]) -> RuleError:
    with pytest.raises(RuleError) as e:
        parse_rule(body)
    return e.value


# --- the rule format ---------------------------------------------------------------------------------------

def test_a_valid_rule_parses_into_a_frozen_model_and_round_trips_through_json():
    body = rule(NAT, cond("age", "between", [18, 40]), cond("job_group", "not_in", ["22", "S"]))
    r = parse_rule(body)
    assert r.conditions[1].value == (18, 40)
    assert r.to_json() == body
    assert parse_rule(json.dumps(body)) == r
    with pytest.raises(ValueError):
        r.version = 2  # type: ignore[misc]


@pytest.mark.parametrize(("attribute", "op", "value"), [
    ("age", "between", [0, 130]), ("age", "eq", 30), ("age", "in", [17, 18]), ("age_band", "in", ["18-25", ">70"]),
    ("sex", "eq", "X"), ("nationality", "not_in", ["XXA", "GBR"]), ("country_of_residence", "eq", "MEX"),
    ("city_of_residence", "in", ["São Paulo"]), ("education", "in", list(EDUCATION)),
    ("job_group", "in", sorted(JOB_GROUPS)),
])
def test_every_attribute_of_art_33_4_is_accepted(attribute, op, value):
    assert parse_rule(rule(NAT, cond(attribute, op, value))).conditions[1].attribute == attribute


def test_education_values_are_those_of_the_application_form():
    assert set(EDUCATION) == {"none", "primary", "secondary", "higher"}


@given(st.text(min_size=1, max_size=40).filter(lambda s: s not in ALLOWED_ATTRIBUTES))
def test_any_other_attribute_is_refused_and_the_error_says_why(name):
    e = refusal(rule(NAT, cond(name, "eq", "x")))
    assert [where for where, _ in e.problems] == ["conditions[1].attribute"]
    why = e.problems[0][1]
    assert "Art. 33(4)" in why or "protected characteristic" in why


_TERMS = sorted({t for p in PROTECTED for t in (*p.terms, *p.exact)})


@given(st.sampled_from(_TERMS), st.sampled_from(["", "applicant_", "main "]), st.sampled_from(["", "_code", "-2"]),
       st.sampled_from([str, str.upper, str.title]))
def test_a_protected_characteristic_is_named_as_such_with_its_article(term, prefix, suffix, case):
    name = case(prefix + term + suffix)
    if term in ("birth",):  # protected only as the whole name ("birth_date" is a plain refusal)
        name = case(term)
    why = refusal(rule(NAT, cond(name, "eq", "x"))).problems[0][1]
    assert "protected characteristic" in why
    assert "Art. 14" in why or "GDPR Art. 9(1)" in why


@pytest.mark.parametrize(("name", "article"), [
    ("race", "Art. 14"), ("colour", "Art. 14"), ("ethnic_origin", "Art. 14"), ("social_origin", "Art. 14"),
    ("genetic_features", "Art. 14"), ("language", "Art. 14"), ("religion", "Art. 14"), ("belief", "Art. 14"),
    ("political_opinion", "Art. 14"), ("national_minority", "Art. 14"), ("property", "Art. 14"), ("birth", "Art. 14"),
    ("disability", "Art. 14"), ("sexual_orientation", "Art. 14"), ("ethnicOrigin", "Art. 14"),
    ("health", "GDPR Art. 9(1)"), ("trade_union_membership", "GDPR Art. 9(1)"),
    ("biometric_data", "GDPR Art. 9(1)"), ("sex_life", "GDPR Art. 9(1)"),
])
def test_each_protected_characteristic_of_art_14_and_gdpr_art_9(name, article):
    why = refusal(rule(NAT, cond(name, "in", ["x"]))).problems[0][1]
    assert "protected characteristic" in why and article in why


@pytest.mark.parametrize("name", ["birth_date", "gender", "occupation", "first_member_state", "Sex", "email"])
def test_a_near_miss_is_refused_with_the_allowed_list(name):
    why = refusal(rule(NAT, cond(name, "eq", "x"))).problems[0][1]
    assert "Art. 33(4)" in why and "allowed: age" in why


@given(st.lists(st.sampled_from(sorted(SEX_OR_AGE)), min_size=1, max_size=3))
def test_a_rule_on_sex_and_or_age_alone_is_refused(attributes):
    values = {"sex": ("eq", "F"), "age": ("between", [18, 25]), "age_band": ("in", ["18-25"])}
    e = refusal(rule(*(cond(a, *values[a]) for a in attributes)))
    assert "solely on sex and/or age" in str(e) and "Art. 33(5)" in str(e)
    assert parse_rule(rule(*(cond(a, *values[a]) for a in attributes), NAT))  # in combination: allowed


@pytest.mark.parametrize(("body", "where", "says"), [
    (rule(conditions=[]), "conditions", "at least one condition"),
    (rule(NAT, extra=1), "extra", "unknown field"),
    (rule({**NAT, "weight": 2}), "conditions[0].weight", "unknown field"),
    (rule(version="1"), "version", "integer"),
    (rule(version=0), "version", "greater than or equal to 1"),
    (rule(risk="terrorism"), "risk", "security"),
    (rule(basis="33(4)"), "basis", "33(2)(a)"),
    (rule(id=""), "id", "pattern"),
    (rule(description=""), "description", "at least 1"),
    (rule(risk="epidemic"), "rule", "33(2)(f)"),
    (rule(basis="33(2)(f)"), "rule", "epidemic"),
    (rule(basis="33(2)(d)"), "rule", "security"),
    (rule(NAT, cond("op_less", "eq", 1)), "conditions[1].attribute", "Art. 33(4)"),
    (rule(cond("nationality", "like", "US%")), "conditions[0].op", "'in'"),
    (rule(cond("nationality", "in", ["usa"])), "conditions[0].value", "three capital letters"),
    (rule(cond("nationality", "in", ["ZZZ"])), "conditions[0].value", "ICAO"),
    (rule(cond("nationality", "in", [])), "conditions[0].value", "non-empty list"),
    (rule(cond("nationality", "eq", ["USA"])), "conditions[0].value", "single value"),
    (rule(NAT, cond("age", "between", [40, 30])), "conditions[1].value", "above the highest"),
    (rule(NAT, cond("age", "between", [18])), "conditions[1].value", "[lowest, highest]"),
    (rule(NAT, cond("age", "eq", 131)), "conditions[1].value", "between 0 and 130"),
    (rule(NAT, cond("age", "in", [-1])), "conditions[1].value", "between 0 and 130"),
    (rule(NAT, cond("age", "eq", True)), "conditions[1].value", "whole number"),
    (rule(NAT, cond("age", "eq", "30")), "conditions[1].value", "whole number"),
    (rule(NAT, cond("sex", "between", ["F", "M"])), "conditions[1].value", "age only"),
    (rule(NAT, cond("sex", "eq", "W")), "conditions[1].value", "M, F, X"),
    (rule(NAT, cond("education", "eq", "tertiary")), "conditions[1].value", "higher"),
    (rule(NAT, cond("job_group", "in", ["99"])), "conditions[1].value", "job_group"),
    (rule(NAT, cond("age_band", "eq", "20-30")), "conditions[1].value", "18-25"),
    (rule(NAT, cond("city_of_residence", "eq", " ")), "conditions[1].value", "city name"),
])
def test_a_wrong_rule_is_refused_naming_the_field(body, where, says):
    problems = refusal(body).problems
    assert any(w == where and says in why for w, why in problems), problems


# --- rule sets and evaluation ------------------------------------------------------------------------------

def test_a_rule_set_keeps_versions_and_evaluates_the_latest():
    v1 = rule(cond("nationality", "in", ["USA"]), cond("sex", "eq", "M"))
    v2 = rule(cond("nationality", "in", ["USA"]), cond("sex", "eq", "F"), version=2)
    rs = RuleSet([v2, v1])
    assert [(r.id, r.version) for r in rs.rules] == [("R-2027-001", 1), ("R-2027-001", 2)]
    assert len(rs) == 1 and rs.latest("R-2027-001").version == 2
    assert [(m.rule_id, m.version) for m in rs.evaluate(data(), ON, family_member=False)] == [("R-2027-001", 2)]
    assert RuleSet.from_json(json.dumps(rs.to_json())).rules == rs.rules


def test_a_changed_rule_must_be_a_new_version():
    r = rule(NAT)
    with pytest.raises(RuleError, match="a changed rule must be a new version"):
        RuleSet([r, {**r, "description": "changed"}])
    with pytest.raises(RuleError, match="listed twice"):
        RuleSet([r, r])
    rs = RuleSet([r])
    with pytest.raises(RuleError, match="higher version"):
        rs.with_rule({**r, "description": "changed"})
    assert rs.with_rule({**r, "version": 2, "description": "changed"}).latest(r["id"]).description == "changed"


def test_a_rule_set_reports_each_bad_rule_by_index():
    with pytest.raises(RuleError) as e:
        RuleSet([rule(NAT), rule(cond("religion", "eq", "x"), id="R-2")])
    assert e.value.problems[0][0] == "rules[1].conditions[0].attribute"


def test_a_match_explains_each_condition_with_the_applicants_value():
    rs = RuleSet([rule(cond("nationality", "in", ["USA", "CAN"]), cond("age", "between", [30, 45]),
                       cond("city_of_residence", "in", ["san antonio"]), cond("education", "eq", "higher"),
                       cond("job_group", "not_in", ["22"]))])
    [m] = rs.evaluate(data(), ON, family_member=False)  # born 1988-04-12: 39 on ON
    assert m == Match("R-2027-001", 1, "illegal_immigration", "33(2)(a)", m.explanation)
    assert m.explanation == ('nationality USA in [USA, CAN]; age 39 between 30 and 45; '
                             'city_of_residence "San Antonio" in ["san antonio"]; education higher equals higher; '
                             'job_group 25 not in [22]')


def test_cities_match_whatever_their_case_and_diacritics():
    rs = RuleSet([rule(NAT, cond("city_of_residence", "eq", "BOGOTA"))])
    assert rs.evaluate(data(residence={"city": "Bogotá"}), ON, family_member=False)
    assert not rs.evaluate(data(residence={"city": "Bogor"}), ON, family_member=False)


def test_age_is_taken_on_the_application_date():
    rs = RuleSet([rule(NAT, cond("age", "eq", 18))])
    assert rs.evaluate(data(person={"birth_date": "2009-06-01"}), ON, family_member=False)
    assert not rs.evaluate(data(person={"birth_date": "2009-06-02"}), ON, family_member=False)
    assert age_on("2008-02-29", date(2026, 2, 28)) == 17 and age_on("2008-02-29", date(2026, 3, 1)) == 18


def test_family_members_of_union_citizens_skip_illegal_immigration_rules():
    """Art. 24(3) [R]: no illegal-immigration SRI for family members (Art. 2(1)(c))."""
    rs = RuleSet([rule(NAT, id="II"), rule(NAT, id="SEC", risk="security", basis="33(2)(d)"),
                  rule(NAT, id="EPI", risk="epidemic", basis="33(2)(f)")])
    assert [m.rule_id for m in rs.evaluate(data(), ON, family_member=False)] == ["EPI", "II", "SEC"]
    assert [m.rule_id for m in rs.evaluate(data(), ON, family_member=True)] == ["EPI", "SEC"]
    assert rs.latest("II").skipped_for_family_members and not rs.latest("SEC").skipped_for_family_members


NATS = ["USA", "CAN", "GBR", "BRA", "JPN", "MEX"]
CITIES = ["San Antonio", "Bogotá", "Toronto", "São Paulo", "Osaka"]
JOBS = ["25", "22", "S", "R", "91"]
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "age": st.integers(0, 130), "age_band": st.sampled_from(AGE_BAND_LABELS), "sex": st.sampled_from(["M", "F", "X"]),
    "nationality": st.sampled_from(NATS), "country_of_residence": st.sampled_from(NATS),
    "city_of_residence": st.sampled_from([*CITIES, "bogota", "SAO PAULO"]), "education": st.sampled_from(EDUCATION),
    "job_group": st.sampled_from(JOBS),
}
KINDS = [("illegal_immigration", "33(2)(a)"), ("illegal_immigration", "33(2)(c)"), ("security", "33(2)(b)"),
         ("security", "33(2)(d)"), ("epidemic", "33(2)(f)")]


def conditions_of(attribute: str) -> st.SearchStrategy[dict[str, Any]]:
    v = VALUES[attribute]
    options = [st.builds(cond, st.just(attribute), st.just("eq"), v),
               st.builds(cond, st.just(attribute), st.sampled_from(["in", "not_in"]), st.lists(v, min_size=1, max_size=4))]
    if attribute == "age":
        options.append(st.builds(cond, st.just("age"), st.just("between"), st.lists(v, min_size=2, max_size=2).map(sorted)))
    return st.one_of(options)


@st.composite
def rule_dicts(draw: st.DrawFn, i: int) -> dict[str, Any]:
    cs = draw(st.lists(st.sampled_from(ALLOWED_ATTRIBUTES).flatmap(conditions_of), min_size=1, max_size=4))
    if {c["attribute"] for c in cs} <= SEX_OR_AGE:
        cs.append(draw(conditions_of("nationality")))
    risk, basis = draw(st.sampled_from(KINDS))
    return rule(*cs, id=f"R-{i:03d}", risk=risk, basis=basis)


rule_sets = st.integers(1, 6).flatmap(lambda k: st.tuples(*(rule_dicts(i) for i in range(k))))


@st.composite
def applications(draw: st.DrawFn) -> tuple[dict[str, Any], date]:
    on = draw(st.dates(date(2026, 10, 1), date(2030, 12, 31)))
    birth = draw(st.dates(on - timedelta(days=365 * 131), on))
    body = data(person={"birth_date": birth.isoformat(), "sex": draw(st.sampled_from(["M", "F", "X"])),
                        "nationality": draw(st.sampled_from(NATS))},
                residence={"city": draw(st.sampled_from(CITIES)), "country": draw(st.sampled_from(NATS))},
                education=draw(st.sampled_from(EDUCATION)), job_group=draw(st.sampled_from(JOBS)))
    return body, on


def reference(rules: tuple[dict[str, Any], ...], body: dict[str, Any], on: date, family_member: bool) -> list[str]:
    """Art. 33 read plainly: every condition of a rule holds, on the values as the form has them."""
    b = date.fromisoformat(body["person"]["birth_date"])

    def birthday(year: int) -> date:
        try:
            return date(year, b.month, b.day)
        except ValueError:  # 29 February in a common year
            return date(year, 3, 1)

    age = sum(1 for y in range(b.year + 1, on.year + 1) if birthday(y) <= on)
    band = next(label for label, top in [("<18", 17), ("18-25", 25), ("26-40", 40), ("41-60", 60), ("61-70", 70),
                                         (">70", 10**6)] if age <= top)

    def fold(s: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn").lower()

    facts = {"age": age, "age_band": band, "sex": body["person"]["sex"], "nationality": body["person"]["nationality"],
             "country_of_residence": body["residence"]["country"], "city_of_residence": fold(body["residence"]["city"]),
             "education": body["education"], "job_group": body["job_group"]}

    def holds(c: dict[str, Any]) -> bool:
        have = facts[c["attribute"]]
        f = fold if c["attribute"] == "city_of_residence" else (lambda x: x)
        if c["op"] == "eq":
            return have == f(c["value"])
        if c["op"] == "between":
            return c["value"][0] <= have <= c["value"][1]
        inside = have in [f(x) for x in c["value"]]
        return inside if c["op"] == "in" else not inside

    return sorted(r["id"] for r in rules
                  if not (family_member and r["risk"] == "illegal_immigration") and all(map(holds, r["conditions"])))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(rule_sets, applications(), st.booleans())
def test_evaluate_agrees_with_a_plain_reading(rules, application_on, family_member):
    body, on = application_on
    matches = RuleSet(rules).evaluate(body, on, family_member=family_member)
    assert [m.rule_id for m in matches] == reference(rules, body, on, family_member)
    for m in matches:
        r = next(r for r in rules if r["id"] == m.rule_id)
        assert m.explanation.count(";") == len(r["conditions"]) - 1
        assert all(m.explanation.split("; ")[i].startswith(c["attribute"] + " ") for i, c in enumerate(r["conditions"]))


@settings(max_examples=50)
@given(rule_sets)
def test_generated_rules_round_trip_through_json(rules):
    rs = RuleSet(rules)
    assert RuleSet.from_json(json.dumps(rs.to_json())).rules == rs.rules


# --- fairness report ---------------------------------------------------------------------------------------

def population(hits_in_ten: dict[str, int], per_cell: int = 10) -> list[Screened]:
    """Every nationality x sex x age band cell alike except for the hits a nationality gets in ten."""
    out = []
    for nat, k in hits_in_ten.items():
        for sex in ("M", "F"):
            for age in (10, 20, 30, 50, 65, 80):
                for i in range(per_cell):
                    hit = i % 10 < k
                    out.append(Screened(nat, sex, ("R-1",) if hit else (), manual=hit and i % 2 == 0, age=age))
    return out


def test_an_unbiased_population_is_not_flagged():
    report = fairness_report(population({"USA": 2, "GBR": 2, "BRA": 2}))
    assert report.flags == ()
    for s in report.sections:
        for b in s.breakdowns:
            assert all(g.hit_ratio == pytest.approx(1.0) and not g.flagged for g in b.groups)
    assert "None." in render_markdown(report)


def test_a_biased_population_is_flagged_on_the_group_and_nowhere_else():
    report = fairness_report(population({"USA": 2, "GBR": 2, "BRA": 5}))
    flagged = {(f.scope, f.dimension, f.group, f.measure) for f in report.flags}
    assert ("overall", "nationality", "BRA", "hit") in flagged and ("R-1", "nationality", "BRA", "hit") in flagged
    assert {d for _, d, _, _ in flagged} == {"nationality"}  # sex and age bands are alike
    bra = next(g for g in report.sections[0].breakdowns[0].groups if g.group == "BRA")
    assert bra.hit_rate == pytest.approx(0.5) and bra.hit_ratio == pytest.approx(2.5) and bra.hit_p < 0.001
    # the majority is flagged too where it stands beyond the band against everyone else
    usa = next(g for g in report.sections[0].breakdowns[0].groups if g.group == "USA")
    assert usa.hit_ratio == pytest.approx(0.2 / 0.35)
    assert "FLAG hit" in render_markdown(report)


def test_small_groups_and_a_wider_band_are_not_flagged():
    records = population({"USA": 2, "GBR": 2}) + population({"BRA": 5}, per_cell=2)  # 24 BRA applications
    assert not any(f.group == "BRA" for f in fairness_report(records).flags)
    assert any(f.group == "BRA" for f in fairness_report(records, min_group=20).flags)
    assert fairness_report(population({"USA": 2, "GBR": 2, "BRA": 5}), band=(0.1, 10)).flags == ()


@given(st.lists(st.builds(Screened, st.sampled_from(["USA", "BRA", "JPN"]), st.sampled_from(["M", "F", "X"]),
                          st.lists(st.sampled_from(["R-1", "R-2"]), unique=True).map(tuple), st.booleans(),
                          st.integers(0, 110)), max_size=80))
def test_fairness_counts_add_up_to_the_totals(records):
    report = fairness_report(records, min_group=5)
    assert report.total == len(records)
    for s in report.sections:
        for b in s.breakdowns:
            assert sum(g.n for g in b.groups) == s.n == len(records)
            assert sum(g.hits for g in b.groups) == s.hits
            assert sum(g.referred for g in b.groups) == s.referred
            assert all(0 <= g.referred <= g.n and 0 <= g.hits <= g.n for g in b.groups)
    overall = report.sections[0]
    assert overall.hits == sum(1 for r in records if r.matched) and overall.referred == sum(r.manual for r in records)
    for f in report.flags:
        assert f.n >= 5 and not 0.8 <= f.ratio <= 1.25
    json.dumps(report.as_dict())


def test_records_may_be_dicts_with_birth_and_application_dates_and_rules_name_the_sections():
    rs = RuleSet([rule(NAT, id="R-1"), rule(NAT, id="R-2", description="Pipe | in text")])
    records = [{"nationality": "USA", "sex": "F", "birth_date": "2000-06-02", "application_date": "2027-06-01",
                "matched": ["R-1"], "manual": True}]
    report = fairness_report(records, rs)
    assert [s.scope for s in report.sections] == ["overall", "R-1", "R-2"]
    assert report.sections[0].breakdowns[2].groups[0].group == "26-40"  # 26 the day after
    assert report.sections[2].hits == 0
    md = render_markdown(report)
    assert "## Rule R-1 v1 (illegal_immigration, Art. 33(2)(a))" in md and "Pipe \\| in text" in md
    with pytest.raises(ValueError, match="unknown rule id"):
        fairness_report([{**records[0], "matched": ["R-9"]}], rs)
    with pytest.raises(ValueError, match="record 0: a record needs age"):
        fairness_report([{"nationality": "USA", "sex": "F"}])


def test_markdown_has_a_table_per_dimension_for_each_section():
    md = render_markdown(fairness_report(population({"USA": 2, "BRA": 5})))
    assert md.count("### By nationality") == md.count("### By sex") == md.count("### By age band") == 2
    assert md.count("| Group | n | hits | hit rate | ratio | p | referred | referral rate | ratio | p | flag |") == 6
    assert "| BRA | 120 | 60 | 50.0% |" in md
    assert "| <18 |" in md and "| >70 |" in md
