"""The capacity simulator's mechanics: queueing theory (Erlang C), conservation, monotonicity in staff and in
service times, the supervisor's hysteresis and 6-hour budget, strict scenarios, files and the CLI."""

from __future__ import annotations

import copy
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from smartborders.cli import app
from smartborders.sim.capacity import (
    PolicyError,
    ScenarioError,
    compare,
    load_scenario,
    make_policy,
    run_day,
    shipped_scenarios,
)
from smartborders.sim.capacity.model import channel_plans, draw_day, simulate
from smartborders.sim.capacity.output import chart_png, write_outputs
from smartborders.sim.capacity.scenario import parse_scenario

EXP = {"mean_s": 60.0, "cv": 1.0, "family": "gamma"}  # exponential: gamma with cv 1


def tiny(per_hour: float = 192.0, desks: int = 4, hours: int = 40, *, service: dict | None = None,
         staffing: dict | None = None, mix: dict | None = None, **policies) -> dict:
    """One stream of walkers into one channel of booths: the M/M/c queue when service is exponential."""
    svc = service or {k: dict(EXP) for k in ("eu", "pre_ees", "ees_first", "ees_returning", "no_biometrics_first",
                                             "no_biometrics_returning")}
    return {
        "name": "tiny",
        "sources": [{"name": "walkers", "kind": "foot", "timetable": [
            {"start": "00:00", "end": f"{hours:02d}:00", "per_hour": per_hour}],
            "group_size": {1: 1.0},
            "mix": mix or {"eu": 0.0, "visa_exempt": 1.0, "visa_required": 0.0},
            "routes": {"all": [{"via": ["booths"], "share": 1.0}]}}],
        "channels": {"booths": {"kind": "booth", "staffing": staffing or {"00:00": desks}, "service": svc}},
        "policies": policies,
    }


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    a = lam / mu
    rho = a / c
    top = a ** c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def test_mean_wait_matches_erlang_c():
    lam, mu, c = 168 / 3600, 1 / 60, 4  # rho = 0.7, two days of Poisson arrivals, exponential service
    expected = erlang_c_wait(lam, mu, c) / 60
    result = compare(parse_scenario(tiny(per_hour=168, hours=48)), ["full"], replications=10, seed=11, workers=1)
    ci = result.intervals["full"]["mean_wait_min"]
    assert ci["low"] <= expected <= ci["high"] and ci["mean"] == pytest.approx(expected, rel=0.1), (ci, expected)


def test_conservation_and_unserved_when_desks_close():
    s = parse_scenario(tiny(per_hour=120, staffing={"00:00": 2, "08:00": 0}, hours=10))
    r = run_day(s, "full", seed=3)
    assert r["unserved"] > 0
    pol = make_policy("full", s)
    day = draw_day(s, pol, 3)
    raw = simulate(day, channel_plans(s, pol, day), pol)
    served = ~np.isnan(raw.done)
    assert int(day.persons[served].sum()) + r["unserved"] == r["travellers"] == int(day.persons.sum())
    assert np.all(raw.done[served] >= day.arrival[served] - 1e-9)
    assert np.all(raw.wait[served] >= -1e-9)


def test_two_stage_route_kiosk_then_booth():
    raw = tiny(per_hour=100, desks=2, hours=10)
    raw["channels"]["kiosks"] = {"kind": "kiosk", "staffing": {"00:00": 3},
                                 "service": copy.deepcopy(raw["channels"]["booths"]["service"])}
    raw["sources"][0]["routes"] = {"all": [{"via": ["kiosks", "booths"], "share": 0.6},
                                           {"via": ["booths"], "share": 0.4}]}
    s = parse_scenario(raw)
    pol = make_policy("full", s)
    day = draw_day(s, pol, 2)
    raw_result = simulate(day, channel_plans(s, pol, day), pol)
    assert not np.isnan(raw_result.done).any()
    two = np.array([len(day.routes[r]) == 2 for r in day.route])
    floor = day.arrival + day.service[:, 0, 0] + np.where(two, day.service[:, 1, 0], 0.0) + raw_result.wait
    assert np.allclose(raw_result.done, floor)  # done = arrival + waits + both desks, nothing lost between
    assert two.any() and (~two).any()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(per_hour=st.floats(20, 400), desks=st.integers(1, 6), extra=st.integers(1, 3),
       later=st.integers(1, 20), seed=st.integers(0, 10_000))
