"""The synthetic population: deterministic, valid passports, the intended nationality mix."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest

from smartborders.reference.policy import in_ees_scope
from smartborders.sim.population import (
    NATIONALITY_CODES,
    NATIONALITY_WEIGHTS,
    SEX_CODES,
    from_day_number,
    generate_population,
    name_banks,
)
from smartborders.travel.mrz import parse_mrz

ON = date(2026, 11, 29)
COLUMNS = ("nationality", "sex", "birth", "surname", "given", "given2", "serial", "expiry")


def test_the_same_seed_gives_the_same_population_and_another_seed_another():
    a, b, c = (generate_population(500, seed=s, on=ON) for s in (7, 7, 8))
    for col in COLUMNS:
        assert np.array_equal(getattr(a, col), getattr(b, col)), col
    assert a.series == b.series != c.series
    assert not np.array_equal(a.serial, c.serial)
    assert a.mrz(3) == b.mrz(3)


def test_every_passport_has_a_valid_td3_mrz_that_reads_back_as_generated():
    p = generate_population(400, seed=1, on=ON)
    for i in range(len(p)):
        r = parse_mrz(p.mrz(i), today=ON)
        assert r.valid, (i, r.errors, r.details)
        ident, doc = p.identity(i), p.document(i)
        assert r.format == "TD3" and r.document_type == "P"
        if len(ident.surname) + 2 + len(ident.given_names) <= 39:
            assert (r.surname, r.given_names) == (ident.surname, ident.given_names)
        else:  # Doc 9303 Part 3 truncation: given names first
            assert ident.surname.startswith(r.surname) or r.surname == ident.surname
        assert (r.document_number, r.issuing_state) == (doc.number, doc.issuing_state)
        assert r.expiry_date == doc.expiry_date
        assert (r.nationality, r.birth_date, r.sex) == (ident.nationality, ident.birth_date, ident.sex)


def test_nationality_shares_are_near_the_weights():
    n = 200_000
    p = generate_population(n, seed=2, on=ON)
    share = np.bincount(p.nationality, minlength=len(NATIONALITY_CODES)) / n
    tolerance = 5 * np.sqrt(NATIONALITY_WEIGHTS * (1 - NATIONALITY_WEIGHTS) / n)
    assert (np.abs(share - NATIONALITY_WEIGHTS) <= tolerance).all()
    assert 0.15 < p.visa_required.mean() < 0.3


def test_only_nationalities_the_ees_registers():
    assert all(in_ees_scope(c) for c in NATIONALITY_CODES)


def test_names_are_a_to_z_and_passport_numbers_unique_per_issuing_state():
    for bank in name_banks():
        assert all(re.fullmatch(r"[A-Z]+( [A-Z]+)*", n) for n in bank.tolist())
    p = generate_population(50_000, seed=3, on=ON)
    numbers = np.array(p.document_numbers())
    pairs = np.char.add(np.char.add(numbers, ":"), p.codes)
    assert np.unique(pairs).size == len(p)
    assert all(re.fullmatch(r"[A-Z]{2}\d{7}", x) for x in numbers[:1000].tolist())


def test_dates_and_sex_are_plausible():
    p = generate_population(20_000, seed=4, on=ON)
    ages = (ON - np.vectorize(from_day_number)(p.birth[:2000])).astype("timedelta64[D]").astype(int) / 365.25
    assert ages.min() >= 0 and ages.max() < 90
    assert (p.expiry > (ON - date(1970, 1, 1)).days).all()  # valid after the reference day
    assert {SEX_CODES[s] for s in np.unique(p.sex)} <= {"M", "F", "X"}
    assert 0.4 < (p.sex == 1).mean() < 0.56


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_populations(n):
    assert len(generate_population(n, seed=1, on=ON)) == n
