"""How well the matchers separate people: DET curves, FNMR at a fixed FMR (1:1), FNIR at a fixed FPIR
(1:N), in the terms of ISO/IEC 19795-1, on synthetic data and on the real photographs we may use.

Scores are similarities here (higher: more alike): faces give 1 - distance, fingerprints Bozorth3.
Rates are measured from the pairs given; a rate below 1 / (number of impostor pairs) cannot be
resolved and is reported as such.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Det:
    """A detection-error trade-off: for each threshold, the false-match and false-non-match rates."""

    name: str
    genuine: np.ndarray
    impostor: np.ndarray
    threshold: float  # the configured operating point, as a similarity
    notes: list[str] = field(default_factory=list)

    def rates(self, t: float) -> tuple[float, float]:
        """(FMR, FNMR) at threshold t: a pair matches when its score is at or above t."""
        return float(np.mean(self.impostor >= t)), float(np.mean(self.genuine < t))

    def threshold_at_fmr(self, fmr: float) -> float | None:
        """The lowest threshold whose FMR is at most `fmr`; None where too few impostor pairs."""
        n = len(self.impostor)
        if n * fmr < 1:
            return None
        allowed = int(math.floor(fmr * n))  # impostor pairs that may score at or above
        s = np.sort(self.impostor)[::-1]
        return float(np.nextafter(s[allowed], np.inf)) if allowed < n else float(s[-1])

    def fnmr_at_fmr(self, fmr: float) -> float | None:
        t = self.threshold_at_fmr(fmr)
        return None if t is None else self.rates(t)[1]

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(FMR, FNMR) at every distinct score, where both are above zero (a log-log plot)."""
        ts = np.unique(np.concatenate([self.genuine, self.impostor]))
        imp, gen = np.sort(self.impostor), np.sort(self.genuine)
        fmr = 1.0 - np.searchsorted(imp, ts, side="left") / len(imp)
        fnmr = np.searchsorted(gen, ts, side="left") / len(gen)
        keep = (fmr > 0) & (fnmr > 0)
        return fmr[keep], fnmr[keep]


@dataclass(frozen=True)
class Identification:
    """1:N at a threshold: FPIR (non-mated probes returning anyone) and FNIR (mated probes whose
    mate is not returned at rank 1 at or above the threshold)."""

    name: str
    mated_top: np.ndarray  # per mated probe: the mate's score if it ranks first, else -inf
    nonmated_top: np.ndarray  # per non-mated probe: the best candidate's score
    threshold: float
    gallery: int

    def at(self, t: float) -> tuple[float, float]:
        return float(np.mean(self.nonmated_top >= t)), float(np.mean(self.mated_top < t))

    def fnir_at_fpir(self, fpir: float) -> tuple[float, float] | None:
        """(threshold, FNIR) where FPIR is at most `fpir`; None where too few non-mated probes."""
        n = len(self.nonmated_top)
        if n * fpir < 1:
            return None
        allowed = int(math.floor(fpir * n))
        s = np.sort(self.nonmated_top)[::-1]
        t = float(np.nextafter(s[allowed], np.inf))
        return t, self.at(t)[1]


# --- the data -----------------------------------------------------------------------------------


def face_synthetic(identities: int = 20_000, impostor_pairs: int = 2_000_000, seed: int = 1) -> Det:
    from smartborders.biometrics.face import FACE_THRESHOLD
    from smartborders.biometrics.synthetic import FACE_MODEL

    rng = np.random.default_rng(seed)
    ids = FACE_MODEL.identities(identities, rng)
    a, b = FACE_MODEL.captures(ids, rng), FACE_MODEL.captures(ids, rng)
    genuine = 1 - np.linalg.norm(a - b, axis=1)
    i, j = rng.integers(0, identities, (2, impostor_pairs))
    keep = i != j
    impostor = np.concatenate([1 - np.linalg.norm(a[i[keep][lo:lo + 200_000]] - b[j[keep][lo:lo + 200_000]], axis=1)
                               for lo in range(0, int(keep.sum()), 200_000)])
    return Det("face, synthetic descriptors", genuine, impostor, 1 - FACE_THRESHOLD,
               [f"{identities:,} identities x 2 captures; {len(impostor):,} impostor pairs"])


