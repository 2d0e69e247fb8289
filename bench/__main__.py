"""Run every benchmark and print the table. `python -m bench --help` for sizes.

Figures are medians over repeated runs on this machine; the sweep also reports its first (cold)
run in a fresh process, where the pages of new arrays are touched for the first time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import timeit
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from bench.table import print_table
from smartborders.travel import stay_reference as ref
from smartborders.travel.stay import assess
from smartborders.travel.sweep import OPEN, day_number, overstay_sweep

SWEEP_DAY = date(2026, 11, 29)


def histories(n: int, stays: int, seed: int = 7) -> list[tuple[list[tuple[date, date]], date]]:
    """Synthetic 10-stay histories: trips of 1-21 days, 5-60 days apart, some exit and re-entry on one day."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        d = date(2024, 1, 1) + timedelta(days=int(rng.integers(0, 365)))
        hist = []
        for _ in range(stays):
            gap = 0 if rng.random() < 0.1 else int(rng.integers(5, 60))
            d = d + timedelta(days=gap)
            e = d + timedelta(days=int(rng.integers(0, 21)))
            hist.append((d, e))
            d = e
        out.append((hist, d))
    return out


def time_calls(fn, cases, number: int) -> list[float]:
    """Seconds per call for each case (best of 3 repeats of `number` calls)."""
    return [min(timeit.repeat(lambda c=c: fn(*c), number=number, repeat=3)) / number for c in cases]


