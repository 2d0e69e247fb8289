"""ETIAS after the automated processing, on both databases: requests for information and interviews
(Art. 27, 32), consultations (Art. 28-29), LTV (Art. 44), annulment and revocation (Art. 40-43) and the
monitoring of valid authorisations (Art. 41), appeals, the lists (Art. 34-35), retention (Art. 54) and
statistics (Art. 84). The clock is moved past each deadline."""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from smartborders.core.clock import FixedClock
from smartborders.core.errors import Problem
from smartborders.ees.service import run
from smartborders.etias import lists, manual, retention, service, statistics
from smartborders.etias import schemas as S
from smartborders.etias.models import Application, Log
from tests.etias.factory import application

NOW = datetime(2026, 12, 20, 10, 0, tzinfo=timezone.utc)
PDF = base64.b64encode(b"%PDF-1.4 synthetic bank statement").decode()


class World:
    def __init__(self, engine):
        self.engine, self.clock = engine, FixedClock(NOW)

    def __call__(self, fn):
        return run(self.engine, self.clock, fn)

    def submit(self, **over):
        cmd = S.ApplicationIn.model_validate(application(**over))
        return self(lambda ctx: service.submit(ctx, cmd))

    def entry(self, list_name, **body):
        return self(lambda ctx: lists.add(ctx, list_name, S.ListEntryIn.model_validate(body)))

    def case(self, number):
        return self(lambda ctx: service.case(ctx, number))

    def verify(self, number, outcome="confirmed"):
        c = self.case(number)
        cmd = S.VerificationIn(officer="cu.officer", hits=[S.HitDecisionIn(id=h.id, outcome=outcome, reason="same "
                                                                           "person") for h in c.hits])
        return self(lambda ctx: service.verify(ctx, number, cmd))

    def decide(self, number, state, decision="issue", grounds=(), **kw):
        cmd = S.DecisionIn(officer="enu.officer", state=state, decision=decision, grounds=list(grounds),
                           reason="assessed", **kw)
        return self(lambda ctx: service.decide(ctx, number, cmd))

    def ask(self, number, state, kind="information", **kw):
        cmd = S.InfoRequestIn(officer="enu.officer", state=state, kind=kind, text="proof of means of subsistence",
                              **kw)
        return self(lambda ctx: manual.request_information(ctx, number, cmd))

    def answer(self, number, request_id, document_number, **kw):
        cmd = S.AnswerIn(request_id=request_id, document_number=document_number, answer="attached",
                         documents=[S.DocumentIn(name="statement.pdf", media_type="application/pdf",
                                                 content_base64=PDF)], **kw)
        return self(lambda ctx: manual.answer(ctx, number, cmd))

    def advance(self, **kw):
        self.clock.advance(timedelta(**kw))


def problem(fn) -> Problem:
    with pytest.raises(Problem) as e:
        fn()
    return e.value


@pytest.fixture
def w(ees_engine):
    return World(ees_engine)


def background_yes():
    return {"conviction": {"answer": True, "when": "2019-05-01", "country": "USA"},
            "conflict_zone": {"answer": False}, "removal": {"answer": False}}


