"""ETIAS automated processing (Art. 20-21) on both databases: each check of Art. 20 finds its hit with an
explanation; a clean file is issued at once; a background "yes" goes to the national unit."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from smartborders.core.clock import FixedClock
from smartborders.core.db import unit_of_work
from smartborders.ees import service as ees
from smartborders.ees.service import run
from smartborders.etias import schemas as S
from smartborders.etias import screening, service
from smartborders.etias.models import Application, Hit, ListEntry
from tests.ees.factory import Traveller
from tests.etias.factory import application

NOW = datetime(2026, 12, 20, 10, 0, tzinfo=timezone.utc)


def submit(engine, body, at=NOW):
    cmd = S.ApplicationIn.model_validate(body)
    return run(engine, FixedClock(at), lambda ctx: service.submit(ctx, cmd))


def hits(engine, number):
    with unit_of_work(engine, readonly=True) as s:
        a = s.scalar(select(Application).where(Application.number == number))
        return [(h.article, h.source, h.explanation) for h in s.scalars(select(Hit).where(Hit.application_id == a.id))]


def add(engine, *args, **kw):
    with unit_of_work(engine) as s:
        return screening.add_entry(s, *args, NOW - timedelta(days=1), **kw).id


def test_a_clean_application_is_issued_at_once_for_three_years_or_the_document(ees_engine):
    out = submit(ees_engine, application(document={"expires_on": "2028-06-30"}))
    assert out.status == service.ISSUED and out.valid_until == date(2028, 6, 30)
    assert "issued" in out.notices[-1] and hits(ees_engine, out.number) == []
    long = submit(ees_engine, application())
    assert long.valid_until == date(2029, 12, 20)


def test_each_list_check_finds_its_hit_and_sends_the_file_to_the_central_unit(ees_engine):
    add(ees_engine, "sltd", "SLTD-1", supplied_by="INTERPOL", document_number="L00000001", document_country="USA")
    add(ees_engine, "sis_refusal", "SIS-R-1", supplied_by="DE", name="Дмитрий Соколов", birth_date="1979-03-02")
    add(ees_engine, "watchlist", "WL-1", supplied_by="EUROPOL", name="Tomasz Wiśniewski")
    add(ees_engine, "sis_arrest", "SIS-A-1", supplied_by="FR", name="Karl Brenner", birth_date="1970-01-01")

    lost = submit(ees_engine, application(document={"number": "L00000001"}))
    assert lost.status == service.CENTRAL_UNIT and lost.decision_due == NOW + timedelta(hours=12)
    assert [(a, s) for a, s, _ in hits(ees_engine, lost.number)] == [("20(2)(b)", "SLTD")]

    sokolov = submit(ees_engine, application(person={"surname": "Sokolov", "given_names": "Dmitrij",
                                                     "birth_date": "1979-03-02"}))
    [(article, source, why)] = hits(ees_engine, sokolov.number)
    assert (article, source) == ("20(2)(c)", "SIS") and "sokolov" in why and "1979-03-02" in why

    alias = submit(ees_engine, application(person={"other_names": ["Tomasz Wisniewski"]}))
    assert [a for a, _, _ in hits(ees_engine, alias.number)] == ["20(4)"]

    minor = submit(ees_engine, application(
        person={"birth_date": "2016-06-01"}, payment=None,
        guardian={"surname": "Brenner", "given_names": "Karl", "address": "1 Main St", "email": "k@example.org"}))
    assert [a for a, _, _ in hits(ees_engine, minor.number)] == ["20(2)(m)"]


def test_a_removed_entry_no_longer_hits(ees_engine):
    entry = add(ees_engine, "watchlist", "WL-2", supplied_by="NL", name="Ingrid Vasquez-Holm")
    with unit_of_work(ees_engine) as s:
        s.get(ListEntry, entry).removed_at = NOW - timedelta(hours=1)
    out = submit(ees_engine, application(person={"surname": "Vasquez-Holm", "given_names": "Ingrid"}))
    assert out.status == service.ISSUED


def test_the_same_document_under_other_identity_data_and_a_refused_file(ees_engine):
    first = submit(ees_engine, application(document={"number": "D12345678"}))
    other = submit(ees_engine, application(document={"number": "D12345678"},
                                           person={"surname": "Someone", "given_names": "Else"}))
    [(article, _, why)] = hits(ees_engine, other.number)
    assert article == "20(2)(f)" and first.number in why
    with unit_of_work(ees_engine) as s:
        s.scalar(select(Application).where(Application.number == first.number)).status = "refused"
    again = submit(ees_engine, application(document={"number": "D12345678"}))
    assert "20(2)(e)" in [a for a, _, _ in hits(ees_engine, again.number)]


def test_an_ees_overstay_and_refusal_are_hits_but_not_the_overstay_of_a_family_member(ees_engine):
    t = Traveller("USA")
    c = FixedClock(datetime(2026, 5, 1, 9, tzinfo=timezone.utc))
    run(ees_engine, c, lambda ctx: ees.record_entry(ctx, t.entry()))
    c.advance(timedelta(days=120))
    run(ees_engine, c, lambda ctx: ees.record_exit(ctx, t.exit()))
    doc = {"number": t.document.number, "issuing_country": "USA"}
    out = submit(ees_engine, application(document=doc))
    [(article, source, why)] = hits(ees_engine, out.number)
    assert (article, source) == ("20(2)(g)", "EES") and "overstayer" in why
    family = submit(ees_engine, application(
        document=doc, payment=None,
        background={"conviction": {"answer": False}, "conflict_zone": {"answer": False}, "removal": None},
        family_member={"surname": "Jansen", "given_names": "Pieter", "birth_date": "1985-02-02",
                       "nationality": "NLD", "relationship": "spouse"}))
    assert "20(2)(g)" not in [a for a, _, _ in hits(ees_engine, family.number)]


def test_a_yes_to_a_background_question_goes_to_the_national_unit(ees_engine):
    out = submit(ees_engine, application(background={
        "conviction": {"answer": True, "when": "2019-05-01", "country": "USA"},
        "conflict_zone": {"answer": False}, "removal": {"answer": False}}))
    assert out.status == service.MANUAL and out.decision_due == NOW + timedelta(hours=96)
    with unit_of_work(ees_engine, readonly=True) as s:
        assert s.scalar(select(Application.responsible_state).where(Application.number == out.number)) == "NLD"


def test_carriers_get_ok_or_not_ok_by_travel_document_and_date(ees_engine):
    from smartborders.etias.rules import Periods

    issued = submit(ees_engine, application(document={"number": "C11112222", "expires_on": "2028-06-30"}))
    assert issued.status == service.ISSUED
    periods = Periods(date(2026, 12, 31))

    def ask(**kw):
        q = S.CarrierCheckIn.model_validate({"carrier": "KL", "document_number": "C11112222",
                                             "issuing_country": "USA", "nationality": "USA",
                                             "travel_date": "2027-08-01", "entry_state": "NLD", **kw})
        return run(ees_engine, FixedClock(NOW), lambda ctx: service.carrier_check(ctx, q, periods), readonly=True)

    ok = ask()
    assert ok.answer == "OK" and ok.subject_to_etias and ok.obligation_applies and ok.period == "grace"
    after = ask(travel_date="2028-07-01")  # the document, and with it the authorisation, has expired
    assert after.answer == "NOT_OK" and after.obligation_applies
    optional = ask(document_number="C99990000", travel_date="2027-02-01")
    assert optional.answer == "NOT_OK" and not optional.obligation_applies and optional.period == "optional"
    assert ask(nationality="DEU").answer == "OK" and not ask(nationality="DEU").subject_to_etias
    assert ask(document_number="C99990000", airport_transit=True).answer == "OK"
    revoked_like = submit(ees_engine, application(document={"number": "C33334444"}, background={
        "conviction": {"answer": True, "when": "2019-05-01", "country": "USA"},
        "conflict_zone": {"answer": False}, "removal": {"answer": False}}))
    assert revoked_like.status == service.MANUAL
    assert ask(document_number="C33334444").answer == "NOT_OK"  # not (yet) issued


def test_the_border_check_shows_etias_and_refuses_entry_without_it_once_required(ees_engine):
    from smartborders.ees import schemas as ES

    t = Traveller("USA")
    holder = submit(ees_engine, application(document={"number": t.document.number, "expires_on": "2029-01-31"}))
    assert holder.status == service.ISSUED
    stranger = Traveller("USA")

    def check(tr, day):
        c = FixedClock(datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc).replace(hour=9))
        req = ES.BorderCheckRequest(direction="entry", bcp="NL-AMS", document=tr.document, identity=tr.identity)
        return run(ees_engine, c, lambda ctx: ees.border_check(ctx, req), readonly=True)

    before = check(stranger, date(2026, 12, 1))
    assert before.etias is None and not [f for f in before.findings if f.code.startswith("etias")]
    optional = check(stranger, date(2027, 2, 1))
    assert optional.etias.period == "optional" and not optional.etias.valid
    assert [(f.code, f.refusal_reason) for f in optional.findings if f.code.startswith("etias")] == [
        ("etias-missing", None)]
    grace = check(stranger, date(2027, 8, 1))
    assert [f.code for f in grace.findings if f.code.startswith("etias")] == ["etias-missing-grace"]
    # After a first entry in the grace period, the next one without an authorisation is refused (C).
    c = FixedClock(datetime(2027, 8, 1, 9, tzinfo=timezone.utc))
    run(ees_engine, c, lambda ctx: ees.record_entry(ctx, stranger.entry()))
    c.advance(timedelta(days=3))
    run(ees_engine, c, lambda ctx: ees.record_exit(ctx, stranger.exit()))
    again = check(stranger, date(2027, 9, 1))
    assert [(f.code, f.refusal_reason) for f in again.findings if f.code.startswith("etias")] == [
        ("etias-missing", "C")]
    full = check(stranger, date(2028, 3, 1))
    assert ("etias-missing", "C") in [(f.code, f.refusal_reason) for f in full.findings]
    ok = check(t, date(2028, 3, 1))
    assert ok.etias.valid and ok.etias.application == holder.number and ok.etias.valid_until == date(2029, 1, 31)
    assert not [f for f in ok.findings if f.code.startswith("etias")]
    soon = check(t, date(2028, 12, 1))
    assert soon.etias.expires_within_90_days and "etias-expiring" in [f.code for f in soon.findings]
    visa_national = Traveller("IND")
    assert check(visa_national, date(2028, 3, 1)).etias is None


def test_the_central_unit_verifies_every_hit_within_twelve_hours(ees_engine):
    add(ees_engine, "sis_refusal", "SIS-R-9", supplied_by="DE", name="Viktor Petrenko", birth_date="1981-11-11")
    add(ees_engine, "watchlist", "WL-9", supplied_by="EUROPOL", name="Viktor Petrenko")
    person = {"surname": "Petrenko", "given_names": "Viktor", "birth_date": "1981-11-11"}
    false_hit = submit(ees_engine, application(person=person))
    true_hit = submit(ees_engine, application(person=person, document={"number": "P77776666"}))
    assert false_hit.status == true_hit.status == service.CENTRAL_UNIT

    later = FixedClock(NOW + timedelta(hours=13))
    queue = run(ees_engine, later, lambda ctx: service.central_unit_queue(ctx), readonly=True)
    mine = [c for c in queue if c.number in (false_hit.number, true_hit.number)]
    assert len(mine) == 2 and all(c.overdue for c in mine)
    case = mine[0]
    assert sorted(h.article for h in case.hits) == ["20(2)(c)", "20(4)"]
    assert {h.supplied_by for h in case.hits} == {"DE", "EUROPOL"}

    def verify(number, outcomes, clock=FixedClock(NOW + timedelta(hours=2))):
        c = run(ees_engine, clock, lambda ctx: service.case(ctx, number), readonly=True)
        cmd = S.VerificationIn(officer="cu.officer1", hits=[
            S.HitDecisionIn(id=h.id, outcome=outcomes[h.article], reason="compared with the alert's photograph "
                            "and date of birth") for h in c.hits])
        return run(ees_engine, clock, lambda ctx: service.verify(ctx, number, cmd))

    with pytest.raises(service.HitsNotCovered):
        run(ees_engine, FixedClock(NOW), lambda ctx: service.verify(ctx, false_hit.number, S.VerificationIn(
            officer="cu.officer1", hits=[S.HitDecisionIn(id=case.hits[0].id, outcome="discarded", reason="x")])))
    cleared = verify(false_hit.number, {"20(2)(c)": "discarded", "20(4)": "discarded"})
    assert cleared.status == service.ISSUED and all(h.status == "discarded" for h in cleared.hits)
    manual = verify(true_hit.number, {"20(2)(c)": "confirmed", "20(4)": "discarded"})
    assert manual.status == service.MANUAL and manual.responsible_state == "DEU"
    assert manual.due_at == NOW + timedelta(hours=96)
    with pytest.raises(service.NotAwaitingVerification):
        verify(true_hit.number, {"20(2)(c)": "confirmed", "20(4)": "discarded"})
    status = run(ees_engine, FixedClock(NOW), lambda ctx: service.get(ctx, cleared.number), readonly=True)
    assert status.status == service.ISSUED and "Art. 22(4)" in status.notices[-1]


def test_the_national_unit_responsible_issues_or_refuses_as_the_law_allows(ees_engine):
    from smartborders.ees import schemas as ES

    add(ees_engine, "sis_refusal", "SIS-R-7", supplied_by="FR", name="Lucien Marchetti", birth_date="1969-07-07")
    refused = submit(ees_engine, application(person={"surname": "Marchetti", "given_names": "Lucien",
                                                     "birth_date": "1969-07-07"}))
    yes = submit(ees_engine, application(document={"number": "Y12121212"}, background={
        "conviction": {"answer": True, "when": "2018-02-01", "country": "USA"},
        "conflict_zone": {"answer": False}, "removal": {"answer": False}}))
    at = FixedClock(NOW + timedelta(hours=3))
    c = run(ees_engine, at, lambda ctx: service.case(ctx, refused.number), readonly=True)
    run(ees_engine, at, lambda ctx: service.verify(ctx, refused.number, S.VerificationIn(
        officer="cu1", hits=[S.HitDecisionIn(id=c.hits[0].id, outcome="confirmed", reason="same person")])))

    def decide(number, **kw):
        cmd = S.DecisionIn.model_validate({"officer": "enu.7", "reason": "assessed", **kw})
        return run(ees_engine, FixedClock(NOW + timedelta(hours=20)), lambda ctx: service.decide(ctx, number, cmd))

    with pytest.raises(service.NotResponsible):
        decide(refused.number, state="NLD", decision="refuse", grounds=["37(1)(b)"])
    with pytest.raises(service.DecisionNotAllowed, match="37\\(1\\)\\(e\\)"):  # Art. 26(3)
        decide(refused.number, state="FRA", decision="issue")
    out = decide(refused.number, state="FRA", decision="refuse", grounds=["37(1)(e)"])
    assert out.status == "refused" and out.decision_grounds == ["37(1)(e)"]
    told = run(ees_engine, FixedClock(NOW), lambda ctx: service.get(ctx, refused.number), readonly=True)
    assert "appeal in FRA" in told.notices[-1] and "refusing entry" in told.notices[-1]
    with pytest.raises(service.NotAwaitingDecision):
        decide(refused.number, state="FRA", decision="refuse", grounds=["37(1)(e)"])

    flagged = decide(yes.number, state="NLD", decision="issue", second_line_check=True)
    assert flagged.status == service.ISSUED and flagged.flags == ["second_line_check"]
    t = Traveller("USA")
    t.document = t.document.model_copy(update={"number": "Y12121212"})
    req = ES.BorderCheckRequest(direction="entry", bcp="NL-AMS", document=t.document, identity=t.identity)
    res = run(ees_engine, FixedClock(datetime(2028, 2, 1, 9, tzinfo=timezone.utc)),
              lambda ctx: ees.border_check(ctx, req), readonly=True)
    assert res.etias.valid and res.etias.flags == ["second_line_check"]
    assert "etias-second-line-check" in [f.code for f in res.findings]
    # Art. 36(2): once the check is done and the entry recorded, the flag goes.
    at = FixedClock(datetime(2028, 2, 1, 9, 5, tzinfo=timezone.utc))
    run(ees_engine, at, lambda ctx: ees.record_entry(ctx, t.entry(bcp="NL-AMS")))
    after = run(ees_engine, at, lambda ctx: ees.border_check(ctx, req), readonly=True)
    assert after.etias.valid and after.etias.flags == []


def test_the_border_check_shows_an_ltv_and_refuses_it_elsewhere(ees_engine):
    from smartborders.ees import schemas as ES
    from smartborders.etias import manual

    out = submit(ees_engine, application(document={"number": "V31313131"}, background={
        "conviction": {"answer": True, "when": "2018-02-01", "country": "USA"},
        "conflict_zone": {"answer": False}, "removal": {"answer": False}}))
    day = date(2027, 9, 1)
    c = FixedClock(datetime(2027, 8, 30, 9, tzinfo=timezone.utc))
    cmd = S.LtvIn(officer="nl.enu", state="NLD", ground="national_interest", states=["NLD"], valid_from=day,
                  valid_until=day + timedelta(days=13), reason="trade mission")
    run(ees_engine, c, lambda ctx: manual.issue_ltv(ctx, out.number, cmd))
    t = Traveller("USA")
    t.document = t.document.model_copy(update={"number": "V31313131"})
    at = FixedClock(datetime(2027, 9, 2, 9, tzinfo=timezone.utc))
    here = run(ees_engine, at, lambda ctx: ees.border_check(ctx, ES.BorderCheckRequest(
        direction="entry", bcp="NL-AMS", document=t.document, identity=t.identity)), readonly=True)
    assert here.etias.valid and here.etias.ltv_states == ["NLD"] and here.etias.application == out.number
    assert "etias-ltv" not in [f.code for f in here.findings]
    elsewhere = run(ees_engine, at, lambda ctx: ees.border_check(ctx, ES.BorderCheckRequest(
        direction="entry", bcp="DE-FRA", document=t.document, identity=t.identity)), readonly=True)
    assert not elsewhere.etias.valid
    assert [f.refusal_reason for f in elsewhere.findings if f.code == "etias-ltv"] == ["C"]


def test_an_entry_committed_late_with_a_lower_id_is_still_read(ees_engine):
    """On PostgreSQL a transaction can commit a list entry with a lower id after a higher one was read."""
    from smartborders.etias.screening import name_index

    first = add(ees_engine, "watchlist", "WL-LATE-1", supplied_by="NL", name="Henrietta Oyelaran-Smith")
    with unit_of_work(ees_engine) as s:
        s.add(ListEntry(id=first + 10, list="sltd", reference="SLTD-LATE", document_number="Q1",
                        document_country="USA", supplied_by="INTERPOL", added_at=NOW))
    index = name_index(ees_engine)
    with index.lock:
        index.catch_up(ees_engine)
    with unit_of_work(ees_engine) as s:  # lands after id first + 10 was read
        s.add(ListEntry(id=first + 5, list="watchlist", reference="WL-LATE-2", name="Bartholomew Kwarteng-Ames",
                        supplied_by="NL", added_at=NOW))
    out = submit(ees_engine, application(person={"surname": "Kwarteng-Ames", "given_names": "Bartholomew"}))
    assert [a for a, _, _ in hits(ees_engine, out.number)] == ["20(4)"]
