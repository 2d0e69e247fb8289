"""The shipped scenarios reproduce the published magnitudes (notes/performance.md §2) under the reported
conditions: the EES check times, the Member States' estimates, Dover's per-car figures, the 2-5 h peak
queues at airports with full EES and understaffing, and waits back to the pre-EES order (tens of
minutes) when biometrics are skipped or the EES is suspended."""

from __future__ import annotations

import numpy as np

from smartborders.sim.capacity import load_scenario, make_policy, run_day
from smartborders.sim.capacity.model import FULL, PRE_EES, draw_day

SEEDS = (0, 1, 2)


def _tcn_booth_times(name: str, channel: str, seed: int = 0, **mix) -> tuple[np.ndarray, np.ndarray]:
    """Full-EES and pre-EES desk times of third-country nationals checked one by one at `channel`."""
    s = load_scenario(name)
    if mix:
        s = s.model_copy(update={"sources": [src.model_copy(update={"mix": src.mix.model_copy(update=mix)})
                                             for src in s.sources]})
    day = draw_day(s, make_policy("full", s), seed)
    c = day.channels.index(channel)
    routes = [i for i, r in enumerate(day.routes) if r == (c,)]
    sel = np.isin(day.route, routes) & (day.tcn == 1) & (day.persons == 1)
    return day.service[sel, 0, FULL], day.service[sel, 0, PRE_EES]


def test_commission_about_70_s_per_ees_check():
    """§2.2: the Commission's average of ~70 s per traveller check with the EES (arrivals at Schiphol)."""
    full, _ = _tcn_booth_times("schiphol-peak", "arrival_booths")
    assert 63 <= full.mean() <= 77, full.mean()


def test_member_states_plus_30_s_to_times_4():
    """§2.2: Poland +30 s to +2 min per passenger; Austria "double"; Slovenia 4x: the EES check adds 30 s
    or more on average, a first enrolment at most 2 min more, and nothing is more than 4x the old check."""
    full, old = _tcn_booth_times("schiphol-peak", "arrival_booths")
    assert 27 <= full.mean() - old.mean() <= 120  # "+30 s" is an estimate: 10 % either way
    assert 1.3 <= full.mean() / old.mean() <= 4  # and §2.2 (secondary): "up to +70 %" observed
    first, old_first = _tcn_booth_times("schiphol-peak", "arrival_booths", first_enrolment=1.0, children=0.0,
                                        visa_required=0.0, visa_exempt=0.5)
    assert 30 <= first.mean() - old_first.mean() <= 120 and first.mean() / old_first.mean() <= 4


def test_dover_two_minutes_per_passenger_and_per_car():
    """§2.2 Dover: ~2 min per passenger + 2 min per car with the EES, ~10 min for a car of four, against
    45-90 s per car before."""
    s = load_scenario("dover-summer-saturday")
    first_adults = s.model_copy(update={"sources": [src.model_copy(update={"mix": src.mix.model_copy(update={
        "eu": 0.0, "visa_exempt": 1.0, "visa_required": 0.0, "first_enrolment": 1.0, "children": 0.0})})
        for src in s.sources]})
    day = draw_day(first_adults, make_policy("full", first_adults), 0)
    cars = day.source == 0
    four = cars & (day.persons == 4)
    assert 9 * 60 <= day.service[four, 0, FULL].mean() <= 11 * 60
    before = draw_day(s, make_policy("full", s), 0)
    per_car = before.service[before.source == 0, 0, PRE_EES]
    assert 45 <= per_car.mean() <= 90, per_car.mean()


def test_airport_peak_queues_of_2_to_5_hours_with_full_ees():
    """§2.3: 2-3 h at peaks after full roll-out, up to 5 h (staffing as before the EES, a little short); and,
    §2.4, skipping biometrics or suspending the EES brings the peak back to tens of minutes, the order of
    the pre-EES day."""
    s = load_scenario("schiphol-peak")
    runs = [{p: run_day(s, p, seed) for p in ("pre_ees", "full", "skip_biometrics", "suspend")} for seed in SEEDS]
    peaks = [r["full"]["max_wait_min"] for r in runs]
    assert 120 <= np.mean(peaks) <= 300 and min(peaks) >= 90, peaks
    for r in runs:
        assert 90_000 <= r["full"]["travellers"] <= 100_000  # §1.2: ~95,000 checks on a peak day
        assert r["pre_ees"]["max_wait_min"] <= 30
        assert r["full"]["missed"] > 0
        for p in ("skip_biometrics", "suspend"):
            assert 10 <= r[p]["max_wait_min"] <= 60, (p, r[p]["max_wait_min"])
            assert r[p]["max_wait_min"] <= r["full"]["max_wait_min"] / 3
            assert r[p]["missed"] < r["full"]["missed"] / 5


def test_dover_tens_of_minutes_before_and_kent_worst_case_with_full_ees():
    """§1.2: 41 min average border processing at Dover's peak hours in 2023 (before the EES); §2.2: Kent's
    worst case of queues longer than 14 h with the EES checks and the same booths."""
    s = load_scenario("dover-summer-saturday")
    before = run_day(s, "pre_ees", 0)
    peak = [b for b in before["buckets"] if 6 * 60 <= b["start_min"] < 14 * 60]
    assert 10 <= np.mean([b["p50_wait_min"] for b in peak]) <= 60
    assert run_day(s, "full", 0)["max_wait_min"] > 14 * 60
