"""The capacity simulator in the analyst console (issue 8): choose a shipped scenario and the policies to
compare, run one simulated day (`smartborders.sim.capacity.compare`, one replication, in a worker thread
of this process: the server never forks), see the whole-day figures per policy and the two charts.

Only the shipped scenarios can be chosen (by name: never a path), only the known policy names, a seed in
[0, MAX_SEED]. The charts are PNGs at their own URL (the same parameters, deterministic by the seed), kept
with the figures in a small in-process LRU cache so the page's two images do not run the day again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from smartborders.web.auth import User
from smartborders.web.common import _, csrf, render, require

router = APIRouter(include_in_schema=False)

ROLES = ("analyst", "supervisor")
DEFAULT_POLICIES = ("full", "skip_biometrics", "suspend")
MAX_SEED = 2**31 - 1
CACHE_SIZE = 8
POLICY_LABELS = {
    "full": "Full EES checks",
    "skip_biometrics": "Skip biometrics at peaks",
    "suspend": "EES suspended for a window",
    "pre_registration": "More travellers pre-registered",
    "extra_staff": "Extra staff at peak hours",
    "pre_ees": "No EES (before the EES)",
}
CHART_TITLES = {"wait": "95th percentile wait over the day", "queue": "Travellers waiting over the day"}


# ---- input -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    scenario: str
    policies: tuple[str, ...]
    seed: int

    def key(self) -> tuple[str, tuple[str, ...], int]:
        return self.scenario, self.policies, self.seed

    def chart_url(self, kind: str) -> str:
        q = {"scenario": self.scenario, "policies": ",".join(self.policies), "seed": str(self.seed), "kind": kind}
        return "/analyst/simulate/chart.png?" + urlencode(q)


def _catalogue() -> list[dict[str, str]]:
    from smartborders.sim.capacity import scenario_catalogue

    return scenario_catalogue()


def _names() -> list[str]:
    from smartborders.sim.capacity import shipped_scenarios

    return list(shipped_scenarios())


def _policy_names() -> tuple[str, ...]:
    from smartborders.sim.capacity import POLICIES

    return tuple(POLICIES)


def parse(request: Request, scenario: str, policies: list[str], seed: str) -> tuple[Choice, dict[str, str]]:
    """The scenario, policies and seed of a form or a chart URL, and a message per bad field."""
    errors: dict[str, str] = {}
    scenario = scenario.strip()
    if not scenario:
        errors["scenario"] = _(request, "Choose a scenario.")
    elif scenario not in _names():
        errors["scenario"] = _(request, "There is no scenario %(name)s.", name=scenario)
    known = _policy_names()
    chosen: list[str] = []
    for p in (p.strip() for p in policies):
        if not p:
            continue
        if p not in known:
            errors["policies"] = _(request, "There is no policy %(name)s.", name=p)
        elif p not in chosen:
            chosen.append(p)
    if not chosen and "policies" not in errors:
        errors["policies"] = _(request, "Choose at least one policy to compare.")
    chosen.sort(key=known.index)  # the same order on the page, in the chart and in the cache key
    value = 0
    raw = seed.strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            errors["seed"] = _(request, "Give the seed as a whole number.")
        else:
            if not 0 <= value <= MAX_SEED:
                errors["seed"] = _(request, "Give a seed from 0 to %(max)s.", max=MAX_SEED)
    return Choice(scenario, tuple(chosen), value), errors


# ---- running, with a small cache --------------------------------------------------------------------------


@dataclass
class Result:
    comparison: Any
    charts: dict[str, bytes] = field(default_factory=dict)


_cache: OrderedDict[tuple[str, tuple[str, ...], int], Result] = OrderedDict()
_lock = threading.Lock()  # one simulated day at a time in this process; the cache filled under it


def _result(choice: Choice) -> Result:
    """The comparison for `choice`, from the cache or run now (in a worker thread: blocking)."""
    from smartborders.sim.capacity import compare, load_scenario

    with _lock:
        hit = _cache.get(choice.key())
        if hit is not None:
            _cache.move_to_end(choice.key())
            return hit
        comparison = compare(load_scenario(choice.scenario), list(choice.policies), replications=1,
                             seed=choice.seed, workers=1)
        result = Result(comparison)
        _cache[choice.key()] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return result


def _chart(choice: Choice, kind: str) -> bytes:
    from smartborders.sim.capacity import chart_png

    result = _result(choice)
    with _lock:
        png = result.charts.get(kind)
        if png is None:
            png = result.charts[kind] = chart_png(result.comparison, kind)
        return png


def _rows(comparison: Any) -> list[dict[str, Any]]:
    rows = []
    for name in comparison.policies:
        d = comparison.days[name]
        rows.append({
            "policy": name, "travellers": d["travellers"], "mean": d["mean_wait_min"], "p95": d["p95_wait_min"],
            "max": d["max_wait_min"], "queue": d["max_queue"], "missed": d["missed"],
            "with_deadline": d["with_deadline"], "unserved": d["unserved"],
            "utilisation": [(ch, u) for ch, u in d["utilisation"].items()],
        })
    return rows


def _clock(minutes: float) -> str:
    m = round(minutes)
    return f"{m // 60:02d}:{m % 60:02d}"


def _alt(request: Request, comparison: Any, kind: str) -> str:
    """A chart's text alternative: what it plots and, per policy, its highest point and when."""
    parts = []
    for name in comparison.policies:
        d = comparison.days[name]
        if kind == "wait":
            buckets = d["buckets"] or [{"start_min": 0, "p95_wait_min": 0.0}]
            top = max(buckets, key=lambda b: b["p95_wait_min"])
            parts.append(_(request, "%(policy)s: at most %(value)s min, from %(at)s", policy=name,
                           value=f"{top['p95_wait_min']:.1f}", at=_clock(top["start_min"])))
        else:
            qs = d["queue_samples"]
            totals = [sum(qs[ch][i] for ch in qs if ch != "minute") for i in range(len(qs["minute"]))] or [0]
            i = max(range(len(totals)), key=lambda j: totals[j])
            at = _clock(qs["minute"][i]) if qs["minute"] else "00:00"
            parts.append(_(request, "%(policy)s: at most %(value)s travellers waiting, at %(at)s", policy=name,
                           value=totals[i], at=at))
    what = (_(request, "Step chart of the 95th percentile wait in minutes by time of arrival over the day, "
                       "one line per policy.") if kind == "wait" else
            _(request, "Step chart of the travellers waiting (all channels) over the day, one line per policy."))
    return f"{what} " + "; ".join(parts) + "."