def face_identification(gallery: int = 100_000, probes: int = 10_000, seed: int = 2) -> Identification:
    from smartborders.biometrics.face import FACE_THRESHOLD
    from smartborders.biometrics.synthetic import FACE_MODEL
    from smartborders.interop.face_index import ExactFaceIndex

    rng = np.random.default_rng(seed)
    ids = FACE_MODEL.identities(gallery + probes, rng)
    index = ExactFaceIndex()
    index.add(np.arange(gallery), FACE_MODEL.captures(ids[:gallery], rng))
    mated_who = rng.choice(gallery, probes, replace=False)
    mated = index.search(FACE_MODEL.captures(ids[mated_who], rng), 1)
    nonmated = index.search(FACE_MODEL.captures(ids[gallery:], rng), 1)
    mated_top = np.where(mated.ids[:, 0] == mated_who, 1 - mated.distances[:, 0], -np.inf)
    return Identification("face 1:N, synthetic descriptors", mated_top, 1 - nonmated.distances[:, 0],
                          1 - FACE_THRESHOLD, gallery)


def face_real() -> Det:
    """dlib on scikit-image's photographs: the astronaut under capture variations (genuine), the
    faces of lfw_subset that pass the gate against each other and the astronaut (impostor)."""
    from skimage import data, filters, transform

    from smartborders.biometrics import face

    img = data.astronaut()
    ref = face.capture(img)
    variants = [img[:, ::-1], (transform.rotate(img, 8) * 255).astype(np.uint8),
                (transform.rotate(img, -6) * 255).astype(np.uint8), (img * 0.6).astype(np.uint8),
                np.clip(img * 1.3, 0, 255).astype(np.uint8),
                np.clip(img + np.random.default_rng(1).normal(0, 12, img.shape), 0, 255).astype(np.uint8),
                (filters.gaussian(img, 1.0, channel_axis=-1) * 255).astype(np.uint8)]
    genuine = [face.compare(ref, face.capture(v, gate=False)).score for v in variants]
    others = []
    for k in range(100):
        f = data.lfw_subset()[k]
        s = face.capture((transform.resize(f, (200, 200), order=3) * 255).astype(np.uint8), gate=False)
        if s.quality.passed:
            others.append(s)
    impostor = [face.compare(x, y).score for x, y in itertools.combinations([ref, *others], 2)]
    return Det("face, dlib on real photographs", np.array(genuine), np.array(impostor), 1 - face.FACE_THRESHOLD,
               [f"{len(genuine)} genuine pairs (one person, varied captures); {len(others)} other faces, "
                f"{len(impostor):,} impostor pairs (lfw_subset, 25 px originals: a hard, low-resolution set)"])


def fingerprints_synthetic(fingers: int = 30, impressions: int = 3, seed: int = 1000,
                           progress: Any = None) -> tuple[Det, Identification]:
    from smartborders.biometrics import fingerprint as fp
    from smartborders.biometrics import synthetic as syn

    caps: list[list[fp.FingerprintSample]] = []
    for f in range(fingers):
        m = syn.master(seed + f)
        caps.append([fp.capture(syn.impression(m, k), gate=False) for k in range(impressions)])
        if progress:
            progress(f + 1, fingers)
    genuine = [fp.compare(a, b).score for c in caps for a, b in itertools.combinations(c, 2)]
    impostor = [fp.compare(a, b).score for x, y in itertools.combinations(range(fingers), 2)
                for a in caps[x] for b in caps[y]]
    det = Det("fingerprint, NBIS on synthetic prints", np.array(genuine, float), np.array(impostor, float),
              float(fp.FINGER_THRESHOLD),
              [f"{fingers} fingers x {impressions} impressions; {len(genuine)} genuine, {len(impostor):,} impostor pairs"])
    # 1:N: the first half of the fingers enrolled (first impression), probes from the rest.
    half = fingers // 2
    gallery = [caps[f][0] for f in range(half)]
    mated_top, nonmated_top = [], []
    for f in range(fingers):
        for probe in caps[f][1:]:
            scores = [fp.compare(probe, g).score for g in gallery]
            best = int(np.argmax(scores))
            if f < half:
                mated_top.append(scores[best] if best == f else -np.inf)
            else:
                nonmated_top.append(scores[best])
    ident = Identification("fingerprint 1:N, synthetic prints", np.array(mated_top, float),
                           np.array(nonmated_top, float), float(fp.FINGER_THRESHOLD), half)
    return det, ident


