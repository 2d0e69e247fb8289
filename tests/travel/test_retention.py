"""EES Art. 34 retention: worked dates, and properties over any file history."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from smartborders.travel.retention import (
    Cutoffs,
    Plan,
    RecordDates,
    Rule,
    add_months,
    add_years,
    erasure_plan,
    file_erasure_date,
    file_erasure_date_after,
    kept_until,
    last_exit_or_refusal,
    latest_due,
    log_erasure_date,
    overstayer_notice_date,
    record_erasure_date,
    record_rule,
    refusal_erasure_date,
)

DAY = timedelta(days=1)
D = date.fromisoformat


# ---- worked dates --------------------------------------------------------------------------------


@pytest.mark.parametrize("start, years, last_day", [
    pytest.param("2026-05-10", 3, "2029-05-10", id="same-date-3-years-later"),
    pytest.param("2028-02-29", 3, "2031-02-28", id="29-feb-to-28-feb-reg-1182-71-art-3-2-c"),
    pytest.param("2027-02-28", 3, "2030-02-28", id="28-feb-stays-28-feb"),
    pytest.param("2028-02-29", 4, "2032-02-29", id="29-feb-to-29-feb-in-a-leap-year"),
    pytest.param("2026-12-31", 1, "2027-12-31", id="year-end"),
])
def test_kept_until_counts_calendar_years(start, years, last_day):
    assert kept_until(D(start), years) == D(last_day)


@pytest.mark.parametrize("record, erased_from, rule", [
    pytest.param(RecordDates(D("2026-04-10"), D("2026-05-10"), D("2026-07-08")), "2029-05-11", Rule.EXIT,
                 id="34-1-exit-plus-3-years"),
    pytest.param(RecordDates(D("2028-02-01"), D("2028-02-29"), D("2028-04-30")), "2031-03-01", Rule.EXIT,
                 id="34-1-exit-on-29-feb-kept-through-28-feb"),
    pytest.param(RecordDates(D("2026-04-10"), None, D("2026-07-08")), "2031-07-09", Rule.OVERSTAY,
                 id="34-3-no-exit-5-years-after-the-authorised-stay"),
    pytest.param(RecordDates(D("2026-04-10"), D("2026-06-01"), None, True), "2027-06-02", Rule.FAMILY_EXIT,
                 id="34-4-family-member-1-year-after-exit"),
    pytest.param(RecordDates(D("2028-01-10"), D("2028-02-29"), None, True), "2029-03-01", Rule.FAMILY_EXIT,
                 id="34-4-family-member-exit-on-29-feb"),
    pytest.param(RecordDates(D("2026-04-10"), None, None, True), "2031-04-11", Rule.FAMILY_NO_EXIT,
                 id="34-4-family-member-no-exit-5-years-after-entry"),
    pytest.param(RecordDates(D("2026-04-10"), None, None, False), "2031-04-11", Rule.FAMILY_NO_EXIT,
                 id="no-authorised-stay-no-exit-as-34-4"),
    pytest.param(RecordDates(D("2026-04-10"), D("2031-01-05"), D("2026-07-08")), "2034-01-06", Rule.EXIT,
                 id="34-1-overstayer-who-exits-counts-from-the-exit"),
])
def test_record_erasure_dates(record, erased_from, rule):
    assert record_rule(record) is rule
    assert record_erasure_date(record) == D(erased_from)


def test_refusal_file_notice_and_log_dates():
    assert refusal_erasure_date(D("2026-04-10")) == D("2029-04-11")  # 34(1)
    assert file_erasure_date_after(D("2026-04-10")) == D("2029-04-12")  # 34(2): kept 3 years and 1 day
    assert file_erasure_date_after(D("2028-02-29")) == D("2031-03-02")  # 28 Feb 2031 + 1 day kept
    assert overstayer_notice_date(D("2026-07-08")) == D("2031-04-09")  # 34(3): erased 2031-07-09
    assert overstayer_notice_date(D("2026-05-30")) == D("2031-02-28")  # erased 2031-05-31: no 31 Feb
    assert log_erasure_date(D("2029-05-11")) == D("2030-05-11")  # Art. 46(4): one year past the period


def test_add_months_clamps_to_the_month_end():
    assert add_months(D("2031-05-31"), -3) == D("2031-02-28")
    assert add_months(D("2032-05-31"), -3) == D("2032-02-29")
    assert add_months(D("2026-11-30"), 3) == D("2027-02-28")
    assert add_years(D("2028-02-29"), -1) == D("2027-02-28")


def test_file_date_runs_from_the_last_exit_or_refusal():
    recs = [RecordDates(D("2026-04-10"), D("2026-04-20"), D("2026-07-08")),
            RecordDates(D("2027-01-05"), D("2027-01-15"), D("2027-04-04"))]
    assert last_exit_or_refusal(recs, [D("2026-12-01")]) == D("2027-01-15")
    assert file_erasure_date(recs, [D("2026-12-01")]) == D("2030-01-17")
    assert last_exit_or_refusal(recs, [D("2027-03-01")]) == D("2027-03-01")
    assert file_erasure_date(recs, [D("2027-03-01")]) == D("2030-03-03")
    assert file_erasure_date([], []) is None


def test_an_open_record_keeps_the_file_by_its_own_rule():
    recs = [RecordDates(D("2026-04-10"), D("2026-04-20"), D("2026-07-08")),
            RecordDates(D("2027-01-05"), None, D("2027-04-04"))]  # overstayer since 2027-04-05
    assert file_erasure_date(recs, []) == D("2032-04-05")


def test_family_member_file_goes_with_its_last_record():
    recs = [RecordDates(D("2026-04-10"), D("2026-05-01"), None, True)]
    assert file_erasure_date(recs, []) == D("2027-05-02")
    assert erasure_plan(recs, [], D("2027-05-01")) == Plan(False, (None,), ())
    assert erasure_plan(recs, [], D("2027-05-02")) == Plan(True, (Rule.FILE,), ())


def test_the_last_exit_stays_with_the_file_one_day_longer():
    recs = [RecordDates(D("2026-04-10"), D("2026-04-20"), D("2026-07-08")),
            RecordDates(D("2026-06-01"), D("2026-06-10"), D("2026-07-08"))]
    assert erasure_plan(recs, [], D("2029-04-20")) == Plan(False, (None, None), ())
    assert erasure_plan(recs, [], D("2029-04-21")) == Plan(False, (Rule.EXIT, None), ())  # 34(1)
    assert erasure_plan(recs, [], D("2029-06-11")) == Plan(False, (Rule.EXIT, None), ())  # kept with the file
    assert erasure_plan(recs, [], D("2029-06-12")) == Plan(True, (Rule.FILE, Rule.FILE), ())  # 34(2)


def test_the_last_exit_goes_by_34_1_while_an_open_record_keeps_the_file():
    recs = [RecordDates(D("2026-04-10"), D("2026-04-20"), D("2026-07-08")),
            RecordDates(D("2027-01-05"), None, D("2027-04-04"))]
    assert erasure_plan(recs, [], D("2029-04-21")) == Plan(False, (Rule.EXIT, None), ())


def test_cutoffs_on_a_day():
    c = Cutoffs.on(D("2029-05-11"))
    assert c.exit == D("2026-05-10")
    assert c.file_last == D("2026-05-09")
    assert c.overstay_until == D("2024-05-10")
    assert c.family_exit == D("2028-05-10")
    assert c.family_entry == D("2024-05-10")
    # 29 Feb: exits on 28 and 29 Feb 2028 are both kept through 28 Feb 2031, due from 1 March.
    assert Cutoffs.on(D("2031-02-28")).exit == D("2028-02-27")
    assert Cutoffs.on(D("2031-03-01")).exit == D("2028-02-29")


# ---- properties ----------------------------------------------------------------------------------

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@st.composite
def histories(draw):
    """A file's records and refusals as the use cases make them: stays do not overlap, at most the
    last has no exit; refusals fall between stays or while a record has no exit."""
    cursor = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)))
    records: list[RecordDates] = []
    refusals: list[date] = []
    for _ in range(draw(st.integers(0, 6))):
        cursor += draw(st.one_of(st.just(0), st.integers(0, 60), st.integers(0, 1500))) * DAY
        if draw(st.integers(0, 3)) == 0:
            refusals.append(cursor)
            continue
        family = draw(st.integers(0, 4)) == 0
        until = None if family else cursor + draw(st.integers(-1, 89)) * DAY
        if draw(st.integers(0, 5)) == 0:
            records.append(RecordDates(cursor, None, until, family))
            for _ in range(draw(st.integers(0, 2))):  # refused later: the exit was never recorded
                refusals.append(cursor + draw(st.integers(0, 3000)) * DAY)
            break
        exit_ = cursor + draw(st.one_of(st.integers(0, 90), st.integers(0, 2000))) * DAY
        records.append(RecordDates(cursor, exit_, until, family))
        cursor = exit_
    assume(records or refusals)
    return records, sorted(refusals)


def _apply(records, refusals, plan):
    if plan.file:
        return None
    return ([r for r, rule in zip(records, plan.records) if rule is None],
            [d for d, rule in zip(refusals, plan.refusals) if rule is None])


def _start(r: RecordDates) -> tuple[date, int]:
    rule = record_rule(r)
    if rule is Rule.EXIT:
        return r.exit_date, 3
    if rule is Rule.FAMILY_EXIT:
        return r.exit_date, 1
    if rule is Rule.OVERSTAY:
        return r.authorised_until, 5
    return r.entry_date, 5


@settings(max_examples=400, deadline=None)
@given(st.builds(RecordDates, dates, st.one_of(st.none(), dates), st.one_of(st.none(), dates), st.booleans()))
def test_no_record_is_due_before_its_legal_period(r):
    start, years = _start(r)
    erased = record_erasure_date(r)
    assert erased == kept_until(start, years) + DAY
    assert years * 365 + 1 <= (erased - start).days <= years * 366 + 1
    assert kept_until(start, years) >= start + timedelta(days=years * 365 - 1)


@settings(max_examples=400, deadline=None)
@given(dates)
def test_a_refusal_and_a_file_are_never_due_before_their_periods(d):
    assert (refusal_erasure_date(d) - d).days >= 3 * 365 + 1
    assert file_erasure_date_after(d) == kept_until(d, 3) + 2 * DAY
    assert file_erasure_date_after(d) > refusal_erasure_date(d)
    n = overstayer_notice_date(d)
    erased = record_erasure_date(RecordDates(d, None, d))
    assert add_months(n, 3) <= erased and 89 <= (erased - n).days <= 92
    assert log_erasure_date(erased) > erased


@settings(max_examples=500, deadline=None)
@given(dates, st.integers(-4000, 4000))
def test_cutoffs_select_exactly_the_due_dates(as_of, offset):
    c = Cutoffs.on(as_of)
    d = as_of - timedelta(days=abs(offset))
    assert (refusal_erasure_date(d) <= as_of) == (d <= c.exit)
    assert (file_erasure_date_after(d) <= as_of) == (d <= c.file_last)
    assert (record_erasure_date(RecordDates(d, None, d)) <= as_of) == (d <= c.overstay_until)
    assert (record_erasure_date(RecordDates(d, d, None, True)) <= as_of) == (d <= c.family_exit)
    assert (record_erasure_date(RecordDates(d, None, None, True)) <= as_of) == (d <= c.family_entry)
    assert (overstayer_notice_date(d) <= as_of) == (d <= c.notice_until)
    assert c.file_last <= c.exit < c.family_exit and c.overstay_until < c.notice_until < c.exit


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 12 * 300))
def test_latest_due_works_for_any_monotone_period(months):
    as_of = date(2031, 3, 1)

    def f(d: date) -> date:
        return add_months(d, months) + DAY

    cut = latest_due(f, as_of)
    assert f(cut) <= as_of < f(cut + DAY)


@settings(max_examples=600, deadline=None)
@given(histories(), st.integers(0, 4000))
def test_nothing_is_erased_before_its_own_date_and_the_file_date_bounds_its_rows(h, offset):
    records, refusals = h
    f = file_erasure_date(records, refusals)
    assert f is not None
    assert all(record_erasure_date(r) <= f for r in records)
    assert all(refusal_erasure_date(d) < f for d in refusals)
    as_of = min([r.entry_date for r in records] + refusals) + timedelta(days=offset)
    plan = erasure_plan(records, refusals, as_of)
    assert plan.file == (f <= as_of)
    for r, rule in zip(records, plan.records):
        if rule is not None:
            assert record_erasure_date(r) <= as_of
            assert rule is Rule.FILE or rule is record_rule(r)
    for d, rule in zip(refusals, plan.refusals):
        if rule is not None:
            assert refusal_erasure_date(d) <= as_of


@settings(max_examples=600, deadline=None)
@given(histories(), st.integers(0, 4000), st.integers(0, 4000))
def test_purging_often_or_seldom_erases_the_same(h, a, b):
    """Path independence: purge on d1 then on d2 keeps exactly what one purge on d2 keeps; never an
    empty file; and a row erased on d1 would be erased on any later day."""
    records, refusals = h
    first = min([r.entry_date for r in records] + refusals)
    d1, d2 = first + timedelta(days=min(a, b)), first + timedelta(days=max(a, b))
    p1 = erasure_plan(records, refusals, d1)
    p2 = erasure_plan(records, refusals, d2)
    once = _apply(records, refusals, p2)
    after1 = _apply(records, refusals, p1)
    if after1 is not None:
        assert after1[0] or after1[1], "a purge never leaves a file that holds nothing"
        twice = _apply(*after1, erasure_plan(*after1, d2))
    else:
        twice = None
    assert twice == once
    assert _apply(*after1, erasure_plan(*after1, d1)) == after1 if after1 is not None else True  # idempotent
    for r1, r2 in zip(p1.records + p1.refusals, p2.records + p2.refusals):
        assert r1 is None or r2 is not None


@settings(max_examples=400, deadline=None)
@given(histories(), st.integers(0, 3 * 365), st.one_of(st.none(), st.integers(0, 90)), st.integers(0, 89))
def test_a_new_entry_within_3_years_keeps_the_file(h, gap, length, stay):
    records, refusals = h
    assume(not records or records[-1].exit_date is not None)
    last = last_exit_or_refusal(records, refusals)
    assume(last is not None)
    entry = last + timedelta(days=gap)
    assume(entry <= kept_until(last, 3))
    exit_ = None if length is None else entry + timedelta(days=length)
    assume(exit_ is None or exit_ > last)  # an exit on the last day itself is the last exit: nothing new
    newer = RecordDates(entry, exit_, entry + timedelta(days=stay))
    without = file_erasure_date(records, refusals)
    with_entry = file_erasure_date([*records, newer], refusals)
    assert with_entry > file_erasure_date_after(last)
    assert with_entry >= without
    assert not erasure_plan([*records, newer], refusals, file_erasure_date_after(last)).file