def test_a_request_for_information_answered_moves_the_deadline_and_an_unanswered_one_forces_refusal(w):
    out = w.submit(background=background_yes())
    assert out.status == service.MANUAL
    case = w.ask(out.number, "NLD")
    [req] = case.requests
    assert case.waiting_on == "applicant" and req.due_at == NOW + timedelta(days=10)
    # Not the unit responsible, nor a second request, nor a decision while the applicant has time.
    assert problem(lambda: w.ask(out.number, "DEU")).slug == "etias-not-responsible"
    assert problem(lambda: w.ask(out.number, "NLD")).slug == "etias-wrong-step"
    assert problem(lambda: w.decide(out.number, "NLD")).slug == "etias-wrong-step"
    # The applicant sees the question, and proves it is theirs by the document number.
    seen = w(lambda ctx: service.get(ctx, out.number))
    assert [r.id for r in seen.open_requests] == [req.id] and "10 days" in seen.notices[-1]
    doc = application()["document"]["number"]
    assert problem(lambda: w.answer(out.number, req.id, doc)).slug == "etias-not-the-applicant"
    w.advance(days=3)
    number_doc = w(lambda ctx: ctx.session.scalar(select(Application.document_number)
                                                  .where(Application.number == out.number)))
    answered = w.answer(out.number, req.id, number_doc)
    assert answered.decision_due == NOW + timedelta(days=3, hours=96) and answered.open_requests == []
    case = w.case(out.number)
    assert case.requests[0].status == "answered" and case.requests[0].documents == ["statement.pdf"]
    assert case.waiting_on == "national_unit"
    # An interview only after an answered request; it must be attended or the refusal follows.
    at = w.clock.now() + timedelta(days=2)
    case = w.ask(out.number, "NLD", kind="interview", interview_at=at, place="remote")
    interview = case.requests[-1]
    w.advance(days=2, hours=1)
    cmd = S.InterviewOutcomeIn(officer="enu.officer", state="NLD", attended=False, note="did not connect")
    w(lambda ctx: manual.interview_outcome(ctx, out.number, interview.id, cmd))
    e = problem(lambda: w.decide(out.number, "NLD"))
    assert e.slug == "etias-decision-not-allowed" and e.extensions["required_grounds"] == ["37(1)(g)"]
    refused = w.decide(out.number, "NLD", "refuse", ["37(1)(g)"])
    assert refused.status == "refused"

    # Unanswered for 10 days: lapsed; a late answer is refused; the decision must be 37(1)(f).
    other = w.submit(background=background_yes())
    req = w.ask(other.number, "NLD").requests[0]
    w.advance(days=10, minutes=1)
    e = problem(lambda: w.answer(other.number, req.id, "X"))
    assert e.slug == "etias-not-the-applicant"
    doc = w(lambda ctx: ctx.session.scalar(select(Application.document_number)
                                           .where(Application.number == other.number)))
    assert problem(lambda: w.answer(other.number, req.id, doc)).slug == "etias-reply-late"
    assert w.case(other.number).requests[0].status == "lapsed"
    e = problem(lambda: w.decide(other.number, "NLD"))
    assert e.extensions["required_grounds"] == ["37(1)(f)"]
    assert w.decide(other.number, "NLD", "refuse", ["37(1)(f)"]).status == "refused"


def test_a_document_that_is_not_what_it_says_is_refused_and_nothing_is_written(w):
    out = w.submit(background=background_yes())
    req = w.ask(out.number, "NLD").requests[0]
    doc = w(lambda ctx: ctx.session.scalar(select(Application.document_number)
                                           .where(Application.number == out.number)))
    bad = S.AnswerIn(request_id=req.id, document_number=doc, answer="x",
                     documents=[S.DocumentIn(name="a.pdf", media_type="application/pdf",
                                             content_base64=base64.b64encode(b"MZ not a pdf").decode())])
    assert problem(lambda: w(lambda ctx: manual.answer(ctx, out.number, bad))).slug == "invalid-input"
    assert w.case(out.number).requests[0].status == "open"


