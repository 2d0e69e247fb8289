"""Run a scenario under one or more policies, once or in replications, and summarise: waiting-time
percentiles over the day, maximum queues, missed connections and departures, desk utilisation, and
95 % confidence intervals across replications. Pure numbers in, plain dicts out (no files, no I/O)."""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smartborders.sim.capacity.model import DAY_S, Day, Raw, channel_plans, draw_day, simulate
from smartborders.sim.capacity.policies import make_policy
from smartborders.sim.capacity.scenario import Scenario

PERCENTILES = (50, 90, 95, 99)
MAIN = ("mean_wait_min", "p95_wait_min", "max_wait_min", "max_queue", "missed", "unserved")


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if len(x) else 0.0


def summarise(scenario: Scenario, policy: str, day: Day, raw: Raw, seconds: float = 0.0) -> dict[str, Any]:
    """One day under one policy as a dict: whole-day figures, per-bucket percentiles and queue samples.
    Waits are per traveller (the occupants of a car all wait as long as the car)."""
    persons = day.persons
    served = ~np.isnan(raw.done)
    w_units = np.where(served, raw.wait, 0.0) / 60
    w = np.repeat(w_units[served], persons[served])
    has_dl = np.isfinite(day.deadline)
    missed_units = has_dl & (~served | (np.nan_to_num(raw.done, nan=np.inf) > day.deadline))
    channels = list(day.channels)
    end = max(DAY_S, raw.end)
    util = {}
    plans = channel_plans(scenario, make_policy(policy, scenario), day)
    for c, plan in enumerate(plans):
        open_s = 0.0
        steps = list(plan.steps) + [(end, 0)]
        for (t0, k), (t1, _) in itertools.pairwise(steps):
            open_s += k * max(0.0, min(t1, end) - max(t0, 0.0))
        util[channels[c]] = round(raw.busy_s[c] / open_s, 4) if open_s else None
    bucket = scenario.bucket_minutes * 60
    edges = np.arange(0, max(DAY_S, float(day.arrival.max()) + 1 if len(day.arrival) else DAY_S), bucket)
    idx = np.searchsorted(edges, day.arrival, side="right") - 1
    buckets = []
    for b, start in enumerate(edges):
        sel = (idx == b) & served
        x = np.repeat(w_units[sel], persons[sel])
        row = {"start_min": int(start) // 60, "travellers": int(x.size)}
        row.update({f"p{q}_wait_min": round(_pct(x, q), 2) for q in PERCENTILES})
        row["max_wait_min"] = round(float(x.max()), 2) if x.size else 0.0
        buckets.append(row)
    total_q = raw.queue.sum(axis=1) if raw.queue.size else np.zeros(1, dtype=np.int64)
    suspended_h = 0.0
    pol = make_policy(policy, scenario)
    if pol.suspend:
        a, b = max(pol.suspend[0], 0.0), min(pol.suspend[1], end)
        suspended_h = max(0.0, b - a) / 3600
    return {
        "policy": policy,
        "travellers": int(persons.sum()),
        "third_country_nationals": int(day.tcn.sum()),
        "units": len(persons),
        "unserved": int(persons[~served].sum()),
        "mean_wait_min": round(float(w.mean()) if w.size else 0.0, 2),
        **{f"p{q}_wait_min": round(_pct(w, q), 2) for q in PERCENTILES},
        "max_wait_min": round(float(w.max()) if w.size else 0.0, 2),
        "max_queue": int(total_q.max()),
        "max_queue_by_channel": dict(zip(channels, raw.max_queue)),
        "with_deadline": int(persons[has_dl].sum()),
        "missed": int(persons[missed_units].sum()),
        "utilisation": util,
        "service_s_per_check": round(sum(raw.busy_s) / max(1, int(persons[served].sum())), 1),
        "biometrics_skipped_h": round(raw.skipped_s / 3600, 2),
        "suspended_h": round(suspended_h, 2),
        "mode_switches": [{"at_min": round(t / 60, 1), "mode": ("full", "no_biometrics")[m]}
                          for t, m in raw.mode_switches],
        "last_done_h": round(raw.end / 3600, 2),
        "events": raw.events,
        "seconds": round(seconds, 3),
        "buckets": buckets,
        "queue_samples": {"minute": [int(t // 60) for t in raw.sample_t],
                          **{ch: raw.queue[:, c].tolist() for c, ch in enumerate(channels)}},
    }


def run_day(scenario: Scenario, policy: str, seed: int = 0) -> dict[str, Any]:
    """One simulated day under one policy (a `+` combination allowed): `summarise`'s dict."""
    t0 = time.perf_counter()
    pol = make_policy(policy, scenario)
    day = draw_day(scenario, pol, seed)
    raw = simulate(day, channel_plans(scenario, pol, day), pol)
    return summarise(scenario, pol.name, day, raw, time.perf_counter() - t0)


def _replication(args: tuple[Scenario, tuple[str, ...], int]) -> list[dict[str, Any]]:
    scenario, policies, seed = args
    return [run_day(scenario, p, seed) for p in policies]


@dataclass
class Comparison:
    """Policies side by side: the first replication in full, and across replications the main figures
    with their 95 % confidence intervals (Student t)."""

    scenario: str
    policies: list[str]
    replications: int
    seed: int
    days: dict[str, dict[str, Any]]  # the first replication's full result, per policy
    intervals: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "policies": self.policies, "replications": self.replications,
                "seed": self.seed, "seconds": round(self.seconds, 2), "intervals": self.intervals,
                "days": self.days}


def confidence(values: list[float]) -> dict[str, float]:
    """Mean and 95 % confidence interval (Student t); one value gives a zero-width interval."""
    from scipy.stats import t as student

    x = np.asarray(values, dtype=float)
    m = float(x.mean())
    if len(x) < 2:
        return {"mean": round(m, 3), "low": round(m, 3), "high": round(m, 3)}
    h = float(student.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return {"mean": round(m, 3), "low": round(m - h, 3), "high": round(m + h, 3)}


def compare(scenario: Scenario, policies: list[str], *, replications: int = 1, seed: int = 0,
            workers: int | None = None, progress: Callable[[int], None] | None = None) -> Comparison:
    """Every policy on the same days (replication i uses seed + i for all policies: paired comparison).
    Replications run in `workers` processes (default: the machine's cores, at most 2 on this kind)."""
    if replications < 1:
        raise ValueError("replications must be >= 1")
    names = [make_policy(p, scenario).name for p in policies]  # PolicyError before any work
    t0 = time.perf_counter()
    jobs = [(scenario, tuple(names), seed + i) for i in range(replications)]
    workers = workers or min(os.cpu_count() or 1, replications)
    results: list[list[dict[str, Any]]] = []
    if workers <= 1 or replications == 1:
        for job in jobs:
            results.append(_replication(job))
            if progress:
                progress(1)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for r in pool.map(_replication, jobs, chunksize=max(1, replications // (workers * 8))):
                results.append(r)
                if progress:
                    progress(1)
    intervals = {name: {k: confidence([rep[i][k] for rep in results]) for k in MAIN}
                 for i, name in enumerate(names)}
    return Comparison(scenario=scenario.name, policies=names, replications=replications, seed=seed,
                      days={name: results[0][i] for i, name in enumerate(names)}, intervals=intervals,
                      seconds=time.perf_counter() - t0)
