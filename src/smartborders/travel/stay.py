"""The 90/180 rule: authorised short stay in the Schengen area (SBC Art. 6, EES Art. 11).

SBC Art. 6(1): no more than 90 days in any 180-day period, "which entails considering the 180-day
period preceding each day of stay". SBC Art. 6(2): the entry day and the exit day both count;
stays under a residence permit or a long-stay visa do not. A day of exit and re-entry is one day
of presence, so days are a set, not a sum.

Definitions used throughout (spec/ees.md §3.3):
- window(d) = [d-179, d], 180 calendar days including d;
- used(d) = days of presence in window(d);
- a day of presence d is an overstay day when used(d) > 90.

During an uninterrupted presence used(d) never decreases (each new day adds one, and at most one
old day leaves the window), so every question below is a binary search over a monotone count,
and each count is a popcount of a 180-bit slice of a presence bitmap. That keeps one check of a
ten-stay history in microseconds (bench/) while staying an exact reading of the rule; the tests
hold it against a day-by-day model written straight from the text (`stay_reference.py`).

Pure: no clock, no I/O. Dates are calendar dates (the local date at the crossing point).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from smartborders.core.errors import InvalidInput

WINDOW_DAYS = 180
MAX_DAYS = 90
_WINDOW_MASK = (1 << WINDOW_DAYS) - 1
_BEFORE_MASK = (1 << (WINDOW_DAYS - 1)) - 1  # the 179 days before a day, without the day itself
_CONTINUATION = (1 << MAX_DAYS) - 1
# A continuous stay can never exceed 90 days, and 90 days of absence clear any history, so every
# search below is bounded; the range guards keep date arithmetic away from date.min/date.max.
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)


class Mode(StrEnum):
    CHECK = "check"  # the traveller is present on the date (the last stay may end on it) and stays on
    PLAN = "plan"  # a planned entry on the date


class StayBasis(StrEnum):
    SHORT_STAY = "short_stay"
    RESIDENCE_PERMIT = "residence_permit"  # not counted: SBC Art. 6(2)
    LONG_STAY_VISA = "long_stay_visa"  # not counted: SBC Art. 6(2)


class StayInputError(InvalidInput):
    slug = "invalid-stays"
    title = "The stays are not consistent"


@dataclass(frozen=True, slots=True)
class Stay:
    """One stay [entry, exit], both days included (SBC Art. 6(2))."""

    entry: date
    exit: date
    basis: StayBasis = StayBasis.SHORT_STAY
    visa: str | None = None  # sticker number of the short-stay visa the stay was made on


@dataclass(frozen=True, slots=True)
class Visa:
    """A uniform short-stay visa as far as the stay calculation needs it (EES Art. 16(2)(d)-(e))."""

    sticker: str
    valid_from: date
    valid_until: date
    duration_days: int  # "duration of stay ... days" on the sticker
    entries: int | None = None  # 1 or 2; None for a multiple-entry visa

    def __post_init__(self) -> None:
        if self.valid_until < self.valid_from:
            raise StayInputError(f"visa {self.sticker}: valid until {self.valid_until} is before valid from")
        if not 1 <= self.duration_days <= MAX_DAYS:
            raise StayInputError(f"visa {self.sticker}: duration of stay must be 1..90 days")
        if self.entries is not None and self.entries not in (1, 2):
            raise StayInputError(f"visa {self.sticker}: entries must be 1, 2 or multiple (None)")


@dataclass(frozen=True, slots=True)
class NextEntry:
    date: date
    max_stay_days: int


@dataclass(frozen=True, slots=True)
class VisaAssessment:
    """What the visa allows beside the 90/180 rule (EES Art. 11(2)(a), 11(3); spec §3.4)."""

    sticker: str
    entries_used: int
    entries_used_up: bool  # Art. 11(2)(a): the entries of a single/double-entry visa are used
    days_used: int  # days of stay already made on this visa, before the date
    days_remaining: int  # of the visa's duration of stay, from the date on
    valid_on_date: bool
    max_stay_days: int  # what the visa alone allows from the date


@dataclass(frozen=True, slots=True)
class Window:
    """One 180-day window and the presence that fills it: the reason behind an answer."""

    day: date
    days: int
    periods: tuple[tuple[date, date], ...]  # presence inside the window, clipped to it
    assumed_from: date | None = None  # presence from here on is assumed (the stay being asked about)

    @property
    def start(self) -> date:
        return self.day - timedelta(days=WINDOW_DAYS - 1)

    def describe(self) -> str:
        parts = []
        for first, last in self.periods:
            n = (last - first).days + 1
            tag = " (assumed stay)" if self.assumed_from is not None and first >= self.assumed_from else ""
            parts.append(f"{first} – {last} ({n} day{'s' if n != 1 else ''}){tag}")
        filled = "; ".join(parts) if parts else "no days"
        return f"the window {self.start} – {self.day} holds {self.days} days: {filled}"


@dataclass(frozen=True, slots=True)
class StayVerdict:
    """One recorded stay and its overstay, if any (EES Art. 11(2)(c): on exit, any overstay)."""

    entry: date
    exit: date
    counted: bool
    first_overstay_day: date | None
    overstay_days: int


@dataclass(frozen=True, slots=True)
class StayAssessment:
    """The answer of the calculator for one date, with what it needs to explain itself."""

    date: date
    mode: Mode
    rule_applies: bool
    days_used: int
    overstay_periods: tuple[tuple[date, date], ...]
    max_stay_days: int | None
    latest_exit: date | None
    next_entry: NextEntry | None
    limited_by: str | None  # "rule", "visa_duration", "visa_validity", "visa_entries"
    visa: VisaAssessment | None
    _spans: tuple[tuple[int, int], ...] = field(repr=False, compare=False)
    _first_free: date | None = field(default=None, repr=False, compare=False)
    _rows: tuple[tuple[int, int, bool, str | None, int], ...] = field(default=(), repr=False, compare=False)
    _already_in: bool = field(default=False, repr=False, compare=False)

    def per_stay(self) -> list[StayVerdict]:
        """Every stay in date order with its first overstay day and number of overstay days."""
        periods = [(a.toordinal(), b.toordinal()) for a, b in self.overstay_periods]
        out = []
        for s, e, counted, _, _ in self._rows:
            first, n = None, 0
            if counted:
                for a, b in periods:
                    lo, hi = max(a, s), min(b, e)
                    if lo <= hi:
                        first = first if first is not None else lo
                        n += hi - lo + 1
            out.append(StayVerdict(
                date.fromordinal(s), date.fromordinal(e), counted,
                date.fromordinal(first) if first is not None else None, n,
            ))
        return out

    @property
    def overstay(self) -> bool:
        return bool(self.overstay_periods)

    @property
    def first_overstay_day(self) -> date | None:
        return self.overstay_periods[0][0] if self.overstay_periods else None

    @property
    def overstay_days(self) -> int:
        """All overstay days on record (the Commission calculator's "(N days)" summed over stays)."""
        return sum((b - a).days + 1 for a, b in self.overstay_periods)

    @property
    def days_over_limit(self) -> int:
        """used(date) - 90 over the window ending on the date (spec §3.3 reading (i))."""
        return max(0, self.days_used - MAX_DAYS)

    def window(self, day: date, *, assume_from: date | None = None) -> Window:
        """The window ending on `day`, optionally with continuous presence assumed from `assume_from`."""
        return _window(self._spans, day, assume_from)

    def reasons(self) -> list[tuple[str, Window]]:
        """The windows that decide the answer, each with what it decides:
        ("overstay", the window of each first overstay day), ("latest_exit", the window of the first
        day the rule would be broken by staying on), ("next_entry", the window of the day before the
        next possible entry, which an entry on that day would push over 90)."""
        if not self.rule_applies:
            return []
        out = [("overstay", self.window(first)) for first, _ in self.overstay_periods]
        span = (self.max_stay_days or 0) + (1 if self._already_in else 0)  # days counting the date
        if self.limited_by == "rule" and span < MAX_DAYS:
            breaking = self.date + timedelta(days=span)
            out.append(("latest_exit", self.window(breaking, assume_from=self.date)))
        ne = self.next_entry
        if ne is not None and self._first_free is not None and ne.date > self._first_free:
            prev = ne.date - timedelta(days=1)
            out.append(("next_entry", self.window(prev, assume_from=prev)))
        return out

    def explanation(self) -> str:
        return _explain(self)


def assess(
    stays: Sequence[Stay | tuple[date, date]],
    on: date,
    mode: Mode | str = Mode.CHECK,
    *,
    visa: Visa | None = None,
    family_member: bool = False,
) -> StayAssessment:
    """EES Art. 11: the maximum authorised stay, overstays on record and the next possible entry.

    `check`: the traveller is present on `on` and stays on (Art. 11(2)(b)-(c)); `plan`: an entry is
    planned on `on` (Art. 11(2)(a), (d)). Planned future trips are ordinary stays before `on`.
    `family_member`: a family member of an EU citizen without a residence card, to whom the
    calculator does not apply (Art. 11(1)); their presence is still counted, nothing is limited.
    """
    mode = _mode(mode)
    prepared, runs, last_exit = _prepare(stays, on, mode)
    D = on.toordinal()
    spans = tuple((s, e) for s, e in runs)

    base = min(runs[0][0], D) - WINDOW_DAYS if runs else D - WINDOW_DAYS
    mask = 0
    total = 0
    for s, e in runs:
        mask |= ((1 << (e - s + 1)) - 1) << (s - base)
        total += e - s + 1

    days_used = ((mask >> (D - WINDOW_DAYS + 1 - base)) & _WINDOW_MASK).bit_count()

    if family_member:
        return StayAssessment(
            date=on, mode=mode, rule_applies=False, days_used=days_used, overstay_periods=(),
            max_stay_days=None, latest_exit=None, next_entry=None, limited_by=None, visa=None,
            _spans=spans,
        )

    periods: list[tuple[date, date]] = []
    if total > MAX_DAYS:
        # used() only grows during a run of presence, so a run has an overstay iff its last day does.
        lo = 1 - WINDOW_DAYS - base
        for s, e in spans:
            if ((mask >> (e + lo)) & _WINDOW_MASK).bit_count() > MAX_DAYS:
                first = s + bisect_right(
                    range(s, e + 1), MAX_DAYS, key=lambda d: ((mask >> (d + lo)) & _WINDOW_MASK).bit_count()
                )
                periods.append((date.fromordinal(first), date.fromordinal(e)))

    rule_max = _max_stay(mask, base, D)

    first_free = D if last_exit is None else max(D, last_exit + 1)
    before = lambda x: -((mask >> (x - WINDOW_DAYS + 1 - base)) & _BEFORE_MASK).bit_count()  # noqa: E731
    offset = bisect_left(range(first_free, first_free + WINDOW_DAYS + 1), -(MAX_DAYS - 1), key=before)
    nx = first_free + offset
    next_entry = NextEntry(date.fromordinal(nx), rule_max if nx == D else _max_stay(mask, base, nx))

    max_stay = rule_max
    limited_by = "rule"
    visa_assessment = None
    if visa is not None:
        visa_assessment = _assess_visa(visa, prepared, D, mode)
        if visa_assessment.max_stay_days < max_stay:
            max_stay = visa_assessment.max_stay_days
            if mode is Mode.PLAN and visa_assessment.entries_used_up:
                limited_by = "visa_entries"
            elif not visa_assessment.valid_on_date or (
                visa.valid_until.toordinal() - D + 1 == visa_assessment.max_stay_days
            ):
                limited_by = "visa_validity"
            else:
                limited_by = "visa_duration"

    # `max_stay` counts the date itself. A planned entry on the day the last stay ends is a re-entry
    # on a day already counted, so the plan counts only the days after it (as the Commission's
    # calculator does); the last lawful day is the same either way.
    already_in = mode is Mode.PLAN and last_exit == D
    days = max_stay - 1 if already_in and max_stay > 0 else max_stay
    return StayAssessment(
        date=on,
        mode=mode,
        rule_applies=True,
        days_used=days_used,
        overstay_periods=tuple(periods),
        max_stay_days=days,
        latest_exit=date.fromordinal(D + max_stay - 1) if days > 0 else None,
        next_entry=next_entry,
        limited_by=limited_by,
        visa=visa_assessment,
        _spans=spans,
        _first_free=date.fromordinal(first_free),
        _rows=tuple(prepared),
        _already_in=already_in,
    )


def _max_stay(mask: int, base: int, start: int, limit: int = MAX_DAYS) -> int:
    """Days of continuous stay possible from `start` (counting it) before some day's 180-day window
    holds more than `limit` days (90: SBC Art. 6(1); less for a visa's shorter duration of stay)."""
    cont = mask | ((_CONTINUATION if limit == MAX_DAYS else (1 << limit) - 1) << (start - base))
    lo = start - WINDOW_DAYS + 1 - base
    return bisect_right(
        range(limit), limit, key=lambda j: ((cont >> (lo + j)) & _WINDOW_MASK).bit_count()
    )


def _mode(mode: Mode | str) -> Mode:
    try:
        return Mode(mode)
    except ValueError:
        raise StayInputError(f"unknown mode {mode!r}: use 'check' or 'plan'") from None


_FIRST, _LAST = EARLIEST.toordinal(), LATEST.toordinal()


def _row_order(row: tuple[int, int, bool, str | None, int]) -> tuple[int, int, int]:
    return row[0], row[1], row[4]


def _prepare(
    stays: Sequence[Stay | tuple[date, date]], on: date, mode: Mode
) -> tuple[list[tuple[int, int, bool, str | None, int]], list[list[int]], int | None]:
    """Validate and order the stays. Returns the rows (entry, exit, counted, visa, input number) as
    ordinals, the runs of consecutive counted days, and the last exit."""
    if not isinstance(on, date) or not EARLIEST <= on <= LATEST:
        raise StayInputError(f"the date must be a calendar date between {EARLIEST} and {LATEST}, got {on!r}")
    D = on.toordinal()
    rows: list[tuple[int, int, bool, str | None, int]] = []
    for n, stay in enumerate(stays, start=1):
        if type(stay) is tuple and len(stay) == 2:
            entry, exit_ = stay
            counted, visa = True, None
        elif isinstance(stay, Stay):
            entry, exit_, counted, visa = stay.entry, stay.exit, stay.basis is StayBasis.SHORT_STAY, stay.visa
        else:
            try:
                entry, exit_ = stay  # type: ignore[misc]
            except (TypeError, ValueError):
                raise StayInputError(f"stay {n}: expected an (entry, exit) pair, got {stay!r}") from None
            counted, visa = True, None
        if not (isinstance(entry, date) and isinstance(exit_, date)):
            raise StayInputError(f"stay {n}: entry and exit must be dates, got {entry!r} and {exit_!r}")
        s, e = entry.toordinal(), exit_.toordinal()
        if s < _FIRST or e > _LAST or e < _FIRST or s > _LAST:
            raise StayInputError(f"stay {n}: dates must lie between {EARLIEST} and {LATEST}")
        if e < s:
            raise StayInputError(f"stay {n}: exit {exit_} is before entry {entry}")
        if e > D:
            where = (
                "in check mode the last stay may end on the check date at the latest"
                if mode is Mode.CHECK
                else "a planned entry must come after every recorded or planned stay"
            )
            raise StayInputError(f"stay {n} ({entry} – {exit_}) ends after {on}: {where}")
        rows.append((s, e, counted, visa, n))
    rows.sort(key=_row_order)
    runs: list[list[int]] = []
    prev: tuple[int, int, bool, str | None, int] | None = None
    for row in rows:
        s, e, counted = row[0], row[1], row[2]
        # An exit and a re-entry on the same day is allowed: that day counts once.
        if prev is not None and s < prev[1]:
            a, b = sorted((prev[4], row[4]))
            raise StayInputError(
                f"stays {a} and {b} overlap: {date.fromordinal(prev[0])} – {date.fromordinal(prev[1])} and "
                f"{date.fromordinal(s)} – {date.fromordinal(e)}"
            )
        prev = row
        if counted:
            if runs and s <= runs[-1][1] + 1:
                runs[-1][1] = e
            else:
                runs.append([s, e])
    return rows, runs, (prev[1] if prev is not None else None)


def _assess_visa(
    visa: Visa, prepared: list[tuple[int, int, bool, str | None, int]], D: int, mode: Mode
) -> VisaAssessment:
    """Spec §3.4: the visa caps the rule by its validity, its duration of stay and its entries.

    On a single- or double-entry visa the duration of stay is a total over the visa's validity. On a
    multiple-entry visa it counts "in any 180-day period" like the rule itself (Visa Code Annex VII
    point 4; spec §3.4), so it caps only when shorter than 90 days, rolling the same way."""
    mine = [(r[0], r[1]) for r in prepared if r[3] == visa.sticker]
    entries_used = len(mine)
    used_up = visa.entries is not None and entries_used >= visa.entries
    base = min(mine[0][0], D) - WINDOW_DAYS if mine else D - WINDOW_DAYS
    vmask = 0
    for s, e in mine:
        e = min(e, D - 1)
        if e >= s:
            vmask |= ((1 << (e - s + 1)) - 1) << (s - base)
    valid = visa.valid_from.toordinal() <= D <= visa.valid_until.toordinal()
    if visa.entries is None:
        days_used = ((vmask >> (D - WINDOW_DAYS + 1 - base)) & _WINDOW_MASK).bit_count()
        remaining = max(0, visa.duration_days - days_used)
        by_duration = _max_stay(vmask, base, D, visa.duration_days)
    else:
        days_used = vmask.bit_count()
        remaining = max(0, visa.duration_days - days_used)
        by_duration = remaining
    allowed = min(by_duration, visa.valid_until.toordinal() - D + 1) if valid else 0
    if mode is Mode.PLAN and used_up:
        allowed = 0
    return VisaAssessment(
        sticker=visa.sticker,
        entries_used=entries_used,
        entries_used_up=used_up,
        days_used=days_used,
        days_remaining=remaining,
        valid_on_date=valid,
        max_stay_days=allowed,
    )


def _window(spans: Sequence[tuple[int, int]], day: date, assume_from: date | None) -> Window:
    d = day.toordinal()
    lo = d - WINDOW_DAYS + 1
    runs = [(max(s, lo), min(e, d)) for s, e in spans if e >= lo and s <= d]
    if assume_from is not None and assume_from <= day:
        # Kept apart from the recorded runs, so the reader sees which days are assumed.
        a = assume_from.toordinal()
        runs = [(s, min(e, a - 1)) for s, e in runs if s < a]
        runs.append((a, d))
    days = sum(e - s + 1 for s, e in runs)
    return Window(
        day=day,
        days=days,
        periods=tuple((date.fromordinal(s), date.fromordinal(e)) for s, e in runs),
        assumed_from=assume_from,
    )


def _explain(a: StayAssessment) -> str:
    lines: list[str] = []
    start = a.date - timedelta(days=WINDOW_DAYS - 1)
    what = "Check" if a.mode is Mode.CHECK else "Planned entry"
    lines.append(
        f"{what} on {a.date}: {a.days_used} day(s) of recorded presence in the 180-day window "
        f"{start} – {a.date} (the limit is 90)."
    )
    if not a.rule_applies:
        lines.append(
            "The 90/180 rule does not apply: family member of an EU citizen without a residence card "
            "(EES Art. 11(1), Directive 2004/38/EC)."
        )
        return "\n".join(lines)
    if a.overstay_periods:
        for first, last in a.overstay_periods:
            n = (last - first).days + 1
            w = a.window(first)
            lines.append(
                f"Overstay from {first} to {last} ({n} day(s)): on {first} {w.describe()}."
            )
    else:
        lines.append("No overstay on record.")
    if a.visa is not None:
        v = a.visa
        lines.append(
            f"Visa {v.sticker}: {v.entries_used} entr{'y' if v.entries_used == 1 else 'ies'} used"
            f"{' (all entries used)' if v.entries_used_up else ''}, {v.days_used} day(s) of its duration used, "
            f"{v.days_remaining} left; {'valid' if v.valid_on_date else 'not valid'} on {a.date}."
        )
    assert a.max_stay_days is not None
    if a._already_in:
        lines.append(
            f"The last stay ends on {a.date}, so a re-entry that day continues a counted day: "
            f"{a.max_stay_days} further day(s) after {a.date}"
            + (f", until {a.latest_exit} at the latest" if a.latest_exit else "")
            + _limit_reason(a) + "."
        )
    elif a.max_stay_days > 0:
        verb = "may stay" if a.mode is Mode.CHECK else "may be authorised to stay"
        lines.append(
            f"The traveller {verb} {a.max_stay_days} day(s) from {a.date} (counting it), "
            f"until {a.latest_exit} at the latest" + _limit_reason(a) + "."
        )
    else:
        lines.append(f"No stay can be authorised from {a.date}" + _limit_reason(a) + ".")
    for kind, w in a.reasons():
        if kind == "latest_exit":
            lines.append(f"Staying on {w.day} would break the rule: {w.describe()}.")
    if a.next_entry is not None and not (a.mode is Mode.CHECK and a.next_entry.date == a.date):
        ne = a.next_entry
        lines.append(f"Next possible entry: {ne.date}, for up to {ne.max_stay_days} day(s) of stay.")
        for kind, w in a.reasons():
            if kind == "next_entry":
                lines.append(f"An entry one day earlier, on {w.day}, would break the rule: {w.describe()}.")
    return "\n".join(lines)


def _limit_reason(a: StayAssessment) -> str:
    return {
        "rule": " (the 90/180 rule)",
        "visa_duration": " (the visa's duration of stay)",
        "visa_validity": " (the visa's period of validity)",
        "visa_entries": " (the visa's entries are used up)",
    }.get(a.limited_by or "", "")
