"""1:N fingerprint identification in the sBMS: `python -m bench.sbms_fingers --help`.

A gallery of synthetic people, four fingers each (biometrics/synthetic.py: minutiae-level fingers
whose Bozorth3 scores are calibrated on the image pipeline's), enrolled into interop/finger_index.py.
Then one search at a time, as a border check asks: mated probes (a new capture of four fingers of an
enrolled person) and non-mated ones (people never enrolled). Reported: the search time (pre-selection
scan + Bozorth3 on the short list), the mate's place in the short list, FNIR and FPIR at the service's
decision rule (two fingers at or above the 1:1 threshold), with Bozorth3 stopping as soon as a person is decided.

The gallery is made in worker processes and kept in `bench/.cache` (about 1 GB for 100,000 people),
so a rerun starts searching at once.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from bench.table import print_table

Row = tuple[str, str, str, str]
CACHE = Path(__file__).parent / ".cache"
FINGERS = ("right_index", "right_middle", "right_ring", "right_little")
CHUNK = 1000


def _seed(person: int, finger: int) -> int:
    return person * 10 + finger


def _make(args: tuple[int, int, int]) -> tuple[np.ndarray, list[bytes]]:
    """People [lo, hi): features (n, 4, D) float16 and templates (n * 4) of capture `capture`."""
    from smartborders.biometrics import fingerprint as FP
    from smartborders.biometrics import synthetic as S

    lo, hi, capture = args
    feats = np.empty((hi - lo, 4, FP.FEATURE_DIM), np.float16)
    temps = []
    for r, person in enumerate(range(lo, hi)):
        for f in range(4):
            t = S.iso_template(S.minutiae_impression(S.minutiae_master(_seed(person, f)), capture))
            feats[r, f] = FP.feature(t)
            temps.append(t)
    return feats, temps


def people(lo: int, hi: int, capture: int, workers: int) -> tuple[np.ndarray, list[bytes]]:
    """Cached: people [lo, hi) at one capture."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"fingers-{lo}-{hi}-{capture}.npz"
    if path.exists():
        z = np.load(path, allow_pickle=False)
        blob, ends = z["blob"].tobytes(), z["ends"]
        starts = np.concatenate([[0], ends[:-1]])
        return z["feats"], [blob[s:e] for s, e in zip(starts, ends)]
    chunks = [(a, min(a + CHUNK, hi), capture) for a in range(lo, hi, CHUNK)]
    with ProcessPoolExecutor(workers) as ex:
        parts = list(ex.map(_make, chunks))
    feats = np.concatenate([p[0] for p in parts])
    temps = [t for p in parts for t in p[1]]
    ends = np.cumsum([len(t) for t in temps])
    np.savez(path, feats=feats, blob=np.frombuffer(b"".join(temps), np.uint8), ends=ends)
    return feats, temps


def run(n: int, mated: int, nonmated: int, workers: int) -> list[Row]:
    from smartborders.biometrics import fingerprint as FP
    from smartborders.interop.finger_index import SHORTLIST, FingerIndex

    t0 = time.perf_counter()
    g_feats, g_temps = people(0, n, 0, workers)
    _, m_temps = people(0, mated, 1, workers)  # new captures of enrolled people
    _, x_temps = people(n, n + nonmated, 1, workers)  # people never enrolled
    made = time.perf_counter() - t0

    index = FingerIndex()
    t0 = time.perf_counter()
    for lo in range(0, n, 10_000):
        index.add_many({p: {FINGERS[f]: (g_feats[p, f].astype(np.float32), g_temps[4 * p + f]) for f in range(4)}
                        for p in range(lo, min(lo + 10_000, n))})
    built = time.perf_counter() - t0
    del g_feats

    rng = np.random.default_rng(5)
    mated_who = rng.choice(mated, mated, replace=False)
    times, ranks = [], []
    fn = fp = 0
    for kind, who in [("mated", p) for p in mated_who] + [("non", p) for p in range(nonmated)]:
        temps = m_temps if kind == "mated" else x_temps
        probes = {FINGERS[f]: temps[4 * who + f] for f in range(4)}
        t = time.perf_counter()
        hits = index.search(probes)
        times.append(time.perf_counter() - t)
        top = hits[0] if hits else None
        if kind == "mated":
            rank = next((i for i, h in enumerate(sorted(hits, key=lambda h: -h.preselection)) if h.person == who),
                        None)
            ranks.append(rank)
            ok = top is not None and top.person == who and top.match(4)
            fn += not ok
        else:
            fp += top is not None and top.match(4)
    ms = np.array(times) * 1e3
    in_list = np.mean([r is not None for r in ranks])
    return [
        (f"finger 1:N, {n:,} people × 4 fingers: search (pre-selection + Bozorth3 on {SHORTLIST})",
         f"p50 {np.percentile(ms, 50):.0f} ms, p95 {np.percentile(ms, 95):.0f} ms, max {ms.max():.0f} ms "
         f"({len(ms):,} searches)", "p95 ≤ 1 s", "one thread; exact inner-product scan (faiss), Bozorth3 (NBIS)"),
        (f"finger 1:N, {n:,}: mate in the short list",
         f"{in_list:.2%} of {mated} mated probes; place: "
         + ", ".join(f"{k}: {sum(r == k for r in ranks)}" for k in range(3)), "-",
         "pre-selection: minutia-pair histograms, projected"),
        (f"finger 1:N, {n:,}: FNIR / FPIR at the decision rule (2 fingers ≥ {FP.FINGER_THRESHOLD})",
         f"FNIR {fn / len(mated_who):.2%} ({fn}/{len(mated_who)}), FPIR {fp / nonmated:.2%} ({fp}/{nonmated})",
         "FNIR ≤ 1 % at FPIR ≤ 0.1 %", "rank-1 mate that matches / non-mated probe with any hit"),
        (f"finger 1:N, {n:,}: making and indexing the gallery", f"made in {made:.0f} s ({workers} processes), "
         f"indexed in {built:.1f} s", "-", "cached in bench/.cache after the first run"),
    ]


def rows(n: int, mated: int = 300, nonmated: int = 1000, workers: int | None = None) -> list[Row]:
    return run(n, mated, nonmated, workers or os.cpu_count() or 1)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.sbms_fingers")
    p.add_argument("--people", type=int, default=100_000)
    p.add_argument("--mated", type=int, default=300)
    p.add_argument("--nonmated", type=int, default=1000)
    a = p.parse_args()
    print_table("smartborders bench: sBMS fingerprint 1:N", ("what", "measured", "goal", "how"),
                rows(a.people, a.mated, a.nonmated))


if __name__ == "__main__":
    main()
