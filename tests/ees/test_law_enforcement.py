"""Law-enforcement access through a central access point (EES Arts. 29, 31, 32, 33): the Art. 32 rule,
prior and ex post verification, release only after approval, erasure after unjustified urgent access."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from smartborders.core.auth import Principal
from smartborders.core.errors import Conflict, Forbidden, InvalidInput
from smartborders.ees import law_enforcement as L
from smartborders.ees import schemas as S
from smartborders.ees import service
from smartborders.ees.service import run
from tests.ees.factory import START, Traveller, client_id, clock

DAY = timedelta(days=1)


def person(subject: str, *roles: str, state: str = "NLD") -> Principal:
    return Principal(subject=subject, kind="person", roles=frozenset(roles), name=subject,
                     authority=f"{state} authority", state=state)


UNIT = person("rechercheur-1", "law_enforcement")
UNIT2 = person("rechercheur-2", "law_enforcement")
CAP = person("cap-officer", "central_access_point")
CAP_DE = person("cap-de", "central_access_point", state="DEU")
BOTH = person("rechercheur-1", "law_enforcement", "central_access_point")  # the requester, also at the CAP

ALL_MET = L.FindingsIn(necessary_for_offence=True, necessary_and_proportionate=True, substantial_contribution=True)
TEXT = "the suspect is believed to have entered the Schengen area through Schiphol in May"


def enrolled(engine, c) -> tuple[Traveller, str]:
    t = Traveller("USA")
    res = run(engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    return t, res.file_id


def body(t: Traveller | None = None, **kw) -> L.SubmitIn:
    base = {"client_id": client_id(), "case_reference": "ZAAK-2026/0042",
                "offence": L.OffenceIn(category="drug_trafficking", max_custodial_years=12),
                "reasons": TEXT, "specific_case": "case 2026/0042: cocaine import via Rotterdam, one suspect named",
                "contribution_grounds": "the suspect is a third-country national who travels on a US passport",
                "purpose": "consult_known"}
    number, state = (t.document.number, t.document.issuing_state) if t is not None else ("X0000001", "USA")
    base["criteria"] = L.CriteriaIn(document=L.DocumentQuery(number=number, issuing_state=state))
    base.update(kw)
    return L.SubmitIn(**base)


def submit(engine, c, cmd: L.SubmitIn, who: Principal = UNIT) -> L.ResultOut:
    return run(engine, c, lambda ctx: L.submit(ctx, who, cmd))


def verify(engine, c, rid: str, outcome: str, who: Principal = CAP, findings: L.FindingsIn = ALL_MET,
           reasons: str | None = None) -> L.ResultOut:
    cmd = L.VerifyIn(outcome=outcome, findings=findings, reasons=reasons)
    return run(engine, c, lambda ctx: L.verify(ctx, who, uuid.UUID(rid), cmd))


def get(engine, c, rid: str, who: Principal = UNIT) -> L.ResultOut:
    return run(engine, c, lambda ctx: L.get(ctx, who, uuid.UUID(rid)), readonly=True)


def queue(engine, c, overdue_only: bool = False, who: Principal = CAP) -> list[L.RequestOut]:
    return run(engine, c, lambda ctx: L.queue(ctx, who, overdue_only), readonly=True)


# ---- on both databases -----------------------------------------------------------------------------


def test_approved_request_releases_the_file_to_the_operating_unit_only(ees_engine):
    c = clock()
    t, file_id = enrolled(ees_engine, c)
    c.advance(DAY)
    run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit()))
    Traveller("USA")  # someone else, not released
    c.advance(DAY)
    out = submit(ees_engine, c, body(t))
    r = out.request
    assert (r.status, r.state, r.requested_by, r.formal_unmet, out.data) == ("submitted", "NLD", UNIT.subject, [],
                                                                              None)
    # Before approval, nobody sees data: not the unit, not the CAP.
    assert get(ees_engine, c, r.id).data is None and get(ees_engine, c, r.id, CAP).data is None
    assert [q.id for q in queue(ees_engine, c)] == [r.id]
    c.advance(timedelta(hours=2))
    done = verify(ees_engine, c, r.id, "approved")
    assert done.request.status == "released" and done.request.outcome == "approved" and done.request.unmet == []
    assert done.data is None  # the CAP's answer carries no data (31(1): the data go to the operating unit)
    assert done.request.released_files == 1 and done.request.verified_by == CAP.subject
    seen = get(ees_engine, c, r.id, UNIT2)  # any operating unit of the state
    assert [f.id for f in seen.data] == [file_id]
    assert len(seen.data[0].records) == 1 and seen.data[0].records[0].exit_at is not None
    assert get(ees_engine, c, r.id, CAP).data is None
    assert queue(ees_engine, c) == []
    assert [e.step for e in done.request.trail] == ["submitted", "approved", "released"]
    flat = str([e.model_dump() for e in done.request.trail])  # Art. 47 record: no personal data
    assert t.identity.surname not in flat and t.document.number not in flat
    row = run(ees_engine, c, lambda ctx: ctx.session.get(L.LawEnforcementRequest, uuid.UUID(r.id)))
    assert row.released_file_ids == [file_id]


def test_refusal_records_are_released_with_the_file(ees_engine):
    c = clock()
    t = Traveller("USA")
    refusal = S.RefusalCommand(client_id=client_id(), bcp="NL-AMS", authority="NL-KMAR", document=t.document,
                               identity=t.identity, reasons=["E"])
    run(ees_engine, c, lambda ctx: service.record_refusal(ctx, refusal))
    r = submit(ees_engine, c, body(criteria=L.CriteriaIn(identity=t.identity))).request
    verify(ees_engine, c, r.id, "approved")
    data = get(ees_engine, c, r.id).data
    assert len(data) == 1 and [x.reasons for x in data[0].refusals] == [["E"]]


def test_rejected_request_releases_nothing(ees_engine):
    c = clock()
    t, _ = enrolled(ees_engine, c)
    r = submit(ees_engine, c, body(t)).request
    with pytest.raises(InvalidInput):  # a rejection names the unmet condition ...
        verify(ees_engine, c, r.id, "rejected", reasons="not proportionate")
    no = L.FindingsIn(necessary_for_offence=True, necessary_and_proportionate=False, substantial_contribution=True)
    with pytest.raises(InvalidInput):  # ... and gives reasons
        verify(ees_engine, c, r.id, "rejected", findings=no)
    with pytest.raises(L.ConditionsNotMet):
        verify(ees_engine, c, r.id, "approved", findings=no)
    out = verify(ees_engine, c, r.id, "rejected", findings=no, reasons="a less intrusive measure is available")
    assert out.request.status == "rejected" and out.request.released_files == 0
    assert out.request.unmet == ["32(1)(b): consultation is not necessary and proportionate in the specific case"]
    assert get(ees_engine, c, r.id).data is None
    with pytest.raises(L.WrongStep):
        verify(ees_engine, c, r.id, "approved")


def test_identify_unknown_without_prior_checks_is_rejected_under_32_2(ees_engine):
    c = clock()
    t, _ = enrolled(ees_engine, c)
    r = submit(ees_engine, c, body(t, purpose="identify_unknown")).request
    assert r.formal_unmet == ["32(2): the national databases were not searched first"]
    with pytest.raises(InvalidInput):  # the CAP must assess the prior checks
        verify(ees_engine, c, r.id, "approved")
    found = ALL_MET.model_copy(update={"prior_checks": True})
    with pytest.raises(L.ConditionsNotMet) as e:
        verify(ees_engine, c, r.id, "approved", findings=found)
    assert e.value.extensions["unmet"] == ["32(2): the national databases were not searched first"]
    out = verify(ees_engine, c, r.id, "rejected", findings=found, reasons="search the national databases first")
    assert out.request.status == "rejected" and out.request.unmet[0].startswith("32(2)")
    # With the prior checks done, or waived with grounds, the same request passes.
    for checks in (L.PriorChecksIn(national_databases_searched=True, prum_afis="not_applicable"),
                   L.PriorChecksIn(waiver="clearly_not_help", waiver_grounds="the victim is a tourist with no "
                                   "national record anywhere")):
        ok = submit(ees_engine, c, body(t, purpose="identify_unknown", prior_checks=checks)).request
        assert ok.formal_unmet == []
        assert verify(ees_engine, c, ok.id, "approved", findings=found).request.status == "released"


def test_urgent_request_is_released_at_once_and_verified_ex_post(ees_engine):
    c = clock()  # Friday 10 April 2026
    t, file_id = enrolled(ees_engine, c)
    out = submit(ees_engine, c, body(t, urgent=True, purpose="identify_unknown",
                                     urgency_grounds="imminent danger: a hostage is held, the suspect unknown"))
    r = out.request
    assert r.status == "released_urgent" and [f.id for f in out.data] == [file_id]
    # 7 working days from Friday 10 April, over two weekends: Tuesday 21 April.
    assert r.verification_due == date(2026, 4, 21) and not r.overdue
    assert [q.id for q in queue(ees_engine, c)] == [r.id] and queue(ees_engine, c, overdue_only=True) == []
    c.set(datetime(2026, 4, 21, 21, 0, tzinfo=UTC))
    assert queue(ees_engine, c, overdue_only=True) == []
    c.set(datetime(2026, 4, 22, 8, 0, tzinfo=UTC))
    late = queue(ees_engine, c, overdue_only=True)
    assert [q.id for q in late] == [r.id] and late[0].overdue
    with pytest.raises(InvalidInput):  # ex post: justified or not, and urgency assessed
        verify(ees_engine, c, r.id, "approved")
    with pytest.raises(InvalidInput):
        verify(ees_engine, c, r.id, "justified")
    no_urgency = ALL_MET.model_copy(update={"urgency": False, "prior_checks": True})
    with pytest.raises(L.ConditionsNotMet):
        verify(ees_engine, c, r.id, "justified", findings=no_urgency)
    v = verify(ees_engine, c, r.id, "not_justified", findings=no_urgency, reasons="no imminent danger existed")
    assert (v.request.status, v.request.erasure_required, v.data) == ("erasure_required", True, None)
    # Without urgency, the prior checks were not waived either.
    assert v.request.unmet == ["31(2): there was no exceptional case of urgency",
                               "32(2): the national databases were not searched first"]
    assert "late: due 2026-04-21" in v.request.trail[-2].note
    assert get(ees_engine, c, r.id).data is None  # no longer served
    assert queue(ees_engine, c) == []
    with pytest.raises(Forbidden):
        run(ees_engine, c, lambda ctx: L.confirm_erasure(ctx, CAP_DE, uuid.UUID(r.id)))
    gone = run(ees_engine, c, lambda ctx: L.confirm_erasure(ctx, UNIT, uuid.UUID(r.id)))
    assert gone.request.status == "erased" and gone.request.erasure_confirmed_at == c.now()
    assert get(ees_engine, c, r.id, CAP).request.status == "erased"  # the CAP is informed
    with pytest.raises(L.WrongStep):
        run(ees_engine, c, lambda ctx: L.confirm_erasure(ctx, UNIT, uuid.UUID(r.id)))


def test_urgent_request_found_justified_keeps_its_release(ees_engine):
    c = clock()
    t, file_id = enrolled(ees_engine, c)
    r = submit(ees_engine, c, body(t, urgent=True, urgency_grounds="a planned attack within the next days"),
               ).request
    v = verify(ees_engine, c, r.id, "justified", findings=ALL_MET.model_copy(update={"urgency": True}))
    assert v.request.status == "justified" and not v.request.erasure_required
    assert [f.id for f in get(ees_engine, c, r.id).data] == [file_id]
    with pytest.raises(L.WrongStep):
        run(ees_engine, c, lambda ctx: L.confirm_erasure(ctx, UNIT, uuid.UUID(r.id)))


def test_urgent_request_failing_its_own_statements_runs_no_search(ees_engine):
    c = clock()
    t, _ = enrolled(ees_engine, c)
    cmd = body(t, urgent=True, urgency_grounds="imminent danger to a person's life",
               offence=L.OffenceIn(category="swindling", max_custodial_years=2))
    with pytest.raises(L.ConditionsNotMet) as e:
        submit(ees_engine, c, cmd)
    assert e.value.extensions["unmet"][0].startswith("32(1)(a)")
    n = run(ees_engine, c, lambda ctx: ctx.session.scalar(select(func.count()).select_from(L.LawEnforcementRequest)))
    assert n == 0


def test_only_the_cap_of_the_same_state_and_not_the_requester_verifies(ees_engine):
    c = clock()
    t, _ = enrolled(ees_engine, c)
    r = submit(ees_engine, c, body(t)).request
    with pytest.raises(Forbidden):
        verify(ees_engine, c, r.id, "approved", who=CAP_DE)
    with pytest.raises(L.NotIndependent):
        verify(ees_engine, c, r.id, "approved", who=BOTH)
    with pytest.raises(Forbidden):
        verify(ees_engine, c, r.id, "approved", who=UNIT2)  # an operating unit is no CAP
    with pytest.raises(Forbidden):
        get(ees_engine, c, r.id, CAP_DE)
    with pytest.raises(Forbidden):
        get(ees_engine, c, r.id, person("guard", "border_guard"))
    with pytest.raises(Forbidden):
        submit(ees_engine, c, body(t), who=CAP)
    with pytest.raises(Forbidden):
        submit(ees_engine, c, body(t), who=person("stateless", "law_enforcement", state=None))
    assert queue(ees_engine, c, who=CAP_DE) == []
    assert get(ees_engine, c, r.id).request.status == "submitted"


def test_submission_is_idempotent_by_client_id(ees_engine):
    c = clock()
    t, file_id = enrolled(ees_engine, c)
    cmd = body(t)
    first = submit(ees_engine, c, cmd)
    c.advance(DAY)
    again = submit(ees_engine, c, cmd)
    assert again.request.id == first.request.id and again.request.submitted_at == first.request.submitted_at
    with pytest.raises(Conflict):
        submit(ees_engine, c, cmd.model_copy(update={"case_reference": "OTHER-1"}))
    with pytest.raises(Conflict):  # another officer cannot replay someone else's request to read its result
        submit(ees_engine, c, cmd, who=UNIT2)
    urgent = body(t, urgent=True, urgency_grounds="imminent danger to a person's life")
    a = submit(ees_engine, c, urgent)
    b = submit(ees_engine, c, urgent)
    assert a.request.id == b.request.id and [f.id for f in b.data] == [file_id]
    n = run(ees_engine, c, lambda ctx: ctx.session.scalar(select(func.count()).select_from(L.LawEnforcementRequest)))
    assert n == 2


def test_europol_asks_through_its_own_central_access_point(ees_engine):
    c = clock()
    t, file_id = enrolled(ees_engine, c)
    unit, cap = person("europol-ecc", "law_enforcement", state="EUR"), person("europol-cap", "central_access_point",
                                                                              state="EUR")
    r = submit(ees_engine, c, body(t, offence=L.OffenceIn(terrorist=True), purpose="identify_unknown"),
               who=unit).request
    assert r.state == "EUR" and r.formal_unmet == ["33(2): the databases available to Europol were not searched first"]
    with pytest.raises(Forbidden):
        verify(ees_engine, c, r.id, "approved", who=CAP)  # a national CAP cannot verify Europol's request
    ok = submit(ees_engine, c, body(t, offence=L.OffenceIn(terrorist=True)), who=unit).request
    verify(ees_engine, c, ok.id, "approved", who=cap)
    assert [f.id for f in get(ees_engine, c, ok.id, unit).data] == [file_id]
    assert run(ees_engine, c, lambda ctx: L.list_requests(ctx, UNIT), readonly=True) == []


def test_unit_lists_its_states_requests(ees_engine):
    c = clock()
    t, _ = enrolled(ees_engine, c)
    a = submit(ees_engine, c, body(t)).request
    c.advance(DAY)
    b = submit(ees_engine, c, body(t), who=UNIT2).request
    submit(ees_engine, c, body(t), who=person("bka", "law_enforcement", state="DEU"))
    mine = run(ees_engine, c, lambda ctx: L.list_requests(ctx, UNIT), readonly=True)
    assert [r.id for r in mine] == [b.id, a.id]


# ---- the pure rule -----------------------------------------------------------------------------------


def facts(**kw) -> L.Facts:
    base = {"terrorist_offence": False, "offence_category": "drug_trafficking", "max_custodial_years": 12,
                "specific_case": "case 42", "contribution_grounds": "the suspect is a TCN", "purpose": "consult_known",
                "submitted_on": date(2026, 5, 4)}
    base.update(kw)
    return L.Facts(**base)


FULL = L.Findings(necessary_for_offence=True, necessary_and_proportionate=True, substantial_contribution=True,
                  prior_checks=True)

RULE_CASES = [
    ("all-met", facts(), None, []),
    ("terrorist-offence-needs-no-list-or-penalty",
     facts(terrorist_offence=True, offence_category=None, max_custodial_years=None), None, []),
    ("no-offence", facts(offence_category=None), None,
     ["32(1)(a): the offence is not a terrorist or serious criminal offence: none is named"]),
    ("not-in-fd-2002-584", facts(offence_category="shoplifting"), None,
     [("32(1)(a): the offence is not a terrorist or serious criminal offence: shoplifting is not listed in "
      "Art. 2(2) of Framework Decision 2002/584/JHA")]),
    ("below-3-years", facts(max_custodial_years=2), None,
     [("32(1)(a): the offence is not a terrorist or serious criminal offence: its maximum custodial sentence (2) "
      "is below 3 years")]),
    ("exactly-3-years", facts(max_custodial_years=3), None, []),
    ("no-penalty-given", facts(max_custodial_years=None), None,
     [("32(1)(a): the offence is not a terrorist or serious criminal offence: its maximum custodial sentence "
      "(none) is below 3 years")]),
    ("no-specific-case", facts(specific_case=" "), None, ["32(1)(b): no specific case is stated"]),
    ("no-contribution-grounds", facts(contribution_grounds=""), None,
     ["32(1)(c): no evidence or reasonable grounds that consultation will substantially contribute"]),
    ("cap-not-necessary", facts(), L.Findings(False, True, True), [
        "32(1)(a): consultation is not necessary to prevent, detect or investigate the offence"]),
    ("cap-not-proportionate", facts(), L.Findings(True, False, True), [
        "32(1)(b): consultation is not necessary and proportionate in the specific case"]),
    ("cap-no-contribution", facts(), L.Findings(True, True, False), [
        "32(1)(c): the evidence or grounds do not show that consultation will substantially contribute"]),
    ("identify-no-prior-checks", facts(purpose="identify_unknown"), None,
     ["32(2): the national databases were not searched first"]),
    ("identify-national-done", facts(purpose="identify_unknown", national_databases_searched=True), None, []),
    ("identify-cap-finds-checks-not-done", facts(purpose="identify_unknown", national_databases_searched=True),
     L.Findings(True, True, True, prior_checks=False),
     ["32(2): the prior checks stated were not carried out as required"]),
    ("identify-waiver-with-grounds", facts(purpose="identify_unknown", waiver="clearly_not_help",
                                           waiver_grounds="no record anywhere"), None, []),
    ("identify-waiver-without-grounds", facts(purpose="identify_unknown", waiver="clearly_not_help"), None,
     ["32(2): the prior checks are waived without grounds"]),
    ("identify-waiver-rejected-by-cap", facts(purpose="identify_unknown", waiver="clearly_not_help",
                                              waiver_grounds="no record"), L.Findings(True, True, True, False),
     ["32(2): there are no reasonable grounds that the prior checks would clearly not help identify the person"]),
    ("identify-urgent-waives-prior-checks", facts(purpose="identify_unknown", urgent=True,
                                                  urgency_grounds="hostage"), None, []),
    ("urgent-without-grounds", facts(urgent=True), None, ["31(2): urgency is claimed without grounds"]),
    ("urgency-denied-ex-post", facts(purpose="identify_unknown", urgent=True, urgency_grounds="hostage"),
     L.Findings(True, True, True, urgency=False),
     ["31(2): there was no exceptional case of urgency", "32(2): the national databases were not searched first"]),
    ("fingerprints-without-prum", facts(purpose="identify_unknown", national_databases_searched=True,
                                        fingerprint_search=True, prum_afis="not_applicable"), None,
     [("32(2): the fingerprints were not first searched in the other Member States' AFIS under "
      "Decision 2008/615/JHA")]),
    ("fingerprints-prum-completed", facts(purpose="identify_unknown", national_databases_searched=True,
                                          fingerprint_search=True, prum_afis="completed"), None, []),
    ("fingerprints-prum-2-days-passed", facts(purpose="identify_unknown", national_databases_searched=True,
                                              fingerprint_search=True, prum_afis="not_completed_within_2_days",
                                              prum_launched_on=date(2026, 5, 2)), None, []),
    ("fingerprints-prum-too-early", facts(purpose="identify_unknown", national_databases_searched=True,
                                          fingerprint_search=True, prum_afis="not_completed_within_2_days",
                                          prum_launched_on=date(2026, 5, 3)), None,
     [("32(2): the Prüm AFIS search was launched less than 2 days before the request (or no launch date is given) "
      "and has not been completed")]),
    ("europol-cites-33", facts(europol=True, max_custodial_years=1, purpose="identify_unknown"), None,
     [("33(1)(a): the offence is not a terrorist or serious criminal offence: its maximum custodial sentence (1) "
      "is below 3 years"), "33(2): the databases available to Europol were not searched first"]),
]


@pytest.mark.parametrize(("f", "cap", "expected"), [c[1:] for c in RULE_CASES], ids=[c[0] for c in RULE_CASES])
def test_unmet_conditions(f, cap, expected):
    assert L.unmet_conditions(f, cap) == expected


def test_the_offence_list_is_framework_decision_2002_584_article_2_2():
    assert len(L.FD_2002_584_OFFENCES) == 32 and "terrorism" in L.FD_2002_584_OFFENCES
    assert L.is_serious_criminal_offence("rape", 3) and not L.is_serious_criminal_offence("rape", 2)


@pytest.mark.parametrize(("start", "due"), [
    (date(2026, 4, 10), date(2026, 4, 21)),  # Friday: over two weekends
    (date(2026, 4, 13), date(2026, 4, 22)),  # Monday
    (date(2026, 4, 15), date(2026, 4, 24)),  # Wednesday
    (date(2026, 4, 11), date(2026, 4, 21)),  # Saturday counts from Monday
    (date(2026, 4, 12), date(2026, 4, 21)),  # Sunday too
    (date(2026, 12, 24), date(2027, 1, 4)),  # no holiday calendar: 25 Dec and 1 Jan count
], ids=["fri", "mon", "wed", "sat", "sun", "christmas"])
def test_seven_working_days(start, due):
    assert L.add_working_days(start, L.EX_POST_WORKING_DAYS) == due


_bool = st.booleans()
_facts = st.builds(
    L.Facts,
    terrorist_offence=_bool,
    offence_category=st.one_of(st.none(), st.sampled_from([*L.FD_2002_584_OFFENCES, "shoplifting"])),
    max_custodial_years=st.one_of(st.none(), st.integers(0, 99)),
    specific_case=st.sampled_from(["", " ", "case 42"]),
    contribution_grounds=st.sampled_from(["", "the suspect is a TCN"]),
    purpose=st.sampled_from(["identify_unknown", "consult_known"]),
    submitted_on=st.dates(date(2026, 1, 1), date(2030, 1, 1)),
    national_databases_searched=_bool,
    prum_afis=st.sampled_from([None, "completed", "not_completed_within_2_days", "not_applicable"]),
    prum_launched_on=st.one_of(st.none(), st.dates(date(2025, 12, 1), date(2030, 1, 1))),
    waiver=st.sampled_from([None, "clearly_not_help"]),
    waiver_grounds=st.sampled_from([None, "", "no record anywhere"]),
    urgent=_bool,
    urgency_grounds=st.sampled_from([None, "", "hostage"]),
    fingerprint_search=_bool,
    europol=_bool,
)
_findings = st.builds(L.Findings, necessary_for_offence=_bool, necessary_and_proportionate=_bool,
                      substantial_contribution=_bool, prior_checks=st.sampled_from([None, True, False]),
                      urgency=st.sampled_from([None, True, False]))


def _misses_32_1(f: L.Facts, cap: L.Findings) -> bool:
    offence = f.terrorist_offence or L.is_serious_criminal_offence(f.offence_category, f.max_custodial_years)
    return not (offence and cap.necessary_for_offence and f.specific_case.strip() and cap.necessary_and_proportionate
                and f.contribution_grounds.strip() and cap.substantial_contribution)


@settings(max_examples=500, deadline=None)
@given(_facts, _findings, st.sampled_from(["approved", "justified"]))
def test_a_request_missing_a_32_1_condition_is_never_approved(f, cap, outcome):
    unmet = L.unmet_conditions(f, cap)
    art = "33(1)" if f.europol else "32(1)"
    if _misses_32_1(f, cap):
        assert any(u.startswith(art) for u in unmet)
        with pytest.raises(L.ConditionsNotMet):
            L.verdict(f, cap, outcome, None)
    elif not unmet:
        assert L.verdict(f, cap, outcome, None) == []


@settings(max_examples=300, deadline=None)
@given(_facts, _findings)
def test_a_rejection_always_names_an_unmet_condition(f, cap):
    unmet = L.unmet_conditions(f, cap)
    if unmet:
        assert L.verdict(f, cap, "rejected", "reasons given") == unmet
    else:
        with pytest.raises(InvalidInput):
            L.verdict(f, cap, "rejected", "reasons given")


def test_submission_shape_is_strict():
    with pytest.raises(ValueError):
        body(urgent=True)  # no urgency grounds
    with pytest.raises(ValueError):
        body(reasons="too short")
    with pytest.raises(ValueError):
        body(prior_checks=L.PriorChecksIn(national_databases_searched=True))  # consult_known has none
    with pytest.raises(ValueError):
        body(criteria=L.CriteriaIn())
    assert START.weekday() == 4  # the ex post deadline tests above start on a Friday