def test_consultations_run_60_hours_and_silence_is_a_positive_opinion(w):
    # Two Member States supplied the data behind the hits: the arrest alert's state is responsible
    # (Art. 25(1)(b)(i)), the other is consulted; Europol's watchlist entry brings Europol in.
    w.entry("sis_refusal", reference="SIS-R-9", supplied_by="DE", name="Kofi Mensah-Larbi", birth_date="1981-07-07")
    w.entry("sis_arrest", reference="SIS-A-9", supplied_by="FR", name="Kofi Mensah-Larbi", birth_date="1981-07-07")
    w.entry("watchlist", reference="WL-E-9", supplied_by="EUROPOL", name="Kwame Boateng",
            reason="suspected of trafficking")
    out = w.submit(person={"surname": "Mensah-Larbi", "given_names": "Kofi", "birth_date": "1981-07-07",
                           "other_names": ["Kwame Boateng"]})
    assert out.status == service.CENTRAL_UNIT
    # The refusal alert is only doubtful (not confirmed), so no Art. 26(3) refusal is forced.
    c = w.case(out.number)
    cmd = S.VerificationIn(officer="cu.officer", hits=[
        S.HitDecisionIn(id=h.id, outcome="doubt" if h.article == "20(2)(c)" else "confirmed", reason="r")
        for h in c.hits])
    case = w(lambda ctx: service.verify(ctx, out.number, cmd))
    assert case.responsible_state == "FRA"
    assert sorted(c.consulted for c in case.consultations) == ["DEU", "EUROPOL"]
    assert case.waiting_on == "consultation"
    assert problem(lambda: w.decide(out.number, "FRA")).slug == "etias-wrong-step"
    dead = {c.consulted: c for c in case.consultations}
    # Germany answers in time, negative, and asks for the second-line flag.
    w.advance(hours=20)
    op = S.OpinionIn(officer="de.enu", consulted="DEU", opinion="negative", reason="known to police",
                     second_line_check=True)
    case = w(lambda ctx: manual.opinion(ctx, out.number, dead["DEU"].id, op))
    assert {c.consulted: c.status for c in case.consultations} == {"DEU": "answered", "EUROPOL": "pending"}
    # Europol stays silent: after 60 hours its opinion is positive, and a late one is refused.
    w.advance(hours=40, minutes=1)
    case = w.case(out.number)
    assert {c.consulted: (c.status, c.opinion) for c in case.consultations}["EUROPOL"] == ("deemed_positive",
                                                                                         "positive")
    late = S.OpinionIn(officer="europol.x", consulted="EUROPOL", opinion="negative", reason="late")
    assert problem(lambda: w(lambda ctx: manual.opinion(ctx, out.number, dead["EUROPOL"].id, late))
                   ).slug == "etias-opinion-late"
    issued = w.decide(out.number, "FRA")
    assert issued.status == "issued" and issued.flags == ["second_line_check"]
    assert w(lambda ctx: manual.sweep(ctx)) == {"consultations_deemed_positive": 0, "requests_lapsed": 0}
    with w.engine.connect() as conn:
        ops = [r[0] for r in conn.execute(select(Log.operation).where(Log.application == out.number).order_by(Log.id))]
    assert ops[:3] == ["verification", "consult", "consult"] and ops[-2:] == ["opinion", "issue"]


def test_an_ltv_is_valid_only_where_it_was_issued(w):
    out = w.submit(background=background_yes())
    cmd = S.LtvIn(officer="nl.enu", state="NLD", ground="humanitarian", states=["NLD", "BEL"],
                  valid_from=NOW.date(), valid_until=NOW.date() + timedelta(days=30), reason="funeral")
    assert problem(lambda: w(lambda ctx: manual.issue_ltv(ctx, out.number, cmd))).extensions["missing"] == ["BEL"]
    cmd = cmd.model_copy(update={"consents": [S.LtvConsent(state="BEL", officer="be.enu")]})
    long = cmd.model_copy(update={"valid_until": NOW.date() + timedelta(days=120)})
    assert problem(lambda: w(lambda ctx: manual.issue_ltv(ctx, out.number, long))).slug == "invalid-input"
    case = w(lambda ctx: manual.issue_ltv(ctx, out.number, cmd))
    assert case.ltvs[0].states == ["NLD", "BEL"] and case.status == service.MANUAL  # processing goes on
    doc = w(lambda ctx: ctx.session.scalar(select(Application.document_number)
                                           .where(Application.number == out.number)))
    q = S.CarrierCheckIn(carrier="KL", document_number=doc, issuing_country="USA", nationality="USA",
                         travel_date=NOW.date() + timedelta(days=5), entry_state="BEL")
    ok = w(lambda ctx: service.carrier_check(ctx, q))
    assert ok.answer == "OK" and ok.ltv_states == ["NLD", "BEL"]
    no = w(lambda ctx: service.carrier_check(ctx, q.model_copy(update={"entry_state": "FRA"})))
    assert no.answer == "NOT_OK" and "not for FRA" in no.reason
    after = w(lambda ctx: service.carrier_check(ctx, q.model_copy(update={"travel_date": NOW.date() + timedelta(
        days=31)})))
    assert after.answer == "NOT_OK"


