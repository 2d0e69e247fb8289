"""The capacity simulator's live measurement over real HTTP: a crossing point's border check + entry, timed,
and the verdict on whether the software is ever the bottleneck of a simulated day."""

from __future__ import annotations

import pytest

from smartborders.sim.capacity import load_scenario, run_day
from smartborders.sim.capacity.live import LiveError, bottleneck, measure_live


def test_measure_a_running_smartborders_and_judge_the_bottleneck(server):
    live = measure_live(server.url, server.bcp_key(), checks=6, concurrency=2, seed=1)
    assert live["checks"] == 6 and live["checks_per_s"] > 0 and 0 < live["p50_s"] <= live["max_s"]
    s = load_scenario("small-land-crossing")
    verdict = bottleneck(live, run_day(s, "full", 0), s.bucket_minutes)
    assert verdict["peak_arrivals_per_s"] > 0 and verdict["system_share_of_check"] < 1
    assert verdict["software_is_bottleneck"] == (verdict["peak_arrivals_per_s"] > live["checks_per_s"])


def test_a_wrong_key_is_a_clear_error(server):
    with pytest.raises(LiveError, match="HTTP 401"):
        measure_live(server.url, "not-a-key", checks=1, concurrency=1)


def test_cli_simulate_with_live_measurement(server):
    import json

    from typer.testing import CliRunner

    from smartborders.cli import app

    r = CliRunner().invoke(app, ["simulate", "small-land-crossing", "--json", "--live-url", server.url,
                                 "--token", server.bcp_key(), "--live-checks", "3"])
    assert r.exit_code == 0, r.output
    live = json.loads(r.stdout)["live"]
    assert live["measured"]["checks"] == 3 and live["full"]["software_is_bottleneck"] in (True, False)
