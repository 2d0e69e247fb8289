"""Synthetic traffic: consistent trips, authorised stays as the calculator gives them, honest flags."""

from __future__ import annotations

from collections import Counter
from datetime import date

import numpy as np
import pytest

from smartborders.sim import traffic as T
from smartborders.sim.population import day_number, from_day_number, generate_population
from smartborders.sim.traffic import NONE, generate_traffic
from smartborders.travel.stay import Mode, Stay, StayBasis, assess

END = date(2026, 11, 29)
FIELDS = ("traveller", "entry_day", "entry_at", "entry_bcp", "exit_day", "exit_at", "exit_bcp",
          "max_stay_days", "authorised_until", "overstay", "overstay_flagged_at", "family_member", "visa",
          "visa_sticker", "visa_valid_from", "visa_valid_until", "visa_entries", "refusal_traveller",
          "refusal_at", "refusal_reasons")


@pytest.fixture(scope="module")
def sim():
    p = generate_population(1500, seed=11, on=END)
    return p, generate_traffic(p, days=365, end=END)


def test_the_same_seed_gives_the_same_traffic_whatever_the_number_of_workers(monkeypatch):
    p = generate_population(300, seed=5, on=END)
    a, again = (generate_traffic(p, days=200, end=END) for _ in range(2))
    for f in FIELDS:
        assert np.array_equal(getattr(a, f), getattr(again, f)), f
    assert a.records > 300 and a.summary() != generate_traffic(p, days=200, end=END, seed=6).summary()
    monkeypatch.setattr(T, "CHUNK", 100)  # three chunks, simulated on two processes or on one
    b = generate_traffic(p, days=200, end=END, workers=2)
    c = generate_traffic(p, days=200, end=END, workers=1)
    for f in FIELDS:
        assert np.array_equal(getattr(b, f), getattr(c, f)), f


def test_trips_do_not_overlap_and_exits_follow_entries(sim):
    p, tr = sim
    start, end = day_number(tr.start), day_number(END)
    assert (tr.entry_day >= start).all() and (tr.entry_day < end).all()
    closed = ~tr.open
    assert (tr.exit_day[closed] >= tr.entry_day[closed]).all() and (tr.exit_day[closed] < end).all()
    assert (tr.exit_at[closed] >= tr.entry_at[closed]).all()
    assert (np.diff(tr.traveller) >= 0).all()
    same = tr.traveller[1:] == tr.traveller[:-1]
    # The next entry is on or after the previous exit (a shared day counts once), and later in time.
    assert (tr.entry_day[1:][same] >= tr.exit_day[:-1][same]).all()
    assert (tr.exit_day[:-1][same] != NONE).all()  # only the last trip of a traveller may be open
    assert (tr.entry_at[1:][same] > tr.exit_at[:-1][same]).all()
    # Every traveller crossed or was refused at least once: each is an individual file.
    seen = np.zeros(len(p), bool)
    seen[tr.traveller] = seen[tr.refusal_traveller] = True
    assert seen.all()


def test_crossings_are_in_working_hours_local_time(sim):
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from smartborders.reference.bcps import crossing_points

    _, tr = sim
    for r in range(0, tr.records, 37):
        zone = ZoneInfo(crossing_points()[tr.bcps[tr.entry_bcp[r]]].timezone)
        local = datetime.fromtimestamp(int(tr.entry_at[r]), timezone.utc).astimezone(zone)
        assert local.date() == from_day_number(tr.entry_day[r])
        assert 6 <= local.hour < 24


def test_authorised_stays_are_what_the_calculator_gives_at_each_entry(sim):
    _, tr = sim
    for t in np.unique(tr.traveller)[:600].tolist():
        rows = np.flatnonzero(tr.traveller == t).tolist()
        before: list[Stay] = []
        for r in rows:
            on = from_day_number(tr.entry_day[r])
            a = assess(before, on, Mode.PLAN, visa=tr.visa_of(r), family_member=bool(tr.family_member[r]))
            if tr.family_member[r]:
                assert tr.max_stay_days[r] == NONE and tr.authorised_until[r] == NONE
            else:
                assert a.max_stay_days == tr.max_stay_days[r] > 0, (t, r)
                assert a.latest_exit == from_day_number(tr.authorised_until[r]), (t, r)
            if tr.exit_day[r] != NONE:
                v = tr.visa[r]
                before.append(Stay(on, from_day_number(tr.exit_day[r]),
                                   StayBasis.RESIDENCE_PERMIT if tr.family_member[r] else StayBasis.SHORT_STAY,
                                   str(tr.visa_sticker[v]) if v != NONE else None))


def test_overstay_flags_are_what_the_exit_or_the_sweep_would_set(sim):
    _, tr = sim
    end = day_number(END)
    rule = tr.authorised_until != NONE
    closed = ~tr.open
    late = rule & closed & (tr.exit_day > tr.authorised_until)
    still = rule & tr.open & (tr.authorised_until < end)
    assert np.array_equal(tr.overstay, late | still)
    assert late.sum() > 0 and tr.open.sum() > 0
    flagged = tr.overstay_flagged_at
    assert (flagged[tr.overstay] != NONE).all() and (flagged[~tr.overstay] == NONE).all()
    assert (flagged[late] <= tr.exit_at[late]).all()
    assert (flagged[tr.overstay] // 86400 == tr.authorised_until[tr.overstay] + 1).all()
    lawful_closed = rule & closed & ~tr.overstay
    assert (tr.exit_day[lawful_closed] <= tr.authorised_until[lawful_closed]).all()
    assert tr.overstay.mean() < 0.02


def test_visa_holders_travel_on_a_valid_visa_within_its_entries(sim):
    p, tr = sim
    needs = p.visa_required[tr.traveller] & ~tr.family_member
    assert (tr.visa[needs] != NONE).all() and (tr.visa[~needs] == NONE).all()
    v = tr.visa[needs]
    d = tr.entry_day[needs]
    assert (tr.visa_valid_from[v] <= d).all() and (d <= tr.visa_valid_until[v]).all()
    uses = Counter(v.tolist())
    for k, n in uses.items():
        assert tr.visa_entries[k] == 0 or n <= tr.visa_entries[k]
        owners = set(tr.traveller[tr.visa == k].tolist())
        assert len(owners) == 1  # a sticker belongs to one traveller
    assert set(np.unique(tr.visa_entries).tolist()) <= {0, 1, 2}


def test_refusals_carry_annex_v_letters(sim):
    _, tr = sim
    assert tr.refusals > 0
    for reasons in tr.refusal_reasons.tolist():
        assert reasons and list(reasons) == sorted(set(reasons)) and set(reasons) <= set("ABCDEFGHI")