def test_monitoring_revocation_annulment_and_appeals(w):
    issued = w.submit(person={"surname": "Okonkwo", "given_names": "Chidi", "birth_date": "1990-01-15"})
    assert issued.status == "issued"
    # A new SIS refusal alert on the holder: the file goes to the alerting state's unit (Art. 41(3)).
    added = w.entry("sis_refusal", reference="SIS-R-77", supplied_by="DE", name="Chidi Okonkwo",
                    birth_date="1990-01-15")
    assert added.monitoring_hits == [issued.number]
    queue = w(lambda ctx: service.national_unit_queue(ctx, "DEU"))
    assert [c.number for c in queue] == [issued.number] and queue[0].hits[0].phase == "monitoring"
    revoke = S.WithdrawalIn(officer="de.enu", state="DEU", grounds=["37(2)"], reason="new alert")
    assert problem(lambda: w(lambda ctx: manual.withdraw(ctx, issued.number, revoke, "revoked"))
                   ).slug == "invalid-input"  # 37(2) is for annulment
    revoke = revoke.model_copy(update={"grounds": ["37(1)(e)"]})
    case = w(lambda ctx: manual.withdraw(ctx, issued.number, revoke, "revoked"))
    assert case.status == "revoked" and case.ended_grounds == ["37(1)(e)"] and case.review_state is None
    got = w(lambda ctx: service.get(ctx, issued.number))
    assert "revoked" in got.notices[-1] and "appeal in DEU" in got.notices[-1]
    doc = w(lambda ctx: ctx.session.scalar(select(Application.document_number)
                                           .where(Application.number == issued.number)))
    q = S.CarrierCheckIn(carrier="KL", document_number=doc, issuing_country="USA", nationality="USA",
                         travel_date=NOW.date(), entry_state="DEU")
    assert w(lambda ctx: service.carrier_check(ctx, q)).answer == "NOT_OK"
    # The appeal lies in Germany; upheld, the authorisation is valid again.
    wrong = S.AppealIn(officer="fr.enu", state="FRA", reference="TA-1", lodged_on=NOW.date())
    assert problem(lambda: w(lambda ctx: manual.record_appeal(ctx, issued.number, wrong))
                   ).slug == "etias-not-responsible"
    case = w(lambda ctx: manual.record_appeal(ctx, issued.number, wrong.model_copy(update={"state": "DEU"})))
    appeal = case.appeals[0]
    upheld = S.AppealOutcomeIn(officer="de.enu", state="DEU", outcome="upheld", decided_on=NOW.date(),
                               note="court annulled")
    case = w(lambda ctx: manual.appeal_outcome(ctx, issued.number, appeal.id, upheld))
    assert case.status == "issued" and case.appeals[0].outcome == "upheld"
    assert w(lambda ctx: service.carrier_check(ctx, q)).answer == "OK"
    # A watchlist entry of the Netherlands on the same person: kept after review, flagged hit assessed.
    w.entry("sis_refusal", reference="SIS-R-78", supplied_by="NL", name="Zanele Dube", birth_date="1975-05-05")
    kept = w.submit(person={"surname": "Mokoena", "given_names": "Thabo", "birth_date": "1980-02-02"})
    w.entry("watchlist", reference="WL-NL-1", supplied_by="NL", name="Thabo Mokoena", birth_date="1980-02-02",
            reason="suspected of fraud")
    assert problem(lambda: w.entry("watchlist", reference="WL-NL-2", supplied_by="NL", name="Zanele Dube",
                                   birth_date="1975-05-05", reason="x")).slug == "etias-watchlist-in-sis"
    review = S.ReviewIn(officer="nl.enu", state="NLD", reason="a namesake")
    assert problem(lambda: w(lambda ctx: manual.keep(ctx, kept.number, review.model_copy(
        update={"state": "DEU"})))).slug == "etias-not-responsible"
    case = w(lambda ctx: manual.keep(ctx, kept.number, review))
    assert case.review_state is None and "hit_assessed" in case.flags and case.hits[0].status == "discarded"
    # A lost document reported later; an annulment on doubts at the time (37(2)); own-request revocation.
    lost = w.submit()
    add = w.entry("sltd", reference="SLTD-5", supplied_by="INTERPOL", document_number=w(
        lambda ctx: ctx.session.scalar(select(Application.document_number).where(Application.number == lost.number))),
        document_country="USA")
    assert add.monitoring_hits == [lost.number]
    annul = S.WithdrawalIn(officer="nl.enu", state="NLD", grounds=["37(2)"], reason="forged documents")
    assert w(lambda ctx: manual.withdraw(ctx, lost.number, annul, "annulled")).status == "annulled"
    own = w.submit()
    doc = w(lambda ctx: ctx.session.scalar(select(Application.document_number).where(Application.number == own.number)))
    out = w(lambda ctx: manual.revoke_on_request(ctx, own.number, S.OwnRevocationIn(document_number=doc)))
    assert out.status == "revoked"
    no_appeal = S.AppealIn(officer="nl.enu", state="NLD", reference="TA-2", lodged_on=NOW.date())
    assert problem(lambda: w(lambda ctx: manual.record_appeal(ctx, own.number, no_appeal))).slug == "etias-wrong-step"


