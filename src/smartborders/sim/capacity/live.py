"""The software's own share of a border check, measured against a running smartborders, and whether the
software is ever the bottleneck of a simulated day.

Each measured check is what a crossing point's system sends for a first entry: POST
/api/v1/border/checks (file, open record, authorised stay) then POST /api/v1/border/entries (the record),
for a new synthetic traveller (visa-exempt, no biometrics: the alphanumeric path), with the crossing
point's key as `Authorization: Bearer` (`smartborders clients add CODE --kind bcp --bcp NL-AMS --name X`).
The writes are real: point it at a test crossing point or a scratch database, not at production.
"""

from __future__ import annotations

import random
import string
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np


class LiveError(RuntimeError):
    """The server could not be reached or refused the measurement requests."""


def _traveller(rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(8))
    document = {"document_type": "P", "number": f"SIM{rng.randrange(10**9):09d}", "issuing_state": "USA"}
    identity = {"surname": f"SIM{letters}", "given_names": "CAPACITY TEST",
                "birth_date": f"{rng.randrange(1950, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                "sex": "X", "nationality": "USA"}
    return document, identity


def measure_live(url: str, token: str, *, checks: int = 40, concurrency: int = 4, bcp: str = "NL-AMS",
                 authority: str = "CAPACITY-SIM", timeout: float = 10.0, seed: int | None = None) -> dict[str, Any]:
    """Time `checks` border checks + entries (one traveller each), `concurrency` at a time. Returns the
    system time per check (seconds: mean, p50, p95, max) and the throughput in checks/s."""
    import httpx

    if checks < 1 or concurrency < 1:
        raise ValueError("checks and concurrency must be >= 1")
    rng = random.Random(seed)
    people = [_traveller(rng) for _ in range(checks)]
    headers = {"Authorization": f"Bearer {token}"}

    def one(client: httpx.Client, person: tuple[dict[str, Any], dict[str, Any]]) -> float:
        document, identity = person
        t0 = time.perf_counter()
        r = client.post("/api/v1/border/checks", json={"direction": "entry", "bcp": bcp, "document": document,
                                                       "identity": identity})
        if r.status_code != 200:
            raise LiveError(f"POST /api/v1/border/checks: HTTP {r.status_code}: {r.text[:300]}")
        r = client.post("/api/v1/border/entries", json={"client_id": f"sim-{uuid.uuid4().hex}", "bcp": bcp,
                                                        "authority": authority, "document": document,
                                                        "identity": identity})
        if r.status_code != 201:
            raise LiveError(f"POST /api/v1/border/entries: HTTP {r.status_code}: {r.text[:300]}")
        return time.perf_counter() - t0

    try:
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout) as client:
            one(client, _traveller(rng))  # warm-up: connections, caches
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                times = list(pool.map(lambda p: one(client, p), people))
            wall = time.perf_counter() - t0
    except httpx.HTTPError as exc:
        raise LiveError(f"{url}: {exc}") from None
    x = np.array(times)
    return {"url": url, "bcp": bcp, "checks": checks, "concurrency": concurrency,
            "mean_s": round(float(x.mean()), 4), "p50_s": round(float(np.percentile(x, 50)), 4),
            "p95_s": round(float(np.percentile(x, 95)), 4), "max_s": round(float(x.max()), 4),
            "checks_per_s": round(checks / wall, 2)}


def bottleneck(live: dict[str, Any], day: dict[str, Any], bucket_minutes: int) -> dict[str, Any]:
    """Compare the software's measured capacity with the day's busiest bucket of arrivals, and its time per
    check with the desk's: the software is the bottleneck when the peak arrival rate exceeds its capacity."""
    peak = max((b["travellers"] for b in day["buckets"]), default=0) / (bucket_minutes * 60)
    share = live["mean_s"] / day["service_s_per_check"] if day["service_s_per_check"] else None
    return {"peak_arrivals_per_s": round(peak, 3), "system_checks_per_s": live["checks_per_s"],
            "headroom": round(live["checks_per_s"] / peak, 2) if peak else None,
            "system_share_of_check": round(share, 4) if share is not None else None,
            "software_is_bottleneck": bool(peak > live["checks_per_s"])}
