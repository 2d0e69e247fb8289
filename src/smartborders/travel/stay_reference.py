"""The 90/180 rule read word for word, one day at a time: the oracle the fast calculator is tested
and benchmarked against. Deliberately naive: sets of days, a loop per day, no cleverness.

SBC Art. 6(1)-(2): a day of presence is an overstay day when the 180 days ending on it hold more
than 90 days of presence; entry and exit days count; residence-permit and long-stay-visa days do not.
"""

from __future__ import annotations

from datetime import date, timedelta

DAY = timedelta(days=1)


def presence(stays: list[tuple[date, date]]) -> set[date]:
    days: set[date] = set()
    for entry, exit_ in stays:
        d = entry
        while d <= exit_:
            days.add(d)
            d += DAY
    return days


def used(days: set[date], on: date) -> int:
    return sum(1 for i in range(180) if on - i * DAY in days)


def overstay_days(days: set[date]) -> list[date]:
    return sorted(d for d in days if used(days, d) > 90)


def max_stay(days: set[date], start: date) -> int:
    """Longest continuous stay from `start` (counting it) with no day over 90."""
    stay = set(days)
    n = 0
    d = start
    while True:
        stay.add(d)
        if used(stay, d) > 90:
            return n
        n += 1
        d += DAY


def next_entry(days: set[date], on: date, last_exit: date | None) -> tuple[date, int]:
    d = on if last_exit is None or last_exit < on else last_exit + DAY
    while used(days | {d}, d) > 90:
        d += DAY
    return d, max_stay(days, d)


def assess(stays: list[tuple[date, date]], on: date, mode: str = "check") -> dict:
    """`max_stay_days` counts the date itself, except for a planned entry on the day the last stay
    ends (the day is already counted; the plan counts only the days after it)."""
    days = presence(stays)
    over = overstay_days(days)
    periods: list[list[date]] = []
    for d in over:
        if periods and periods[-1][1] + DAY == d:
            periods[-1][1] = d
        else:
            periods.append([d, d])
    k = max_stay(days, on)
    last_exit = max((e for _, e in stays), default=None)
    n = k - 1 if mode == "plan" and last_exit == on and k > 0 else k
    nx, nk = next_entry(days, on, last_exit)
    return {
        "days_used": used(days, on),
        "overstay_periods": [tuple(p) for p in periods],
        "max_stay_days": n,
        "latest_exit": on + (k - 1) * DAY if n else None,
        "next_entry": (nx, nk),
    }