def test_an_upheld_appeal_against_a_refusal_reopens_manual_processing(w):
    out = w.submit(background=background_yes())
    w.decide(out.number, "NLD", "refuse", ["37(1)(b)"])
    case = w(lambda ctx: manual.record_appeal(ctx, out.number, S.AppealIn(officer="nl", state="NLD",
                                                                          reference="AWB 27/1", lodged_on=NOW.date())))
    w.advance(days=60)
    upheld = S.AppealOutcomeIn(officer="nl.enu", state="NLD", outcome="upheld", decided_on=w.clock.now().date(),
                               note="insufficient reasoning")
    case = w(lambda ctx: manual.appeal_outcome(ctx, out.number, case.appeals[0].id, upheld))
    assert case.status == service.MANUAL and case.due_at == w.clock.now() + timedelta(hours=96)
    assert w.decide(out.number, "NLD").status == "issued"


def test_a_watchlist_entry_states_its_impact_and_is_reviewed_yearly(w):
    for _ in range(3):
        w.submit(person={"surname": "Haddad", "given_names": "Youssef"})
    w.submit()
    out = w.entry("watchlist", reference="WL-EU-1", supplied_by="EUROPOL", name="Youssef Haddad",
                  reason="terrorist offence investigation")
    assert out.impact == {"applications_compared": 4, "would_hit": 3, "share": 0.75}
    assert problem(lambda: w.entry("watchlist", reference="WL-EU-1", supplied_by="EUROPOL", name="X Y",
                                   reason="r")).slug == "etias-list-entry-exists"
    assert problem(lambda: w.entry("watchlist", reference="WL-EU-2", supplied_by="EUROPOL", name="X Y")
                   ).slug == "invalid-input"  # no reason
    assert w(lambda ctx: lists.review_due(ctx)) == []
    w.advance(days=366)
    assert [e.reference for e in w(lambda ctx: lists.review_due(ctx))] == ["WL-EU-1"]
    w(lambda ctx: lists.review(ctx, "WL-EU-1"))
    assert w(lambda ctx: lists.review_due(ctx)) == []
    w(lambda ctx: lists.remove(ctx, "watchlist", "WL-EU-1"))
    assert problem(lambda: w(lambda ctx: lists.review(ctx, "WL-EU-1"))).slug == "etias-list-entry-not-found"


