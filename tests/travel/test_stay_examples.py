"""The 90/180 rule against worked examples (spec/ees.md §6.D-E); each id names its source."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from smartborders.travel.stay import (
    Mode,
    Stay,
    StayBasis,
    StayInputError,
    Visa,
    assess,
)


def d(s: str) -> date:
    day, month, year = s.split(".")
    return date(int(year), int(month), int(day))


def stays(spec: str) -> list[tuple[date, date]]:
    out = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        a, b = part.split("–")
        out.append((d(a), d(b)))
    return out


# (id, stays, mode, date, expected fields)
EXAMPLES = [
    ("D1 rorycl/timeaway example_test.go", "01.01.2022–01.01.2022; 06.01.2023–07.02.2023; "
     "11.02.2023–04.04.2023; 10.06.2023–14.06.2023", "check", "14.06.2023",
     {"days_used": 91, "first_overstay_day": d("14.06.2023"), "overstay_periods": [(d("14.06.2023"), d("14.06.2023"))]}),
    ("D2 nerfologist eu-oracle", "01.04.2026–30.05.2026", "plan", "15.06.2026", {"max_stay_days": 30}),
    ("D3 nerfologist roll-off during the stay", "20.12.2025–18.01.2026", "plan", "10.06.2026",
     {"max_stay_days": 90, "latest_exit": d("07.09.2026")}),
    ("D4 nerfologist", "06.04.2026–30.05.2026; 20.08.2026–29.08.2026", "plan", "01.10.2026", {"max_stay_days": 80}),
    ("D5 nerfologist 90 in, then out", "10.06.2026–07.09.2026", "plan", "08.09.2026",
     {"max_stay_days": 0, "latest_exit": None, "next_entry": (d("07.12.2026"), 90)}),
    ("D6 nerfologist adjacent stays", "01.07.2026–10.07.2026; 11.07.2026–20.07.2026", "plan", "01.08.2026",
     {"max_stay_days": 70}),
    ("D7 dev.to why180", "19.04.2014–21.04.2014; 18.06.2014–11.09.2014", "check", "11.09.2014",
     {"days_used": 89, "overstay": False, "latest_exit": d("12.09.2014"), "max_stay_days": 2}),
    ("E1 same-day entry and exit is one day", "15.01.2024–15.01.2024", "plan", "20.01.2024",
     {"days_used": 1, "max_stay_days": 89}),
    ("E2 exit and re-entry on one day counts once", "01.07.2026–10.07.2026; 10.07.2026–20.07.2026", "check",
     "20.07.2026", {"days_used": 20, "overstay": False, "latest_exit": d("28.09.2026"), "max_stay_days": 71}),
    ("E3 leap year, exactly 90", "01.01.2024–30.03.2024", "check", "30.03.2024",
     {"days_used": 90, "overstay": False, "max_stay_days": 1, "latest_exit": d("30.03.2024"),
      "next_entry": (d("29.06.2024"), 90)}),
    ("E4 leap year, 91", "01.01.2024–31.03.2024", "check", "31.03.2024",
     {"days_used": 91, "first_overstay_day": d("31.03.2024"), "overstay_periods": [(d("31.03.2024"), d("31.03.2024"))],
      "days_over_limit": 1, "max_stay_days": 0, "latest_exit": None}),
    ("E5 non-leap comparison", "01.01.2023–31.03.2023", "check", "31.03.2023",
     {"days_used": 90, "overstay": False, "next_entry": (d("30.06.2023"), 90)}),
    ("E6 empty history", "", "plan", "01.01.2024", {"days_used": 0, "max_stay_days": 90, "latest_exit": d("30.03.2024"),
     "next_entry": (d("01.01.2024"), 90)}),
    ("E7 stay spanning the window start", "01.01.2025–31.03.2025; 15.07.2025–20.07.2025", "check", "20.07.2025",
     {"days_used": 75, "latest_exit": d("12.10.2025")}),
    ("E8 planned trip too early", "01.03.2025–29.05.2025; 01.07.2025–10.07.2025", "check", "10.07.2025",
     {"days_used": 100, "first_overstay_day": d("01.07.2025"), "overstay_periods": [(d("01.07.2025"), d("10.07.2025"))],
      "days_over_limit": 10}),
    ("E9 planned trip fits", "01.03.2025–29.05.2025; 28.08.2025–30.09.2025", "check", "30.09.2025",
     {"days_used": 90, "overstay": False, "latest_exit": d("25.11.2025")}),
]


@pytest.mark.parametrize("case", EXAMPLES, ids=[c[0] for c in EXAMPLES])
def test_worked_example(case):
    _, spec, mode, on, expected = case
    result = assess(stays(spec), d(on), mode)
    for key, want in expected.items():
        got = getattr(result, key)
        if key == "next_entry":
            got = (got.date, got.max_stay_days)
        if key == "overstay_periods":
            got = list(got)
        assert got == want, f"{key}: {got!r} != {want!r}"


def test_e8_explanation_names_the_breaking_day_and_its_window():
    result = assess(stays("01.03.2025–29.05.2025; 01.07.2025–10.07.2025"), d("10.07.2025"), "check")
    text = result.explanation()
    assert "Overstay from 2025-07-01 to 2025-07-10" in text
    # On the first overstay day the window 2025-01-03 – 2025-07-01 holds 91 days: 90 + that day.
    first = result.reasons()[0][1]
    assert first.day == d("01.07.2025") and first.days == 91
    assert first.periods == ((d("01.03.2025"), d("29.05.2025")), (d("01.07.2025"), d("01.07.2025")))


def test_past_overstay_never_blocks_the_answer():
    # SEM-style history with a long overstay long ago: reported, and the answer still comes.
    result = assess(stays("01.01.2020–30.06.2020"), d("01.03.2021"), "plan")
    assert result.overstay and result.first_overstay_day == d("31.03.2020")
    assert result.overstay_periods == ((d("31.03.2020"), d("30.06.2020")),)
    assert result.max_stay_days == 90 and result.next_entry.date == d("01.03.2021")


def test_days_over_limit_is_measured_on_the_window_ending_on_the_date():
    # 163 days in the window ending 01.03.2014: reading (i) of spec §3.3, used(C) - 90.
    result = assess(stays("20.09.2013–01.03.2014"), d("01.03.2014"), "check")
    assert result.days_used == 163 and result.days_over_limit == 73
    assert result.overstay_days == (d("01.03.2014") - d("19.12.2013")).days + 1


def test_latest_exit_breaks_exactly_one_day_later():
    history = stays("01.01.2025–20.02.2025; 01.04.2025–15.04.2025")
    result = assess(history, d("01.06.2025"), "plan")
    last = result.latest_exit
    ok = assess(history + [(d("01.06.2025"), last)], last, "check")
    assert not ok.overstay
    too_long = assess(history + [(d("01.06.2025"), last + timedelta(days=1))], last + timedelta(days=1), "check")
    assert too_long.first_overstay_day == last + timedelta(days=1)


def test_residence_permit_and_long_stay_visa_days_do_not_count():
    history = [
        Stay(d("01.01.2025"), d("31.03.2025"), StayBasis.RESIDENCE_PERMIT),
        Stay(d("01.04.2025"), d("10.04.2025")),
        Stay(d("11.04.2025"), d("30.04.2025"), StayBasis.LONG_STAY_VISA),
    ]
    result = assess(history, d("01.05.2025"), "plan")
    assert result.days_used == 10 and not result.overstay and result.max_stay_days == 80
    # ...but they are still presence for the consistency checks.
    with pytest.raises(StayInputError, match="overlap"):
        assess(history + [(d("15.03.2025"), d("20.03.2025"))], d("01.05.2025"), "plan")


def test_family_member_of_eu_citizen_is_not_limited():
    result = assess(stays("01.01.2025–30.06.2025"), d("30.06.2025"), "check", family_member=True)
    assert not result.rule_applies and not result.overstay
    assert result.max_stay_days is None and result.latest_exit is None and result.next_entry is None
    assert result.days_used == 180
    assert "does not apply" in result.explanation()


class TestVisaCaps:
    # E10: a 2-entry, 30-day visa valid 01.04–31.07.2016 (sticker example in spec §6.E).
    visa = Visa("012345678", d("01.04.2016"), d("31.07.2016"), duration_days=30, entries=2)
    first = Stay(d("05.04.2016"), d("14.04.2016"), visa="012345678")

    def test_e10_visa_duration_caps_the_rule(self):
        result = assess([self.first], d("01.06.2016"), "plan", visa=self.visa)
        assert result.latest_exit == d("20.06.2016") and result.max_stay_days == 20
        assert result.limited_by == "visa_duration"
        assert result.visa.days_used == 10 and result.visa.entries_used == 1 and not result.visa.entries_used_up
        # the rule alone would allow until 19.08.2016
        assert assess([self.first], d("01.06.2016"), "plan").latest_exit == d("19.08.2016")

    def test_e10_third_entry_is_refused(self):
        second = Stay(d("01.06.2016"), d("05.06.2016"), visa="012345678")
        result = assess([self.first, second], d("01.07.2016"), "plan", visa=self.visa)
        assert result.visa.entries_used_up and result.max_stay_days == 0 and result.latest_exit is None
        assert result.limited_by == "visa_entries"

    def test_check_mode_inside_on_the_second_entry(self):
        second = Stay(d("01.06.2016"), d("10.06.2016"), visa="012345678")
        result = assess([self.first, second], d("10.06.2016"), "check", visa=self.visa)
        # 10 + 9 days used before 10.06; 11 left counting 10.06 -> until 20.06
        assert result.latest_exit == d("20.06.2016")
        assert result.visa.entries_used_up  # Art. 11(2)(a): told on entry that both entries are used

    def test_validity_caps(self):
        result = assess([], d("20.07.2016"), "plan", visa=self.visa)
        assert result.latest_exit == d("31.07.2016") and result.limited_by == "visa_validity"
        expired = assess([], d("01.08.2016"), "plan", visa=self.visa)
        assert expired.max_stay_days == 0 and not expired.visa.valid_on_date


@pytest.mark.parametrize(
    "history, on, mode, message",
    [
        ([(date(2025, 1, 10), date(2025, 1, 5))], date(2025, 2, 1), "check", "exit 2025-01-05 is before entry"),
        ([(date(2025, 1, 1), date(2025, 1, 10)), (date(2025, 1, 9), date(2025, 1, 12))], date(2025, 2, 1),
         "check", "stays 1 and 2 overlap"),
        ([(date(2025, 1, 1), date(2025, 3, 10))], date(2025, 2, 1), "check", "ends after 2025-02-01"),
        ([(date(2025, 1, 1), date(2025, 3, 10))], date(2025, 2, 1), "plan", "planned entry must come after"),
        ([], date(2025, 2, 1), "control", "unknown mode"),
        ([(date(1800, 1, 1), date(1800, 1, 2))], date(2025, 2, 1), "check", "between 1900-01-01"),
    ],
)
def test_inconsistent_input_is_refused_clearly(history, on, mode, message):
    with pytest.raises(StayInputError, match=message):
        assess(history, on, mode)


def test_a_plan_on_the_day_the_last_stay_ends_counts_the_days_after_it():
    # Check mode counts the date itself; a planned entry on the last exit day is a re-entry on a
    # day already counted, so the plan counts the days after it (the Commission calculator's N).
    h = stays("01.01.2025–10.01.2025")
    check, plan = assess(h, d("10.01.2025"), Mode.CHECK), assess(h, d("10.01.2025"), Mode.PLAN)
    assert (check.max_stay_days, check.latest_exit) == (81, d("31.03.2025"))
    assert (plan.max_stay_days, plan.latest_exit) == (80, d("31.03.2025"))
    # Ninety days used up to the date: check says "today is the last day", plan says "none".
    full = stays("01.01.2024–30.03.2024")
    assert assess(full, d("30.03.2024"), "check").max_stay_days == 1
    last = assess(full, d("30.03.2024"), "plan")
    assert (last.max_stay_days, last.latest_exit) == (0, None)
    assert "further day(s)" in last.explanation()
    # A day later the traveller is out, and a plan counts the entry day again.
    assert assess(stays("01.01.2025–10.01.2025"), d("11.01.2025"), "plan").max_stay_days == 80


def test_first_overstay_day_of_every_stay():
    # Two stays joined by an exit and re-entry on one day, then a later stay: each has its own verdict.
    history = stays("01.01.2025–20.03.2025; 20.03.2025–10.04.2025; 01.05.2025–05.05.2025")
    verdicts = assess(history, d("05.05.2025"), "check").per_stay()
    assert [(v.first_overstay_day, v.overstay_days) for v in verdicts] == [
        (None, 0),
        (d("01.04.2025"), 10),  # 01.01-31.03 is 90 days; 01.04 is the 91st
        (d("01.05.2025"), 5),
    ]


def test_multiple_entry_visa_counts_its_duration_in_any_180_days():
    # A 5-year multiple-entry visa for 90 days: after 90 days used long ago, a new stay is fine.
    mev = Visa("MEV000001", d("01.01.2025"), d("31.12.2029"), duration_days=90, entries=None)
    history = [Stay(d("01.01.2025"), d("31.03.2025"), visa="MEV000001")]
    result = assess(history, d("01.01.2026"), "plan", visa=mev)
    assert result.max_stay_days == 90 and result.limited_by == "rule"
    # A multiple-entry visa for 30 days in any 180: its duration rolls like the rule.
    short = Visa("MEV000002", d("01.01.2025"), d("31.12.2029"), duration_days=30, entries=None)
    stays_30 = [Stay(d("01.03.2025"), d("20.03.2025"), visa="MEV000002")]  # 20 days used
    capped = assess(stays_30, d("01.04.2025"), "plan", visa=short)
    assert capped.max_stay_days == 10 and capped.limited_by == "visa_duration"
    later = assess(stays_30, d("01.09.2025"), "plan", visa=short)  # the March days rolled off
    assert later.max_stay_days == 30
