"""Fingerprints: NIST mindtct minutiae, NFIQ 2 quality, Bozorth3 comparison, ISO/IEC 19794-2 templates.

Through nbis-py 0.1.3 (NIST NBIS and NFIQ 2 behind a Rust binding; notes/libraries.md: later releases
need glibc 2.38). EES Art. 17(1)(c): four fingers of the right hand, else of the left; Art. 17(3)-(5):
exemptions are recorded, not faked. An image is 8-bit grey at 500 ppi (ISO/IEC 19794-4), ridges dark.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from smartborders.core.errors import InvalidInput

PPI = 500.0
# NFIQ 2 (ISO/IEC 29794-4) gives 0-100. Below 20 a print rarely matches even itself; enrolment
# policies commonly ask 30-40. We reject under 20 and record the score so a policy can ask more.
MIN_NFIQ2 = 20
# Bozorth3 needs a dozen minutiae to find the pairs it scores; a print with fewer is a smudge.
MIN_MINUTIAE = 12
# Bozorth3 score at or above which two prints are the same finger, set at a stated false-match rate
# of 1e-3: on synthetic captures (biometrics/synthetic.py, 60 fingers x 3 impressions, 15,930
# impostor pairs; `smartborders biometrics report`) 44 gives FMR <= 1e-3 with FNMR 7.2 %, where
# NIST's customary 40 gave FMR 2.5e-3 (and 52 would give FMR 1e-4 at FNMR 10 %). Four fingers are
# compared at a border, not one.
FINGER_THRESHOLD = 44


class FingerprintRejected(InvalidInput):
    slug = "fingerprint-quality"
    title = "The fingerprint image does not pass the capture quality gate"


@dataclass(frozen=True)
class FingerprintSample:
    """One finger's capture: the ISO/IEC 19794-2:2005 template, the minutiae count and NFIQ 2."""

    template: bytes = field(repr=False)
    minutiae: int
    nfiq2: int
    reasons: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.reasons

    def to_json(self) -> dict[str, Any]:
        return {"nfiq2": self.nfiq2, "minutiae": self.minutiae, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class FingerprintComparison:
    score: int
    threshold: int = FINGER_THRESHOLD

    @property
    def match(self) -> bool:
        return self.score >= self.threshold


class _Nbis:
    """The extractor, made once and used under a lock (a native object; one call at a time)."""

    lock = threading.Lock()
    _made: dict[bool, Any] = {}

    @classmethod
    def extractor(cls, capture: bool) -> Any:
        """For captures: NFIQ 2, and NBIS's check that the image is a fingerprint at all (a face or
        a blank platen gives no minutiae instead of dozens of false ones). For comparisons: neither."""
        import nbis

        if capture not in cls._made:
            cls._made[capture] = nbis.new_nbis_extractor(nbis.NbisExtractorSettings(
                min_quality=0.0, get_center=capture, check_fingerprint=capture, compute_nfiq2=capture, ppi=PPI))
        return cls._made[capture]


def _png(image: np.ndarray | bytes | str | Path) -> bytes:
    """Image bytes NBIS can read: PNG/JPEG/... as given, or an array encoded as PNG at 500 ppi."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, np.ndarray):
        if image.ndim != 2:
            raise InvalidInput(f"a fingerprint image is grey (2-d), not of shape {image.shape}")
        buf = io.BytesIO()
        Image.fromarray(image.astype(np.uint8), mode="L").save(buf, format="PNG", dpi=(PPI, PPI))
        return buf.getvalue()
    data = image if isinstance(image, bytes) else Path(image).read_bytes()
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.mode != "L":  # NBIS reads grey images; colour scans are converted
                buf = io.BytesIO()
                im.convert("L").save(buf, format="PNG", dpi=(PPI, PPI))
                return buf.getvalue()
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput(f"not a readable image: {exc}") from None
    return data


def capture(image: np.ndarray | bytes | str | Path, *, gate: bool = True) -> FingerprintSample:
    """Minutiae and NFIQ 2 of one finger's image. With `gate`, a print that fails the quality gate
    raises `FingerprintRejected` with its reasons; without, the sample carries them."""
    import nbis

    data = _png(image)
    try:
        with _Nbis.lock:
            found = _Nbis.extractor(True).extract_minutiae(data)
            quality = int(found.quality().score)
            count = len(found.get())
            template = bytes(found.to_iso_19794_2_2005())
    except nbis.NbisError as exc:
        raise InvalidInput(f"no fingerprint could be read from the image (NBIS: {type(exc).__name__})") from None
    reasons = []
    if count < MIN_MINUTIAE:
        reasons.append(f"only {count} minutiae found (at least {MIN_MINUTIAE}): place the finger flat and press "
                       "evenly" if count else "no fingerprint found on the image")
    if count and quality < MIN_NFIQ2:
        reasons.append(f"NFIQ 2 quality {quality} below {MIN_NFIQ2}: clean the platen, dry or moisten the finger, "
                       "and capture again")
    sample = FingerprintSample(template, count, quality, tuple(reasons))
    if gate and reasons:
        raise FingerprintRejected("the fingerprint fails the quality gate: " + "; ".join(reasons),
                                  quality=sample.to_json(), reasons=reasons)
    return sample


def compare(a: FingerprintSample | bytes, b: FingerprintSample | bytes,
            threshold: int = FINGER_THRESHOLD) -> FingerprintComparison:
    """Bozorth3 over two ISO/IEC 19794-2 templates (about 12 ms a pair: 1:1 and short lists only)."""
    import nbis

    ta = a.template if isinstance(a, FingerprintSample) else a
    tb = b.template if isinstance(b, FingerprintSample) else b
    try:
        with _Nbis.lock:
            ext = _Nbis.extractor(False)
            score = ext.load_iso_19794_2_2005(ta).compare(ext.load_iso_19794_2_2005(tb))
    except nbis.NbisError as exc:
        raise InvalidInput(f"not an ISO/IEC 19794-2:2005 template: {exc}") from None
    return FingerprintComparison(int(score), threshold)


# --- a fixed-length feature for 1:N pre-selection -------------------------------------------------
#
# Bozorth3 costs milliseconds a pair; a search over 100,000 people's fingers must first find the few
# worth comparing. The feature of one print is the soft histogram of its minutia pairs within 80 px
# (the pair's length, and each minutia's direction relative to the line joining them): unchanged by
# where the finger lies on the platen and how it is turned, and kept fine (4 px, 18 degrees) because
# coarse bins only tell the pattern class. A seeded very sparse random projection (each bin added to 8 of
# the outputs with random signs; Li, Hastie, Church 2006) takes its 7,200 bins to 1,024 numbers and
# keeps inner products, which PCA did not: it kept the class and dropped the detail (measured: tests/interop/test_finger_index.py, bench/sbms_fingers.py).

FEATURE_DIM = 1024
_D_MIN, _D_MAX, _D_BINS, _A_BINS = 8.0, 80.0, 18, 20
_HIST = _D_BINS * _A_BINS * _A_BINS
_ISO_MIN_HEADER = 26


_SPREAD = 8  # output numbers each bin is added to, with random signs (a very sparse projection)


@lru_cache(maxsize=1)
def _projection() -> tuple[np.ndarray, np.ndarray]:
    """Where each histogram bin goes, and with which sign: seeded, so every process agrees."""
    rng = np.random.default_rng(20_261_130)
    to = np.stack([rng.choice(FEATURE_DIM, _SPREAD, replace=False) for _ in range(_HIST)])
    sign = rng.choice(np.array([-1.0, 1.0]), (_HIST, _SPREAD)) / np.sqrt(_SPREAD)
    return to, sign


def minutiae_of(template: bytes) -> np.ndarray:
    """The minutiae of an ISO/IEC 19794-2:2005 record (first finger view) as rows of (x, y, direction
    in radians counter-clockwise with y up, kind 1 ending / 2 bifurcation)."""
    if len(template) < _ISO_MIN_HEADER or template[:4] != b"FMR\x00":
        raise InvalidInput("not an ISO/IEC 19794-2:2005 template")
    count = template[_ISO_MIN_HEADER - 1]
    body = template[_ISO_MIN_HEADER:_ISO_MIN_HEADER + 6 * count]
    if len(body) < 6 * count:
        raise InvalidInput("ISO/IEC 19794-2 template cut short")
    rec = np.frombuffer(body, np.uint8).reshape(count, 6).astype(np.int64)
    x = ((rec[:, 0] & 0x3F) << 8) | rec[:, 1]
    y = ((rec[:, 2] & 0x3F) << 8) | rec[:, 3]
    return np.column_stack([x, -y, np.radians(rec[:, 4] * 1.40625), rec[:, 0] >> 6]).astype(np.float64)


def feature(template: FingerprintSample | bytes) -> np.ndarray:
    """The print's 1:N pre-selection feature (FEATURE_DIM float32, not normalised)."""
    m = minutiae_of(template.template if isinstance(template, FingerprintSample) else template)
    x, y, a = m[:, 0], m[:, 1], m[:, 2]
    dx, dy = x[None, :] - x[:, None], y[None, :] - y[:, None]
    d = np.hypot(dx, dy)
    i, j = np.nonzero((d >= _D_MIN) & (d < _D_MAX))
    line = np.arctan2(dy[i, j], dx[i, j])
    fd = (d[i, j] - _D_MIN) / (_D_MAX - _D_MIN) * _D_BINS - 0.5
    fi = np.mod(a[i] - line, 2 * np.pi) / (2 * np.pi) * _A_BINS - 0.5
    fj = np.mod(a[j] - line, 2 * np.pi) / (2 * np.pi) * _A_BINS - 0.5
    d0, i0, j0 = np.floor(fd).astype(np.int64), np.floor(fi).astype(np.int64), np.floor(fj).astype(np.int64)
    wd, wi, wj = fd - d0, fi - i0, fj - j0
    hist = np.zeros(_HIST)
    for od, w1 in ((0, 1 - wd), (1, wd)):  # linear interpolation into the 8 neighbouring bins
        db = d0 + od
        w1 = w1 * ((db >= 0) & (db < _D_BINS))
        db = np.clip(db, 0, _D_BINS - 1)
        for oi, w2 in ((0, 1 - wi), (1, wi)):
            for oj, w3 in ((0, 1 - wj), (1, wj)):
                idx = (db * _A_BINS + (i0 + oi) % _A_BINS) * _A_BINS + (j0 + oj) % _A_BINS
                hist += np.bincount(idx, w1 * w2 * w3, minlength=_HIST)
    v = np.sqrt(hist)  # Hellinger: dense areas do not drown the rest
    v /= np.linalg.norm(v) + 1e-9
    nz = np.flatnonzero(v)
    to, sign = _projection()
    return np.bincount(to[nz].ravel(), (sign[nz] * v[nz, None]).ravel(), minlength=FEATURE_DIM).astype(np.float32)