def bench_check(cases: int) -> list[tuple[str, str, str, str]]:
    hs = histories(cases, 10)
    rows = []
    for mode in ("check", "plan"):
        fast = time_calls(lambda h, on: assess(h, on, mode), hs, 200)
        slow = time_calls(lambda h, on: ref.assess(h, on), hs[: max(5, cases // 50)], 1)
        med = statistics.median(fast) * 1e6
        p95 = statistics.quantiles(fast, n=20)[-1] * 1e6
        ratio = statistics.median(slow) / statistics.median(fast)
        rows.append((
            f"90/180 {mode}, 10-stay history (one call)",
            f"median {med:.1f} µs, p95 {p95:.1f} µs ({cases} histories)",
            "≤ 20 µs median" if mode == "check" else "-",
            f"{ratio:,.0f}× faster than the day-by-day model",
        ))
    return rows


def population(travellers: int, stays_per: int, seed: int = 11):
    """Stays sorted by (traveller, entry): trips of 1-30 days, 0-120 days apart; the last stay of
    5 % of travellers is still open, and some of those have been in for more than 90 days."""
    rng = np.random.default_rng(seed)
    T = day_number(SWEEP_DAY)
    k = stays_per
    t = np.repeat(np.arange(travellers, dtype=np.int32), k)
    lengths = rng.integers(0, 30, size=(travellers, k), dtype=np.int32)
    gaps = rng.integers(0, 120, size=(travellers, k), dtype=np.int32)
    gaps[rng.random((travellers, k)) < 0.05] = 0  # exit and re-entry on the same day
    entry = np.empty((travellers, k), np.int32)
    exit_ = np.empty((travellers, k), np.int32)
    cursor = T - rng.integers(k * 80, k * 80 + 400, size=travellers, dtype=np.int32)
    for j in range(k):
        entry[:, j] = cursor + (gaps[:, j] if j else 0)
        exit_[:, j] = entry[:, j] + lengths[:, j]
        cursor = exit_[:, j]
    # Everything must lie before the sweep day: shift travellers whose last exit is after it.
    late = np.maximum(exit_[:, -1] - T, 0)
    entry -= late[:, None]
    exit_ -= late[:, None]
    inside = rng.random(travellers) < 0.05
    entry[inside, -1] = T - rng.integers(0, 150, size=int(inside.sum()), dtype=np.int32)
    entry[inside, -1] = np.maximum(entry[inside, -1], exit_[inside, -2] if k > 1 else entry[inside, -1])
    exit_[inside, -1] = OPEN
    return t, entry.ravel(), exit_.ravel()


def naive_sweep(t, entry, exit_, travellers: int):
    """The day-by-day reading (`stay_reference`) for each traveller of the sample."""
    used = np.zeros(travellers, np.int32)
    present = np.zeros(travellers, bool)
    bounds = np.searchsorted(t, np.arange(travellers + 1))
    epoch = date(1970, 1, 1)
    for i in range(travellers):
        a, b = bounds[i], bounds[i + 1]
        stays = [
            (epoch + timedelta(days=int(entry[r])), SWEEP_DAY if exit_[r] == OPEN else epoch + timedelta(days=int(exit_[r])))
            for r in range(a, b)
        ]
        days = ref.presence(stays)
        used[i] = ref.used(days, SWEEP_DAY)
        present[i] = SWEEP_DAY in days
    return used, present


def bench_sweep(travellers: int, stays_per: int, sample: int) -> list[tuple[str, str, str, str]]:
    t, entry, exit_ = population(travellers, stays_per)
    rows_n = t.size
    t0 = time.perf_counter()
    result = overstay_sweep(t, entry, exit_, SWEEP_DAY, travellers)
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(3):
        t0 = time.perf_counter()
        overstay_sweep(t, entry, exit_, SWEEP_DAY, travellers)
        warm.append(time.perf_counter() - t0)
    fast = statistics.median(warm)

    m = min(sample, travellers)
    cut = int(np.searchsorted(t, m))
    t0 = time.perf_counter()
    used, present = naive_sweep(t[:cut], entry[:cut], exit_[:cut], m)
    naive_per_row = (time.perf_counter() - t0) / cut
    same = np.array_equal(used, result.days_used[:m]) and np.array_equal(present, result.present[:m])
    if not same:
        raise SystemExit("the sweep and the day-by-day model disagree on the sample")
    naive_total = naive_per_row * rows_n
    found = int(result.overstayers().size)
    return [(
        f"overstay sweep, {rows_n / 1e6:g} M stays / {travellers / 1e6:g} M travellers",
        f"median {fast:.2f} s warm, {cold:.2f} s cold ({rows_n / fast / 1e6:.0f} M stays/s; {found:,} overstayers)",
        "≤ 2 s",
        f"{naive_total / fast:,.0f}× the day-by-day model (measured on {m:,} travellers: "
        f"{naive_per_row * 1e6:.1f} µs/stay, ≈ {naive_total / 60:,.0f} min for all; same answers)",
    )]


def bench_cli(runs: int) -> list[tuple[str, str, str, str]]:
    exe = Path(sys.executable).with_name("smartborders")
    payload = '{"stays": [["2026-07-01","2026-07-10"],["2026-07-10","2026-07-20"]], "date": "2026-07-20", "mode": "check"}'
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([str(exe), "stay"], input=payload, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t0)
    return [("`smartborders stay` as a process", f"median {statistics.median(times) * 1e3:.0f} ms", "-", "start-up included")]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--travellers", type=int, default=10_000_000)
    parser.add_argument("--stays-per-traveller", type=int, default=3)
    parser.add_argument("--histories", type=int, default=1000, help="10-stay histories timed one by one")
    parser.add_argument("--naive-sample", type=int, default=20_000, help="travellers run through the naive model")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--ees", action="store_true",
                        help="also the EES: synthetic load rates, and border checks over HTTP under load")
    parser.add_argument("--ees-travellers", type=int, default=350_000, help="travellers for the load rates")
    parser.add_argument("--http-url", action="append", default=[],
                        help="an already loaded database for the HTTP run, repeatable (else one PostgreSQL and "
                             "one SQLite database are built and dropped)")
    parser.add_argument("--http-rates", default="150,250",
                        help="offered crossings/s for the paced runs, comma-separated")
    parser.add_argument("--http-travellers", type=int, default=100_000,
                        help="travellers (x ~3.6 records each) in the database built for the HTTP run")
    parser.add_argument("--http-seconds", type=float, default=20)
    parser.add_argument("--sbms", default=None, metavar="SIZES",
                        help="also 1:N face search in the sBMS over galleries of these sizes (e.g. 1000000,10000000)")
    parser.add_argument("--sbms-fingers", type=int, default=None, metavar="PEOPLE",
                        help="also 1:N fingerprint search over this many people x 4 fingers (e.g. 100000)")
    parser.add_argument("--etias", type=int, default=None, metavar="ENTRIES",
                        help="also ETIAS automated processing with a watchlist of this many entries (e.g. 100000)")
    parser.add_argument("--etias-ees-files", type=int, default=1_000_000, metavar="FILES",
                        help="EES files in the ETIAS run's database (its overstay and refusal checks)")
    args = parser.parse_args()
    if args.quick:
        args.travellers, args.histories, args.naive_sample = 100_000, 100, 2_000
        args.ees_travellers, args.http_travellers, args.http_seconds = 20_000, 5_000, 5

    rows = bench_check(args.histories)
    rows += bench_sweep(args.travellers, args.stays_per_traveller, args.naive_sample)
    rows += bench_cli(5)
    if args.ees:
        from bench import ees_http, ees_load

        rows += ees_load.rows(travellers=args.ees_travellers, days=365)
        rates = [float(r) for r in args.http_rates.split(",")]
        for url in args.http_url:
            rows += ees_http.run(url, 32, args.http_seconds, workers=2 if url.startswith("postgresql") else 1,
                                 rates=rates)
        if not args.http_url:
            rows += ees_http.with_fresh_databases(args.http_travellers, args.http_seconds, rates=rates)

    if args.sbms:
        from bench import sbms

        rows += sbms.rows([int(n) for n in args.sbms.split(",")])
    if args.sbms_fingers:
        from bench import sbms_fingers

        rows += sbms_fingers.rows(args.sbms_fingers)
    if args.etias:
        from bench import etias

        rows += etias.run(None, args.etias, 2_000, 100, ees_files=args.etias_ees_files)

    print_table("smartborders bench", ("what", "measured", "goal", "against the naive model"), rows)

if __name__ == "__main__":
    main()