def test_more_staff_never_increases_the_mean_wait(per_hour, desks, extra, later, seed):
    base = tiny(per_hour=per_hour, hours=24, staffing={"00:00": desks, f"{later:02d}:00": max(0, desks - 1)})
    more = tiny(per_hour=per_hour, hours=24, staffing={"00:00": desks + extra, f"{later:02d}:00": desks - 1 + extra})
    a = run_day(parse_scenario(base), "full", seed)
    b = run_day(parse_scenario(more), "full", seed)
    assert b["travellers"] == a["travellers"]
    assert b["unserved"] <= a["unserved"]
    if a["unserved"] == 0:
        assert b["mean_wait_min"] <= a["mean_wait_min"] + 1e-6
        assert b["max_wait_min"] <= a["max_wait_min"] + 1e-6


def _waits(s, policy, seed):
    pol = make_policy(policy, s)
    day = draw_day(s, pol, seed)
    return simulate(day, channel_plans(s, pol, day), pol).wait


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(per_hour=st.floats(60, 300), above=st.floats(1, 60), gap=st.floats(0, 30), seed=st.integers(0, 10_000),
       first=st.floats(0, 1))
def test_skipping_biometrics_or_suspending_never_increases_anyones_wait(per_hour, above, gap, seed, first):
    # the same cv in every mode, shorter means without biometrics and before the EES: each traveller's desk
    # time can only shrink, so on the same day nobody waits longer (FIFO is monotone in service times)
    svc = {"eu": {"mean_s": 20.0}, "ees_first": {"mean_s": 120.0}, "ees_returning": {"mean_s": 50.0},
           "no_biometrics_first": {"mean_s": 60.0}, "no_biometrics_returning": {"mean_s": 40.0},
           "pre_ees": {"mean_s": 35.0}}
    raw = tiny(per_hour=per_hour, desks=3, hours=20, service=svc,
               mix={"eu": 0.2, "visa_exempt": 0.8, "visa_required": 0.0, "first_enrolment": first},
               skip_biometrics={"above": above, "below": max(0.0, above - gap), "channels": ["booths"]},
               suspend={"start": "06:00", "end": "11:00"})
    s = parse_scenario(raw)
    full = _waits(s, "full", seed)
    for policy in ("skip_biometrics", "suspend", "pre_ees"):
        other = _waits(s, policy, seed)
        assert np.all(np.nan_to_num(other, nan=np.inf) <= np.nan_to_num(full, nan=np.inf) + 1e-6), policy


def test_supervisor_hysteresis_and_six_hour_budget():
    raw = tiny(per_hour=300, desks=4, hours=24, skip_biometrics={"above": 5, "below": 1, "channels": ["booths"]})
    r = run_day(parse_scenario(raw), "skip_biometrics", seed=1)
    assert 0 < r["biometrics_skipped_h"] <= 6.0 + 1e-9
    modes = [m["mode"] for m in r["mode_switches"]]
    assert modes[0] == "no_biometrics" and all(a != b for a, b in itertools.pairwise(modes))


def test_same_seed_same_day_and_paired_policies():
    s = load_scenario("small-land-crossing")
    assert run_day(s, "full", 5)["buckets"] == run_day(s, "full", 5)["buckets"]
    a, b = run_day(s, "full", 5), run_day(s, "suspend", 5)
    assert a["travellers"] == b["travellers"] and a["with_deadline"] == b["with_deadline"]