def fingerprints_four(people: int = 2_000, mated: int = 300, nonmated: int = 1_000, seed: int = 3_000_000
                      ) -> Identification:
    """1:N over four fingers a person, the way the sBMS searches (interop/finger_index.py: pre-selection,
    then Bozorth3 on the short list), on minutiae-level synthetic fingers. The score of a search is the
    Bozorth3 sum over the four fingers of its best candidate."""
    from smartborders.biometrics import fingerprint as fp
    from smartborders.biometrics import synthetic as syn
    from smartborders.interop.finger_index import FingerIndex

    names = ("right_index", "right_middle", "right_ring", "right_little")

    def capture(person: int, k: int) -> dict[str, bytes]:
        return {names[f]: syn.iso_template(syn.minutiae_impression(syn.minutiae_master(seed + 10 * person + f), k))
                for f in range(4)}

    index = FingerIndex()
    index.add_many({p: {n: (fp.feature(t), t) for n, t in capture(p, 0).items()} for p in range(people)})
    mated_top, nonmated_top = [], []
    for p in range(min(mated, people)):
        hits = sorted(index.search(capture(p, 1), every_finger=True), key=lambda h: -h.score)
        mated_top.append(hits[0].score if hits and hits[0].person == p else -np.inf)
    for p in range(people, people + nonmated):
        hits = index.search(capture(p, 1), every_finger=True)
        nonmated_top.append(max((h.score for h in hits), default=0))
    return Identification("fingerprint 1:N, 4 fingers, sBMS search, synthetic minutiae (Bozorth3 sum; 88 = 2 x 44)", np.array(mated_top, float),
                          np.array(nonmated_top, float), float(2 * fp.FINGER_THRESHOLD), people)


# --- the report -----------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "n/a (too few pairs)" if x is None else f"{100 * x:.3g} %"


def report(out: Path, *, quick: bool = False, progress: Any = None) -> list[tuple[str, str, str]]:
    """The table rows (what, measured, how), with det.png written under `out`."""
    scale = 0.1 if quick else 1.0
    dets = [face_synthetic(int(20_000 * scale), int(2_000_000 * scale)), face_real()]
    fdet, fident = fingerprints_synthetic(10 if quick else 60, progress=progress)
    dets.append(fdet)
    idents = [face_identification(int(100_000 * scale), int(10_000 * scale)), fident,
              fingerprints_four(250 if quick else 2_000, 30 if quick else 300, 60 if quick else 1_000)]
    rows: list[tuple[str, str, str]] = []
    for d in dets:
        fmr, fnmr = d.rates(d.threshold)
        rows.append((f"{d.name}: at the configured threshold {d.threshold:.3g}",
                     f"FMR {_pct(fmr)}, FNMR {_pct(fnmr)}", "; ".join(d.notes)))
        for target in (1e-3, 1e-4):
            t = d.threshold_at_fmr(target)
            rows.append((f"{d.name}: FNMR at FMR {target:g}", _pct(d.fnmr_at_fmr(target)),
                         f"threshold {t:.4g}" if t is not None else
                         f"needs at least {int(1 / target):,} impostor pairs, {len(d.impostor):,} here"))
    for ident in idents:
        fpir, fnir = ident.at(ident.threshold)
        rows.append((f"{ident.name}, gallery {ident.gallery:,}: at the configured threshold",
                     f"FPIR {_pct(fpir)}, FNIR {_pct(fnir)}",
                     f"{len(ident.mated_top):,} mated and {len(ident.nonmated_top):,} non-mated probes"))
        at = ident.fnir_at_fpir(1e-3)
        rows.append((f"{ident.name}: FNIR at FPIR 0.001", _pct(at[1]) if at else _pct(None),
                     f"threshold {at[0]:.4g}" if at else
                     f"needs at least 1,000 non-mated probes, {len(ident.nonmated_top):,} here"))
    _plot(dets, out / "det.png")
    return rows


def _plot(dets: list[Det], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 5.5))
    for d in dets:
        fmr, fnmr = d.curve()
        line = ax.step(fmr, fnmr, where="post", label=f"{d.name} ({len(d.genuine):,} / {len(d.impostor):,} pairs)")
        op = d.rates(d.threshold)
        if op[0] > 0 and op[1] > 0:
            ax.plot(*op, "o", color=line[0].get_color())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("false match rate (FMR)")
    ax.set_ylabel("false non-match rate (FNMR)")
    ax.set_title("DET curves (dots: the configured thresholds)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
