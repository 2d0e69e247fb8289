"""The simulator's results as files: CSV tables and PNG charts (matplotlib, Agg backend: no display).

`write_outputs` writes everything into a fresh folder beside the target and renames it into place, so an
output directory is either complete or absent (nothing half-written). `chart_png` gives one chart as PNG
bytes for the analyst console.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from smartborders.sim.capacity.runner import MAIN, PERCENTILES, Comparison

CHARTS = ("wait", "queue")


def summary_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """One row per policy: the first replication's day and, with replications, the 95 % intervals."""
    rows = []
    for name in comparison.policies:
        d = comparison.days[name]
        row: dict[str, Any] = {"policy": name, "travellers": d["travellers"], "mean_wait_min": d["mean_wait_min"]}
        row.update({f"p{q}_wait_min": d[f"p{q}_wait_min"] for q in PERCENTILES})
        row.update({k: d[k] for k in ("max_wait_min", "max_queue", "with_deadline", "missed", "unserved",
                                      "service_s_per_check", "biometrics_skipped_h", "suspended_h")})
        row.update({f"utilisation_{ch}": u for ch, u in d["utilisation"].items()})
        if comparison.replications > 1:
            for k in MAIN:
                ci = comparison.intervals[name][k]
                row.update({f"{k}_mean": ci["mean"], f"{k}_ci_low": ci["low"], f"{k}_ci_high": ci["high"]})
        rows.append(row)
    return rows


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def bucket_rows(comparison: Comparison) -> list[dict[str, Any]]:
    return [{"policy": name, **b} for name in comparison.policies for b in comparison.days[name]["buckets"]]


def queue_rows(comparison: Comparison) -> list[dict[str, Any]]:
    rows = []
    for name in comparison.policies:
        qs = comparison.days[name]["queue_samples"]
        channels = [k for k in qs if k != "minute"]
        for i, minute in enumerate(qs["minute"]):
            rows.append({"policy": name, "minute": minute, **{ch: qs[ch][i] for ch in channels}})
    return rows


def chart_png(comparison: Comparison, kind: str = "wait", hours: float | None = None) -> bytes:
    """`wait`: the 95th-percentile wait per time bucket over the day, one line per policy; `queue`: the
    travellers waiting (all channels) over the day, one line per policy. PNG bytes."""
    if kind not in CHARTS:
        raise ValueError(f"chart kind must be one of {', '.join(CHARTS)}")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.2), dpi=100)
    ax = fig.add_subplot()
    last = 24.0
    for name in comparison.policies:
        d = comparison.days[name]
        if kind == "wait":
            x = [b["start_min"] / 60 for b in d["buckets"]]
            y = [b["p95_wait_min"] for b in d["buckets"]]
        else:
            qs = d["queue_samples"]
            x = [m / 60 for m in qs["minute"]]
            y = [sum(qs[ch][i] for ch in qs if ch != "minute") for i in range(len(x))]
        ax.step(x, y, where="post", label=name)
        last = max(last, x[-1] if x else 0)
    ax.set_xlim(0, hours or min(last, 48.0))
    ax.set_xlabel("hour of the day (arrival at the queue)" if kind == "wait" else "hour of the day")
    ax.set_ylabel("95th percentile wait (min)" if kind == "wait" else "travellers waiting")
    ax.set_title(f"{comparison.scenario}: {'waiting time' if kind == 'wait' else 'queue length'} by policy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_outputs(comparison: Comparison, out: str | Path) -> list[Path]:
    """summary.csv, buckets.csv, queues.csv, result.json, wait.png and queue.png into `out` (created; an
    existing folder is filled, files of the same names replaced). All files are made in a temporary
    folder first: on any error nothing is left in `out`."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".simulate-", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the result is an ordinary folder
    try:
        files = {
            "summary.csv": _csv(summary_rows(comparison)).encode(),
            "buckets.csv": _csv(bucket_rows(comparison)).encode(),
            "queues.csv": _csv(queue_rows(comparison)).encode(),
            "result.json": json.dumps(comparison.to_dict(), indent=1).encode(),
            "wait.png": chart_png(comparison, "wait"),
            "queue.png": chart_png(comparison, "queue"),
        }
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        if not out.exists():
            os.replace(tmp, out)
        else:
            for name in files:
                os.replace(tmp / name, out / name)
        return [out / name for name in files]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
