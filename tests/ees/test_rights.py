"""Data-subject requests (EES Art. 52, 35): each kind through its path, identity proof, deadlines, trail."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from smartborders.core.errors import Conflict, InvalidInput
from smartborders.ees import rights as R
from smartborders.ees import service
from smartborders.ees.models import IndividualFile
from smartborders.ees.service import run
from tests.ees.factory import START, Traveller, client_id, clock

DAY = timedelta(days=1)


def enrolled(engine, c, bcp: str = "NL-AMS") -> Traveller:
    t = Traveller("USA")
    run(engine, c, lambda ctx: service.record_entry(ctx, t.entry(bcp=bcp)))
    return t


def proof(t: Traveller, **kw) -> R.ProofOfIdentity:
    base = {"document": t.document, "surname": t.identity.surname, "birth_date": t.identity.birth_date}
    base.update(kw)
    return R.ProofOfIdentity(**base)


def receive(engine, c, t: Traveller, kind: str = "access", by: str = "NLD", **kw) -> R.ReceiptOut:
    cmd = R.RequestIn(client_id=kw.pop("client_id", client_id()), kind=kind, received_by=by, authority="DPO-DESK",
                      person=kw.pop("person", None) or proof(t), **kw)
    return run(engine, c, lambda ctx: R.receive(ctx, cmd))


def answer(engine, c, request_id: str, state: str = "NLD", **kw) -> R.AnswerOut:
    cmd = R.AnswerIn(state=state, authority="DPO-DESK", decision=kw.pop("decision", "granted"), **kw)
    return run(engine, c, lambda ctx: R.answer(ctx, uuid.UUID(request_id), cmd))


def forward(engine, c, request_id: str, state: str = "DEU") -> R.RequestOut:
    cmd = R.ForwardIn(state=state, authority="DPO-DESK")
    return run(engine, c, lambda ctx: R.forward(ctx, uuid.UUID(request_id), cmd))


def get(engine, c, request_id: str) -> R.RequestOut:
    return run(engine, c, lambda ctx: R.get_request(ctx, uuid.UUID(request_id)), readonly=True)


def test_access_by_the_responsible_state_gives_the_data_without_biometrics(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c)
    rec = receive(ees_engine, c, t)
    r = rec.request
    assert (r.status, r.received_by, r.responsible_state, r.receiver_responsible) == ("received", "NLD", "NLD", True)
    assert r.answer_due == START.date() + 45 * DAY and r.check_due is None and r.contact_due is None
    assert "Netherlands" in rec.confirmation and r.answer_due.isoformat() in rec.confirmation
    assert "data protection supervisory authority" in rec.confirmation
    c.advance(3 * DAY)
    out = answer(ees_engine, c, r.id)
    assert out.request.status == "answered" and out.request.outcome == "data_provided"
    assert out.data is not None and out.data.surname == t.identity.surname and len(out.data.records) == 1
    assert "biometrics" not in out.data.model_dump() and "data held about you" in out.confirmation
    assert [e.step for e in out.request.trail] == ["received", "answered"]
    # The trail holds no personal data: no name, no document number.
    flat = str([e.model_dump() for e in out.request.trail])
    assert t.identity.surname not in flat and t.document.number not in flat


def test_identity_mismatch_and_unknown_document_get_the_same_answer(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c)
    with pytest.raises(R.IdentityNotProven) as wrong_name:
        receive(ees_engine, c, t, person=proof(t, surname="SOMEONEELSE"))
    with pytest.raises(R.IdentityNotProven) as wrong_birth:
        receive(ees_engine, c, t, person=proof(t, birth_date=date(1901, 1, 1)))
    other = Traveller("USA")  # never crossed
    with pytest.raises(R.IdentityNotProven) as unknown:
        receive(ees_engine, c, other)
    assert wrong_name.value.detail == wrong_birth.value.detail == unknown.value.detail
    assert wrong_name.value.extensions == unknown.value.extensions == {}
    n = run(ees_engine, c, lambda ctx: ctx.session.scalar(select(func.count()).select_from(R.DataSubjectRequest)))
    assert n == 0


def test_receipt_is_idempotent_by_client_id(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c)
    cid = client_id()
    first = receive(ees_engine, c, t, client_id=cid)
    c.advance(DAY)
    again = receive(ees_engine, c, t, client_id=cid)
    assert again.request.id == first.request.id and again.confirmation == first.confirmation
    with pytest.raises(Conflict):
        receive(ees_engine, c, t, kind="erasure", client_id=cid)


def test_rectification_applies_the_change_and_keeps_the_cir_in_step(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c)
    r = receive(ees_engine, c, t, kind="rectification", changes=R.Changes(surname="CORRECTED", sex="F")).request
    assert r.changes == {"surname": "CORRECTED", "sex": "F"}
    out = answer(ees_engine, c, r.id)
    assert out.request.outcome == "rectified" and sorted(out.changed) == ["sex", "surname"]
    f = run(ees_engine, c, lambda ctx: service.search(ctx, service.S.SearchRequest(document=t.document))).file
    assert (f.surname, f.sex) == ("CORRECTED", "F")


def test_completion_fills_gaps_and_never_overwrites(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c)
    r = receive(ees_engine, c, t, kind="completion",
                changes=R.Changes(surname="OTHER", other_nationalities=["CAN"])).request
    out = answer(ees_engine, c, r.id)
    assert out.request.outcome == "completed" and out.changed == ["other_nationalities"]
    f = run(ees_engine, c, lambda ctx: service.search(ctx, service.S.SearchRequest(document=t.document))).file
    assert f.surname == t.identity.surname and f.other_nationalities == ["CAN"]


def test_rectification_needs_changes_and_access_takes_none(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c)
    with pytest.raises(InvalidInput):
        receive(ees_engine, c, t, kind="rectification")
    with pytest.raises(InvalidInput):
        receive(ees_engine, c, t, kind="access", changes=R.Changes(sex="F"))


def test_erasure_really_erases_and_the_request_outlives_the_file(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c)
    r = receive(ees_engine, c, t, kind="erasure").request
    with pytest.raises(InvalidInput):
        answer(ees_engine, c, r.id)  # the basis is required
    out = answer(ees_engine, c, r.id, erasure_basis="residence_permit")
    assert out.request.outcome == "erased" and out.erased["records"] == 1
    assert run(ees_engine, c, lambda ctx: ctx.session.scalar(select(func.count()).select_from(IndividualFile))) == 0
    assert get(ees_engine, c, r.id).trail[-1].note == "file erased, basis residence_permit"
    with pytest.raises(R.IdentityNotProven):
        receive(ees_engine, c, t)


def test_restriction_is_recorded(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c)
    r = receive(ees_engine, c, t, kind="restriction").request
    out = answer(ees_engine, c, r.id)
    assert out.request.outcome == "restricted" and "restricted" in out.confirmation
    restricted = run(ees_engine, c, lambda ctx: R.restricted_files(ctx), readonly=True)
    file_id = run(ees_engine, c, lambda ctx: ctx.session.scalar(select(IndividualFile.id)), readonly=True)
    assert restricted == {file_id}


def test_rejection_gives_reasons_and_the_right_to_complain(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c)
    r = receive(ees_engine, c, t, kind="erasure").request
    with pytest.raises(InvalidInput):
        answer(ees_engine, c, r.id, decision="rejected")
    out = answer(ees_engine, c, r.id, decision="rejected", reasons="The retention period has not ended.")
    assert out.request.status == "rejected" and out.request.reasons == "The retention period has not ended."
    assert "The retention period has not ended." in out.confirmation
    assert "complaint with the data protection supervisory authority of Netherlands" in out.confirmation
    with pytest.raises(R.WrongStep):
        answer(ees_engine, c, r.id)


def test_non_responsible_state_forwards_within_7_days_and_the_responsible_checks_within_30(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c, bcp="NL-AMS")
    rec = receive(ees_engine, c, t, by="DEU")
    r = rec.request
    assert (r.responsible_state, r.receiver_responsible) == ("NLD", False)
    assert r.contact_due == START.date() + 7 * DAY and r.check_due == START.date() + 30 * DAY
    assert "entered by Netherlands" in rec.confirmation and "Germany" in rec.confirmation
    with pytest.raises(R.WrongState):
        forward(ees_engine, c, r.id, state="NLD")
    with pytest.raises(R.WrongState):
        answer(ees_engine, c, r.id, state="NLD")  # not yet contacted: the receiver answers
    c.advance(6 * DAY)
    f = forward(ees_engine, c, r.id, state="DEU")
    assert f.status == "forwarded" and f.forwarded_check_due == START.date() + 36 * DAY
    assert "late" not in f.trail[-1].note
    with pytest.raises(R.WrongStep):
        forward(ees_engine, c, r.id, state="DEU")
    with pytest.raises(R.WrongState):
        answer(ees_engine, c, r.id, state="DEU")
    c.advance(31 * DAY)  # day 37: past the responsible state's 30 days
    assert get(ees_engine, c, r.id).overdue == ["responsible_check"]
    out = answer(ees_engine, c, r.id, state="NLD")
    assert out.request.answered_by == "NLD" and out.request.overdue == []
    assert "late: responsible_check" in out.request.trail[-1].note
    assert [e.step for e in out.request.trail] == ["received", "forwarded", "answered"]
    assert [e.state for e in out.request.trail] == ["DEU", "DEU", "NLD"]


def test_forwarding_after_7_days_is_marked_late(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c)
    r = receive(ees_engine, c, t, by="FRA").request
    c.advance(8 * DAY)
    f = forward(ees_engine, c, r.id, state="FRA")
    assert "late: contact was due by" in f.trail[-1].note


def test_the_responsible_receiver_cannot_forward(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c)
    r = receive(ees_engine, c, t, by="NLD").request
    with pytest.raises(R.WrongStep):
        forward(ees_engine, c, r.id, state="NLD")


def test_receiver_checking_itself_is_overdue_after_30_days_and_everything_after_45(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c)
    r = receive(ees_engine, c, t, by="DEU").request
    c.advance(30 * DAY)
    assert get(ees_engine, c, r.id).overdue == []
    c.advance(DAY)
    assert get(ees_engine, c, r.id).overdue == ["check"]
    c.advance(15 * DAY)  # day 46
    assert get(ees_engine, c, r.id).overdue == ["check", "answer"]
    listed = run(ees_engine, c, lambda ctx: R.list_requests(ctx, state="DEU", only_overdue=True), readonly=True)
    assert [x.id for x in listed] == [r.id]


def test_overdue_after_45_days_for_the_responsible_state(ees_engine):
    c = clock()
    t = enrolled(ees_engine, c)
    r = receive(ees_engine, c, t).request
    c.advance(45 * DAY)
    assert get(ees_engine, c, r.id).overdue == []
    assert run(ees_engine, c, lambda ctx: R.list_requests(ctx, only_overdue=True), readonly=True) == []
    c.advance(DAY)
    assert get(ees_engine, c, r.id).overdue == ["answer"]
    out = answer(ees_engine, c, r.id)
    assert out.request.overdue == [] and out.request.trail[-1].note.endswith("late: answer")
