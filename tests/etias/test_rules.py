"""ETIAS who-must-apply (Art. 2), fee (Art. 18) and validity (Art. 36)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartborders.etias.rules import ETIAS_COUNTRIES, FEE, Ground, Holdings, fee, required, valid_until
from smartborders.reference.policy import VisaPolicy, codes


@pytest.mark.parametrize(("nationality", "holds", "needed", "ground"), [
    ("USA", Holdings(), True, Ground.VISA_EXEMPT),
    ("GBR", Holdings(), True, Ground.VISA_EXEMPT),
    ("GBR", Holdings(withdrawal_agreement_beneficiary=True), False, Ground.WITHDRAWAL_AGREEMENT),
    ("JPN", Holdings(residence_permit=True), False, Ground.RESIDENCE_PERMIT),
    ("BRA", Holdings(uniform_visa=True), False, Ground.UNIFORM_VISA),
    ("USA", Holdings(family_member_of_union_citizen=True), True, Ground.FAMILY_MEMBER),
    ("DEU", Holdings(), False, Ground.NOT_THIRD_COUNTRY),
    ("IRL", Holdings(), False, Ground.NOT_THIRD_COUNTRY),
    ("AND", Holdings(), False, Ground.MICROSTATE),
    ("VAT", Holdings(), False, Ground.MICROSTATE),
    ("IND", Holdings(), False, Ground.VISA_REQUIRED),
    ("SYR", Holdings(refugee_travel_document_of="DEU"), False, Ground.REFUGEE_TRAVEL_DOCUMENT),
    ("SYR", Holdings(refugee_travel_document_of="GBR"), False, Ground.VISA_REQUIRED),
])
def test_who_must_apply(nationality, holds, needed, ground):
    r = required(nationality, holds)
    assert (r.required, r.ground) == (needed, ground)
    assert "Art." in r.explanation or "Annex" in r.explanation


def test_every_visa_exempt_nationality_must_apply_and_no_visa_required_one_may():
    assert all(required(c).required for c in codes(VisaPolicy.VISA_EXEMPT))
    assert not any(required(c).required for c in codes(VisaPolicy.VISA_REQUIRED))
    assert len(ETIAS_COUNTRIES) == 30 and "IRL" not in ETIAS_COUNTRIES


@pytest.mark.parametrize(("born", "applied", "amount"), [
    (date(2008, 12, 1), date(2026, 11, 30), Decimal("0.00")),  # 17
    (date(2008, 11, 30), date(2026, 11, 30), FEE),  # 18 today
    (date(1956, 11, 30), date(2026, 11, 30), FEE),  # 70 today: not yet above 70
    (date(1956, 11, 29), date(2026, 11, 30), Decimal("0.00")),  # 70 and a day
    (date(1980, 1, 1), date(2026, 11, 30), FEE),
])
def test_the_fee_by_age_at_application(born, applied, amount):
    assert fee(born, applied)[0] == amount


@given(born=st.dates(date(1900, 1, 1), date(2026, 1, 1)), applied=st.dates(date(2026, 1, 1), date(2030, 1, 1)))
def test_the_fee_is_either_twenty_euros_or_waived_with_a_reason(born, applied):
    amount, why = fee(born, applied)
    age = applied.year - born.year - ((applied.month, applied.day) < (born.month, born.day))
    assert amount in (FEE, Decimal("0.00"))
    seventieth_birthday = age == 70 and (applied.month, applied.day) == (born.month, born.day)
    assert (amount == FEE) == (18 <= age < 70 or seventieth_birthday)
    assert ("waived" in why) == (amount == 0)
    assert fee(born, applied, family_member=True)[0] == 0


@given(issued=st.dates(date(2026, 1, 1), date(2035, 1, 1)), days=st.integers(0, 3000))
def test_validity_is_three_years_or_the_document_whichever_ends_first(issued, days):
    expiry = issued + timedelta(days=days)
    until = valid_until(issued, expiry)
    assert until <= expiry and until <= issued + timedelta(days=3 * 366)
    assert until == expiry or (until - issued).days >= 3 * 365


def test_the_transitional_and_grace_periods_of_art_83():
    from smartborders.etias.rules import Period, Periods

    p = Periods(date(2026, 12, 31))
    assert (p.optional_until, p.grace_until) == (date(2027, 6, 30), date(2027, 12, 30))
    assert [p.on(d) for d in (date(2026, 12, 30), date(2026, 12, 31), date(2027, 6, 29), date(2027, 6, 30),
                              date(2027, 12, 29), date(2027, 12, 30))] == [
        Period.NOT_STARTED, Period.OPTIONAL, Period.OPTIONAL, Period.GRACE, Period.GRACE, Period.FULL]
    extended = Periods(date(2026, 12, 31), optional_months=12)
    assert extended.on(date(2027, 9, 1)) is Period.OPTIONAL