def test_extra_staff_and_pre_registration_modifiers():
    s = load_scenario("small-land-crossing")
    full, extra, pre = (run_day(s, p, 2) for p in ("full", "extra_staff", "pre_registration"))
    assert extra["mean_wait_min"] <= full["mean_wait_min"]
    assert pre["service_s_per_check"] < full["service_s_per_check"]
    both = run_day(s, "suspend+extra_staff", 2)
    assert both["policy"] == "suspend+extra_staff" and both["suspended_h"] == 6.0


def test_shipped_scenarios_load_and_run():
    assert {"schiphol-peak", "dover-summer-saturday", "small-land-crossing"} <= set(shipped_scenarios())
    for name in shipped_scenarios():
        s = load_scenario(name)
        for policy in ("full", "skip_biometrics", "suspend", "pre_registration", "extra_staff", "pre_ees"):
            make_policy(policy, s)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["sources"][0]["mix"].update(eu=0.5), "add up to 1"),
    (lambda d: d["sources"][0]["timetable"][0].update(start=750), "quote it"),
    (lambda d: d["sources"][0]["routes"]["all"][0].update(via=["nowhere"]), "unknown channel 'nowhere'"),
    (lambda d: d["channels"]["booths"]["service"].pop("ees_first"), "no service time for ees_first"),
    (lambda d: d.update(colour="blue"), "colour: Extra inputs are not permitted"),
    (lambda d: d["policies"].update(suspend={"start": "06:00", "end": "13:00"}), "at most 6 hours"),
    (lambda d: d["policies"].update(skip_biometrics={"above": 5, "below": 9, "channels": ["booths"]}), "hysteresis"),
])
def test_strict_scenarios_say_where_and_why(change, message):
    d = copy.deepcopy(tiny())
    change(d)
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(")):
        parse_scenario(d)


def test_policy_errors():
    s = parse_scenario(tiny())
    with pytest.raises(PolicyError, match="unknown policy"):
        make_policy("lax", s)
    with pytest.raises(PolicyError, match="no policies.suspend"):
        make_policy("suspend", s)


def test_outputs_complete_and_charts(tmp_path: Path):
    s = load_scenario("small-land-crossing")
    c = compare(s, ["full", "suspend"], replications=3, seed=1, workers=1)
    assert c.intervals["full"]["mean_wait_min"]["low"] <= c.intervals["full"]["mean_wait_min"]["mean"]
    files = write_outputs(c, tmp_path / "out")
    assert sorted(p.name for p in files) == sorted(p.name for p in (tmp_path / "out").iterdir())
    assert (tmp_path / "out" / "wait.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (tmp_path / "out" / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("policy,") and len(summary) == 3 and "mean_wait_min_ci_low" in summary[0]
    assert chart_png(c, "queue")[:4] == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folder left behind


def test_cli_compare_json_and_out(tmp_path: Path):
    r = CliRunner().invoke(app, ["simulate", "small-land-crossing", "--compare", "full,suspend", "--json",
                                 "--out", str(tmp_path / "o"), "--seed", "4"])
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    assert payload["policies"] == ["full", "suspend"] and (tmp_path / "o" / "queue.png").exists()


@pytest.mark.parametrize("args, message", [
    (["simulate", "no-such-scenario"], "no such file"),
    (["simulate", "small-land-crossing", "--policy", "lax"], "unknown policy"),
    (["simulate", "small-land-crossing", "--compare", "full,lax"], "unknown policy"),
])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path: Path, args, message):
    r = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and message in r.output
    assert not (tmp_path / "o").exists()


def test_cli_invalid_yaml_exits_2(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    r = CliRunner().invoke(app, ["simulate", str(bad)])
    assert r.exit_code == 2 and "not valid YAML" in r.output
    bad.write_text("name: x\nsources: []\nchannels: {}\n")
    r = CliRunner().invoke(app, ["simulate", str(bad)])
    assert r.exit_code == 2 and "sources" in r.output