def test_retention_erases_files_when_their_time_ends(w):
    short = w.submit(document={"expires_on": "2027-06-30"})
    consented = w.submit(document={"expires_on": "2027-06-30"})
    doc = w(lambda ctx: ctx.session.scalar(select(Application.document_number)
                                           .where(Application.number == consented.number)))
    give = S.ConsentIn(document_number=doc, statement=S.ConsentIn.model_fields["statement"].annotation.__args__[0],
                       signature="sig-0123456789abcdef")
    w(lambda ctx: retention.consent(ctx, consented.number, give, True))
    refused = w.submit(background=background_yes())
    w.decide(refused.number, "NLD", "refuse", ["37(1)(b)"])
    # Refused on a watchlist entry that is later deleted: erased with it (Art. 54(1)(b)).
    w.entry("watchlist", reference="WL-X", supplied_by="NL", name="Olamide Adeyemi", reason="r")
    hit = w.submit(person={"surname": "Adeyemi", "given_names": "Olamide"})
    w.verify(hit.number)
    w.decide(hit.number, "NLD", "refuse", ["37(1)(b)"])
    assert w(lambda ctx: retention.purge(ctx)) == {"validity_ended": 0, "five_years_after_refusal": 0,
                                                   "source_data_deleted": 0}
    w(lambda ctx: lists.remove(ctx, "watchlist", "WL-X"))
    assert w(lambda ctx: retention.purge(ctx))["source_data_deleted"] == 1
    w.clock.set(datetime(2027, 7, 1, tzinfo=timezone.utc))
    assert w(lambda ctx: retention.purge(ctx))["validity_ended"] == 1
    with w.engine.connect() as conn:
        left = set(conn.execute(select(Application.number)).scalars())
    assert left == {consented.number, refused.number} and short.number not in left
    w.clock.set(datetime(2030, 6, 30, 12, tzinfo=timezone.utc))
    assert w(lambda ctx: retention.purge(ctx))["validity_ended"] == 0  # three years after, with consent
    w.clock.set(datetime(2030, 7, 1, tzinfo=timezone.utc))
    assert w(lambda ctx: retention.purge(ctx))["validity_ended"] == 1
    w.clock.set(datetime(2031, 12, 21, tzinfo=timezone.utc))
    assert w(lambda ctx: retention.purge(ctx)) == {"validity_ended": 0, "five_years_after_refusal": 1,
                                                   "source_data_deleted": 0}
    with w.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Application)) == 0
        erased = conn.execute(select(Log.detail).where(Log.operation == "erased")).scalars().all()
    assert sorted(d["why"] for d in erased) == ["five_years_after_refusal", "source_data_deleted",
                                                "validity_ended", "validity_ended"]


def test_statistics_count_without_identifying(w):
    for _ in range(6):
        w.submit()
    w.submit(person={"nationality": "CAN"}, document={"issuing_country": "CAN"})
    out = w.submit(background=background_yes())
    w.advance(hours=100)
    w.decide(out.number, "NLD", "refuse", ["37(1)(b)"])
    r = w(lambda ctx: statistics.report(ctx, date(2026, 12, 1), date(2026, 12, 31)))
    f = r.figures
    assert f["totals"]["applications"] == 8 and f["totals"]["decided"] == 8
    assert f["applications_by_nationality"] == {"CAN": None, "USA": 7}  # one Canadian: suppressed
    assert f["how_decided"] == {"decided_by_national_unit": None, "issued_automatically": 7}
    assert f["deadlines"] == {"decision_missed": 1}
    assert f["totals"]["manual_share"] == round(1 / 8, 4)
    with w.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Log)) >= 1


def test_every_notice_is_mailed_once_and_a_failed_send_stays_pending(w, tmp_path):
    import email

    from smartborders.etias import mailer

    out = w.submit(background=background_yes())
    folder = tmp_path / "outbox"
    assert mailer.drain(w.engine, mailer.to_folder(folder))["messages_sent"] == 2  # received, national unit
    assert mailer.drain(w.engine, mailer.to_folder(folder))["messages_sent"] == 0

    def broken(m):
        raise OSError("connection refused")

    w.decide(out.number, "NLD", "refuse", ["37(1)(b)"])
    r = mailer.drain(w.engine, broken)
    assert r["failed"] == 1 and "connection refused" in r["errors"][0]
    assert mailer.drain(w.engine, mailer.to_folder(folder))["messages_sent"] == 1
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 3
    last = email.message_from_bytes(files[-1].read_bytes())
    assert last["To"] == "ana.ramirez@example.org" and out.number in last["Subject"]
    assert "refused" in last.get_payload() and "appeal" in last.get_payload()
