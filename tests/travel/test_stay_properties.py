"""Property tests: the fast calculator agrees with the day-by-day reading of the law on any history."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from smartborders.travel import stay_reference as ref
from smartborders.travel.stay import MAX_DAYS, assess

DAY = timedelta(days=1)


@st.composite
def histories(draw, max_stays: int = 10, max_len: int = 120):
    """Chronological stays; a gap of 0 is an exit and re-entry on the same day, 1 is adjacent days."""
    start = draw(st.dates(min_value=date(2013, 1, 1), max_value=date(2030, 12, 31)))
    out = []
    cursor = start
    for _ in range(draw(st.integers(0, max_stays))):
        gap = draw(st.one_of(st.sampled_from([0, 1, 2]), st.integers(0, 400)))
        entry = cursor + gap * DAY if out else cursor
        exit_ = entry + draw(st.integers(0, max_len)) * DAY
        out.append((entry, exit_))
        cursor = exit_
    on = cursor + draw(st.one_of(st.just(0), st.integers(0, 250))) * DAY
    return out, on


@settings(max_examples=300, deadline=None)
@given(histories(), st.sampled_from(["check", "plan"]))
def test_agrees_with_the_day_by_day_model(case, mode):
    stays, on = case
    fast = assess(stays, on, mode)
    slow = ref.assess(stays, on, mode)
    assert fast.days_used == slow["days_used"]
    assert list(fast.overstay_periods) == slow["overstay_periods"]
    assert fast.max_stay_days == slow["max_stay_days"]
    assert fast.latest_exit == slow["latest_exit"]
    assert (fast.next_entry.date, fast.next_entry.max_stay_days) == slow["next_entry"]


@settings(max_examples=200, deadline=None)
@given(histories())
def test_staying_until_the_latest_exit_is_lawful_and_one_day_more_is_not(case):
    stays, on = case
    plan = assess(stays, on, "plan")
    if plan.max_stay_days == 0:
        return
    before = set(plan.overstay_periods)
    history = stays + [(on, plan.latest_exit)] if not stays or stays[-1][1] < on else stays[:-1] + [
        (stays[-1][0], plan.latest_exit)
    ]
    # The stay itself adds no overstay day ...
    assert set(assess(history, plan.latest_exit, "check").overstay_periods) == before
    if plan.max_stay_days < MAX_DAYS:
        # ... and one day more is the first overstay day of that stay.
        longer = history[:-1] + [(history[-1][0], plan.latest_exit + DAY)]
        after = assess(longer, plan.latest_exit + DAY, "check")
        assert after.overstay_periods[-1][1] == plan.latest_exit + DAY
    assert plan.max_stay_days <= MAX_DAYS


@settings(max_examples=200, deadline=None)
@given(histories())
def test_next_entry_is_the_earliest_possible(case):
    stays, on = case
    result = assess(stays, on, "plan")
    nx = result.next_entry
    assert nx.date >= on and nx.max_stay_days >= 1
    if stays:
        assert nx.date > stays[-1][1]
    earlier = nx.date - DAY
    if earlier >= on and (not stays or earlier > stays[-1][1]):
        assert assess(stays, earlier, "plan").max_stay_days == 0


@settings(max_examples=200, deadline=None)
@given(histories(), st.integers(1, 60))
def test_more_presence_never_allows_more(case, extra):
    stays, on = case
    base = assess(stays, on + (extra + 1) * DAY, "plan")
    if stays:
        # Lengthen the last stay: the allowance can only shrink.
        grown = stays[:-1] + [(stays[-1][0], stays[-1][1] + extra * DAY)]
        more = assess(grown, on + (extra + 1) * DAY, "plan")
        assert more.max_stay_days <= base.max_stay_days
        assert more.days_used >= base.days_used


@settings(max_examples=100, deadline=None)
@given(histories(max_stays=6))
def test_order_of_the_input_does_not_matter(case):
    stays, on = case
    assert assess(list(reversed(stays)), on) == assess(stays, on)
