"""1:N face identification in the sBMS: `python -m bench.sbms --help`.

Builds galleries of synthetic face descriptors (biometrics/synthetic.py, calibrated on dlib's model),
then times single-probe searches (one thread, as a border check asks) on the exact scan and on the
approximate index with exact re-ranking. Recall@1 is the approximate index's top answer agreeing
with the exact scan's. Beside the exact scan's time: the memory-bandwidth floor, the time it takes
this machine just to read the gallery's bytes once (measured in the same run).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time

import numpy as np

from bench.table import print_table

Row = tuple[str, str, str, str]


def bandwidth() -> float:
    """Bytes per second one thread reads from memory: numpy's SIMD max over 1 GiB, best of 3 (faster
    than sum, whose pairwise summation is not purely memory-bound)."""
    a = np.ones(1 << 28, dtype=np.float32)
    best = min(_timed(lambda: a.max()) for _ in range(3))
    return a.nbytes / best


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def gallery(n: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """n enrolled descriptors (one capture each), and the identities they came from."""
    from smartborders.biometrics.synthetic import FACE_MODEL

    rng = np.random.default_rng(seed)
    out = np.empty((n, 128), np.float32)
    ident_sample = None
    step = 1_000_000
    for lo in range(0, n, step):
        ident = FACE_MODEL.identities(min(step, n - lo), rng)
        out[lo:lo + len(ident)] = FACE_MODEL.captures(ident, rng)
        if ident_sample is None:
            ident_sample = ident[:10_000].copy()
    assert ident_sample is not None
    return out, ident_sample


def percentile(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q))


def run(n: int, probes: int, exact_probes: int, goal_ms: float) -> list[Row]:
    import faiss

    from smartborders.biometrics.synthetic import FACE_MODEL
    from smartborders.interop.face_index import ApproximateFaceIndex, ExactFaceIndex

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(5)
    t0 = time.perf_counter()
    vectors, identities = gallery(n)
    made = time.perf_counter() - t0
    # Probes: new captures of enrolled people (the first 10,000 identities).
    who = rng.choice(len(identities), probes, replace=False)
    probe = FACE_MODEL.captures(identities[who], rng)

    exact = ExactFaceIndex()
    exact.add(np.arange(n), vectors)
    truth, exact_ms = [], []
    for i in range(exact_probes):
        t = time.perf_counter()
        h = exact.search(probe[i], 1)
        exact_ms.append((time.perf_counter() - t) * 1e3)
        truth.append(int(h.ids[0, 0]))
    # The rest of the truth in batches (several probes per scan, faster), not timed.
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    rest = exact.search(probe[exact_probes:], 1).ids[:, 0].tolist() if probes > exact_probes else []
    truth += rest
    faiss.omp_set_num_threads(1)
    del exact
    gc.collect()

    # About 4 sqrt(N) cells, capped where training them would take longer than the rest on 2 cores.
    cells = int(min(8192, max(256, 4 * np.sqrt(n))))
    approx = ApproximateFaceIndex(cells=cells, probe=max(16, cells // 128), refine=8)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    t = time.perf_counter()
    approx.train(vectors[rng.choice(n, min(n, 40 * cells), replace=False)])
    approx.add(np.arange(n), vectors)
    built = time.perf_counter() - t
    faiss.omp_set_num_threads(1)
    approx_ms, agree, mate = [], 0, 0
    for i in range(probes):
        t = time.perf_counter()
        h = approx.search(probe[i], 1)
        approx_ms.append((time.perf_counter() - t) * 1e3)
        agree += int(h.ids[0, 0]) == truth[i]
        mate += int(h.ids[0, 0]) == int(who[i])
    floor_ms = vectors.nbytes / bandwidth() * 1e3
    label = f"{n / 1e6:g} M"
    return [
        (f"1:N face, exact scan, {label} gallery (float32)",
         f"p50 {statistics.median(exact_ms):.1f} ms, p95 {percentile(exact_ms, 95):.1f} ms ({exact_probes} probes)",
         "reference", f"memory-bandwidth floor {floor_ms:.1f} ms ({vectors.nbytes / 2**30:.2f} GiB read once)"),
        (f"1:N face, IVF{cells}-SQ8 + exact re-rank, {label} gallery",
         f"p50 {statistics.median(approx_ms):.2f} ms, p95 {percentile(approx_ms, 95):.2f} ms; recall@1 "
         f"{agree / probes:.4f} vs exact ({probes:,} probes)",
         f"p95 ≤ {goal_ms:g} ms, recall@1 ≥ 0.995",
         f"nprobe {approx.probe}, re-rank 8×k; built in {built:.0f} s; gallery made in {made:.0f} s; "
         f"rank-1 mate {mate / probes:.4f}"),
    ]


def rows(sizes: list[int], probes: int = 2000) -> list[Row]:
    out: list[Row] = []
    for n in sizes:
        goal = 5.0 if n <= 1_000_000 else 20.0
        out += run(n, probes, exact_probes=min(probes, 200 if n <= 1_000_000 else 30), goal_ms=goal)
        gc.collect()
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.sbms")
    p.add_argument("--sizes", default="1000000", help="gallery sizes, comma-separated (e.g. 1000000,10000000)")
    p.add_argument("--probes", type=int, default=2000)
    a = p.parse_args()
    table = rows([int(s) for s in a.sizes.split(",")], a.probes)
    print_table("smartborders bench: sBMS 1:N", ("what", "measured", "goal", "how"), table)

if __name__ == "__main__":
    main()
