"""The capacity simulator's speed: `python -m bench.capacity [--replications 100] [--quick]`.

Prints: a Schiphol-like peak day (~95,000 checks) drawn and simulated (goal ≤ 10 s), 100 replications
on the machine's cores (goal ≤ 5 min), the event rate, and, when simpy is installed, the same FIFO
multi-server model written with SimPy processes and resources on the same day (constant desks, full mode),
with the mean waits of both to show they agree.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from bench.table import print_table
from smartborders.sim.capacity import compare, load_scenario, make_policy
from smartborders.sim.capacity.model import FULL, ChannelPlan, channel_plans, draw_day, simulate


def simpy_day(day, desks: list[int]) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    """The day in SimPy 4: one process per traveller, one Resource per channel. Returns (seconds, waits)."""
    import simpy

    arr = day.arrival.tolist()
    svc = day.service[:, :, FULL].tolist()
    routes = [day.routes[r] for r in day.route.tolist()]
    waits = np.zeros(len(arr))
    env = simpy.Environment()
    res = [simpy.Resource(env, capacity=max(k, 1)) for k in desks]

    def traveller(u: int):  # type: ignore[no-untyped-def]
        for s, c in enumerate(routes[u]):
            t0 = env.now
            with res[c].request() as req:
                yield req
                waits[u] += env.now - t0
                yield env.timeout(svc[u][s])

    def source():  # type: ignore[no-untyped-def]
        for u, t in enumerate(arr):
            yield env.timeout(t - env.now)
            env.process(traveller(u))

    env.process(source())
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0, waits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="schiphol-peak")
    ap.add_argument("--replications", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3, help="single-day runs to take the median of")
    ap.add_argument("--quick", action="store_true", help="10 replications, 1 repeat (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.replications, args.repeat = 10, 1
    s = load_scenario(args.scenario)
    pol = make_policy("full", s)
    draw_t, sim_t, events = [], [], 0
    for i in range(args.repeat):
        t0 = time.perf_counter()
        day = draw_day(s, pol, i)
        plans = channel_plans(s, pol, day)
        t1 = time.perf_counter()
        raw = simulate(day, plans, pol)
        t2 = time.perf_counter()
        draw_t.append(t1 - t0)
        sim_t.append(t2 - t1)
        events = raw.events
    checks = int(day.persons.sum())
    d, m = statistics.median(draw_t), statistics.median(sim_t)
    rows = [
        ["peak day: checks / units", f"{checks:,} / {len(day.persons):,}", ""],
        ["peak day: draw traffic + service times", f"{d:.2f} s", ""],
        ["peak day: event loop", f"{m:.2f} s", f"{events / m:,.0f} events/s"],
        ["peak day: total (goal ≤ 10 s)", f"{d + m:.2f} s", "PASS" if d + m <= 10 else "FAIL"],
    ]
    t0 = time.perf_counter()
    compare(s, ["full"], replications=args.replications, seed=0)
    rep = time.perf_counter() - t0
    goal = 300 * args.replications / 100
    procs = min(os.cpu_count() or 1, args.replications)
    rows.append([f"{args.replications} replications, {procs} processes (goal ≤ {goal:.0f} s)", f"{rep:.1f} s",
                 "PASS" if rep <= goal else "FAIL"])
    try:
        import simpy  # noqa: F401
    except ImportError:
        rows.append(["SimPy comparison", "simpy not installed", ""])
    else:
        desks = [max(k for _, k in p.steps) for p in plans]
        const = [ChannelPlan(p.name, ((0.0, k),), p.mean_full_s) for p, k in zip(plans, desks)]
        t0 = time.perf_counter()
        ours = simulate(day, const, pol)
        t_ours = time.perf_counter() - t0
        t_simpy, w = simpy_day(day, desks)
        same = np.allclose(np.sort(ours.wait), np.sort(w), atol=1e-6)
        rows.append(["same day, constant desks: our loop", f"{t_ours:.2f} s",
                     f"mean wait {np.mean(ours.wait) / 60:.2f} min"])
        note = (f"mean wait {np.mean(w) / 60:.2f} min; x{t_simpy / t_ours:.1f} slower; "
                f"{'same waits' if same else 'waits differ'}")
        rows.append(["same day, constant desks: SimPy 4.1", f"{t_simpy:.2f} s", note])
    print_table("capacity simulator", ["what", "time", "note"], rows)


if __name__ == "__main__":
    main()