# ---- pages ----------------------------------------------------------------------------------------------


def _page(request: Request, status: int = 200, **ctx: Any) -> Response:
    values: Mapping[str, Any] = ctx.pop("values", {})
    return render(request, "analyst/simulate.html", status_code=status, title=_(request, "Capacity simulator"),
                  catalogue=_catalogue(), policy_names=_policy_names(), labels=POLICY_LABELS,
                  chart_titles=CHART_TITLES, max_seed=MAX_SEED, errors=ctx.pop("errors", {}),
                  chosen_scenario=values.get("scenario", "small-land-crossing"),
                  chosen_policies=values.get("policies", DEFAULT_POLICIES), chosen_seed=values.get("seed", "0"),
                  **ctx)


@router.get("/analyst/simulate")
async def form(request: Request, user: User = Depends(require(*ROLES))):  # type: ignore[no-untyped-def]  # noqa: B008
    return _page(request)


@router.post("/analyst/simulate", dependencies=[Depends(csrf)])
async def run(request: Request, user: User = Depends(require(*ROLES))):  # type: ignore[no-untyped-def]  # noqa: B008
    from smartborders.sim.capacity import PolicyError, ScenarioError

    data = await request.form()
    scenario = data.get("scenario")
    seed = data.get("seed")
    policies = [p for p in data.getlist("policies") if isinstance(p, str)]
    values = {"scenario": scenario if isinstance(scenario, str) else "", "policies": policies,
              "seed": seed if isinstance(seed, str) else ""}
    choice, errors = parse(request, values["scenario"], policies, values["seed"])
    if errors:
        return _page(request, 422, errors=errors, values=values)
    try:
        result = await anyio.to_thread.run_sync(_result, choice)
    except (ScenarioError, PolicyError) as exc:
        return _page(request, 422, errors={"policies": str(exc)}, values=values)
    comparison = result.comparison
    described = {c["name"]: c["description"] for c in _catalogue()}
    return _page(request, values=values, choice=choice, rows=_rows(comparison),
                 scenario_description=described.get(choice.scenario, ""),
                 charts=[(kind, choice.chart_url(kind), _(request, CHART_TITLES[kind]), _alt(request, comparison, kind))
                         for kind in CHART_TITLES])


@router.get("/analyst/simulate/chart.png")
async def chart(request: Request, user: User = Depends(require(*ROLES))):  # type: ignore[no-untyped-def]  # noqa: B008
    from smartborders.sim.capacity import PolicyError, ScenarioError

    q = request.query_params
    choice, errors = parse(request, q.get("scenario", ""), q.get("policies", "").split(","), q.get("seed", ""))
    kind = q.get("kind", "wait")
    if kind not in CHART_TITLES:
        errors["kind"] = _(request, "The chart is wait or queue.")
    if errors:
        return Response("; ".join(f"{k}: {v}" for k, v in errors.items()) + "\n", status_code=422,
                        media_type="text/plain; charset=utf-8")
    try:
        png = await anyio.to_thread.run_sync(_chart, choice, kind)
    except (ScenarioError, PolicyError) as exc:
        return Response(f"{exc}\n", status_code=422, media_type="text/plain; charset=utf-8")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
