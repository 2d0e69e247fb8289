"""ETIAS applications (Art. 15-19) on both databases: who may apply, admissibility, the fee, the file
and its number, links to earlier files, idempotent submission."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from smartborders.core.clock import FixedClock
from smartborders.core.errors import InvalidInput
from smartborders.ees.service import ClientIdReused, run
from smartborders.etias import schemas as S
from smartborders.etias import service
from tests.etias.factory import application, minor_birth_date

NOW = datetime(2026, 12, 20, 10, 0, tzinfo=timezone.utc)


def submit(engine, body, clock=None):
    cmd = S.ApplicationIn.model_validate(body)
    return run(engine, clock or FixedClock(NOW), lambda ctx: service.submit(ctx, cmd, ip_address="192.0.2.7"))


def test_an_admissible_application_gets_a_file_number_and_is_requested(ees_engine):
    out = submit(ees_engine, application())
    assert out.status == service.ISSUED and service.valid_number(out.number)
    assert out.fee_eur == "20.00" and out.linked_to == []
    assert "Art. 19(5)" in out.notices[0]
    again = run(ees_engine, FixedClock(NOW), lambda ctx: service.get(ctx, out.number), readonly=True)
    assert again == out


def test_a_replay_answers_the_first_file_and_a_reused_id_is_refused(ees_engine):
    body = application()
    first = submit(ees_engine, body)
    assert submit(ees_engine, body) == first
    other = application(client_id=body["client_id"], person={"surname": "Other"})
    with pytest.raises(ClientIdReused):
        submit(ees_engine, other)


def test_earlier_files_of_the_same_applicant_are_linked(ees_engine):
    a = submit(ees_engine, application(person={"surname": "Okafor", "given_names": "Chidi"}))
    b = submit(ees_engine, application(person={"surname": "OKAFOR", "given_names": "Chidi"},
                                       document={"number": "Z99887766"}))
    assert b.linked_to == [a.number]
    c = submit(ees_engine, application(person={"surname": "Okafor", "given_names": "Chidi", "birth_date": "1990-01-01"}))
    assert c.linked_to == []


@pytest.mark.parametrize(("over", "problem", "text"), [
    ({"person": {"nationality": "IND"}}, service.NoAuthorisationNeeded, "visa required"),
    ({"person": {"nationality": "DEU"}}, service.NoAuthorisationNeeded, "third-country"),
    ({"person": {"nationality": "SMR"}}, service.NoAuthorisationNeeded, "San Marino"),
    ({"payment": None}, service.FeeNotPaid, "EUR 20.00"),
    ({"payment": {"reference": "PAY-1", "amount_eur": "7.00"}}, service.FeeNotPaid, "the fee is EUR 20.00"),
    ({"document": {"issued_on": "2015-01-01", "expires_on": "2025-01-01"}}, service.DocumentExpired, "expired"),
    ({"person": {"birth_date": minor_birth_date(NOW.date())}}, service.GuardianMissing, "minor"),
    ({"background": {"conviction": {"answer": False}, "conflict_zone": {"answer": False}, "removal": None}},
     InvalidInput, "third background question"),
])
def test_inadmissible_applications_are_refused_with_the_reason_and_nothing_is_stored(ees_engine, over, problem,
                                                                                     text):
    body = application(**over)
    with pytest.raises(problem) as err:
        submit(ees_engine, body)
    assert text in err.value.detail
    # Nothing half-written: the same client id can be used for a corrected application.
    fixed = application(client_id=body["client_id"])
    assert submit(ees_engine, fixed).status == service.ISSUED


def test_no_fee_for_minors_the_elderly_and_family_members(ees_engine):
    minor = submit(ees_engine, application(
        person={"birth_date": minor_birth_date(NOW.date())}, payment=None,
        guardian={"surname": "Ramírez", "given_names": "Carlos", "address": "12 Elm Street", "email": "c@example.org"}))
    assert minor.fee_eur == "0.00" and "under 18" in minor.fee_reason
    elder = submit(ees_engine, application(person={"birth_date": "1950-01-01"}, payment=None))
    assert elder.fee_eur == "0.00" and "above 70" in elder.fee_reason
    family = submit(ees_engine, application(
        payment=None, background={"conviction": {"answer": False}, "conflict_zone": {"answer": False},
                                  "removal": None},
        family_member={"surname": "Jansen", "given_names": "Pieter", "birth_date": "1985-02-02",
                       "nationality": "NLD", "relationship": "spouse"}))
    assert family.fee_eur == "0.00" and "Art. 24" in family.fee_reason
    with pytest.raises(InvalidInput, match="nothing may be charged"):
        submit(ees_engine, application(person={"birth_date": "1950-01-01"}))


@pytest.mark.parametrize(("over", "where"), [
    ({"person": {"surname": "Иванов"}}, "surname"),  # Latin characters only (Art. 17(7))
    ({"job_group": "77"}, "job_group"),
    ({"first_member_state": "IRL"}, "first_member_state"),
    ({"declarations": {"data_true_and_complete": False, "aware_of_entry_conditions": True}}, "declarations"),
    ({"background": {"conviction": {"answer": True}, "conflict_zone": {"answer": False},
                     "removal": {"answer": False}}}, "when and in which country"),
    ({"document": {"issued_on": "2030-01-01", "expires_on": "2029-01-01"}}, "expires before"),
    ({"contact": {"email": "not-an-address"}}, "email"),
])
def test_the_form_is_checked_field_by_field(over, where):
    with pytest.raises(ValidationError) as err:
        S.ApplicationIn.model_validate(application(**over))
    assert where in str(err.value)
