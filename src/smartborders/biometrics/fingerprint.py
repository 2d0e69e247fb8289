"""Fingerprints: NIST mindtct minutiae, NFIQ 2 quality, Bozorth3 comparison, ISO/IEC 19794-2 templates.

Through nbis-py 0.1.3 (NIST NBIS and NFIQ 2 behind a Rust binding; notes/libraries.md: later releases
need glibc 2.38). EES Art. 17(1)(c): four fingers of the right hand, else of the left; Art. 17(3)-(5):
exemptions are recorded, not faked. An image is 8-bit grey at 500 ppi (ISO/IEC 19794-4), ridges dark.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
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
