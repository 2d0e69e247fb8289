"""The vectorised sweep agrees with the calculator traveller by traveller (EES Art. 12)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartborders.core.errors import InvalidInput
from smartborders.travel.stay import assess
from smartborders.travel.sweep import OPEN, day_number, overstay_sweep

ON = date(2026, 11, 29)


def to_arrays(travellers: list[list[tuple[date, date | None]]]):
    t, en, ex = [], [], []
    for i, stays in enumerate(travellers):
        for a, b in stays:
            t.append(i)
            en.append(day_number(a))
            ex.append(OPEN if b is None else day_number(b))
    return np.array(t, dtype=np.int32), np.array(en, dtype=np.int32), np.array(ex, dtype=np.int32)


@st.composite
def traveller(draw):
    out: list[tuple[date, date | None]] = []
    cursor = ON - timedelta(days=draw(st.integers(0, 500)))
    for i in range(draw(st.integers(0, 6))):
        entry = cursor + timedelta(days=draw(st.integers(0, 90)) if out else 0)
        if entry > ON:
            break
        if draw(st.integers(0, 4)) == 0:
            out.append((entry, None))  # still inside, no exit recorded
            break
        exit_ = min(entry + timedelta(days=draw(st.integers(0, 120))), ON)
        out.append((entry, exit_))
        cursor = exit_
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(traveller(), min_size=1, max_size=40), st.sampled_from([1, 3, 1 << 20]), st.sampled_from([1, 2]))
def test_sweep_equals_the_calculator(travellers, chunk_rows, threads):
    t, en, ex = to_arrays(travellers)
    result = overstay_sweep(t, en, ex, ON, len(travellers), chunk_rows=chunk_rows, threads=threads)
    for i, stays in enumerate(travellers):
        closed = [(a, b if b is not None else ON) for a, b in stays]
        expected = assess(closed, ON, "check")
        assert result.days_used[i] == expected.days_used
        is_present = bool(closed) and closed[-1][1] == ON
        assert result.present[i] == is_present
        # Overstaying on the sweep day: present and the sweep day is an overstay day.
        assert result.overstaying[i] == (is_present and expected.days_used > 90)
        if result.overstaying[i]:
            assert expected.overstay_periods[-1][1] == ON


def test_an_open_stay_past_90_days_is_found():
    t, en, ex = to_arrays([
        [(ON - timedelta(days=95), None)],  # 96 days in: overstaying
        [(ON - timedelta(days=89), None)],  # 90 days in: last lawful day
        [(ON - timedelta(days=200), ON - timedelta(days=100))],  # left long ago
    ])
    result = overstay_sweep(t, en, ex, ON)
    assert result.overstayers().tolist() == [0]
    assert result.days_over().tolist() == [6, 0, 0]


@pytest.mark.parametrize(
    "t, en, ex, message",
    [
        ([1, 0], [0, 0], [1, 1], "sorted by traveller"),
        ([0, 0], [10, 5], [20, 8], "overlaps"),
        ([0], [10], [5], "exit before its entry"),
        ([0, 0], [0, 5], [10, 20], "overlaps"),
    ],
)
def test_bad_arrays_are_refused(t, en, ex, message):
    with pytest.raises(InvalidInput, match=message):
        overstay_sweep(np.array(t, np.int32), np.array(en, np.int32), np.array(ex, np.int32), ON)
