"""The crossing-point capacity simulator (issue 8): how long people wait at a border crossing point on a
given day's traffic, under the EES and the heavy-traffic policies of Reg. (EU) 2025/1534.

- `scenario`: the YAML scenario schema (strict pydantic) and the shipped scenarios;
- `policies`: full, skip_biometrics, suspend, pre_registration, extra_staff, pre_ees (combine with +);
- `model`: a day's traffic (numpy) and the event loop (pure Python, no I/O);
- `runner`: summaries, replications with confidence intervals, policy comparison (plain dicts);
- `output`: CSV files and PNG charts;
- `live`: the software's own share of a check, measured against a running smartborders.

For a page or a script::

    scenario_catalogue()                                   # [{name, crossing_point, description}]
    s = load_scenario("schiphol-peak")                     # or scenario_from_yaml(text)
    c = compare(s, ["full", "skip_biometrics", "suspend"], replications=1, seed=0)
    c.to_dict()                                            # plain JSON-able dict
    chart_png(c, "wait"), chart_png(c, "queue")            # PNG bytes
    write_outputs(c, "out/")                               # CSV, JSON and PNG files
"""

from __future__ import annotations

from smartborders.sim.capacity.live import LiveError, bottleneck, measure_live
from smartborders.sim.capacity.output import CHARTS, chart_png, write_outputs
from smartborders.sim.capacity.policies import NAMES as POLICIES
from smartborders.sim.capacity.policies import PolicyError, make_policy
from smartborders.sim.capacity.runner import Comparison, compare, run_day
from smartborders.sim.capacity.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    scenario_catalogue,
    scenario_from_yaml,
    shipped_scenarios,
)

__all__ = ["CHARTS", "POLICIES", "Comparison", "LiveError", "PolicyError", "Scenario", "ScenarioError",
           "bottleneck", "chart_png", "compare", "load_scenario", "make_policy", "measure_live",
           "parse_scenario", "run_day", "scenario_catalogue", "scenario_from_yaml", "shipped_scenarios",
           "write_outputs"]
