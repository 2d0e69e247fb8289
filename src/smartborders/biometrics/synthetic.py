"""Synthetic fingerprints, SFinGe-style (Cappelli, Maio, Maltoni), because no real prints may be used.

A *master* fingerprint is grown the way SFinGe grows one:
1. a fingertip-shaped area;
2. an orientation field from the zero-pole model of Sherlock and Monro, with cores and deltas placed
   for the class (arch, tented arch, left loop, right loop, whorl, in their real-world shares);
3. a ridge frequency for the finger (8-11 px between ridges at 500 ppi);
4. ridges grown from sparse random seeds by repeated filtering with a bank of Gabor filters tuned to
   the local orientation and frequency. Ridge endings and bifurcations appear where the growth meets
   itself, as in a real finger.

An *impression* is one capture of that finger at a sensor. It gets:
- the finger placed with a rotation and an offset;
- a partial contact area (pressure, a finger at the edge of the platen);
- a smooth non-linear (plastic) distortion of the skin;
- dry or wet skin, which thins and breaks or thickens and merges the ridges;
- blur and sensor noise.

The parameters are set so that NIST mindtct + Bozorth3 score impressions of one finger and of two
fingers like real captures: see `tests/biometrics/test_fingerprint.py` and the evaluation report.
Images are 8-bit grey at 500 ppi, ridges dark, as ISO/IEC 19794-4 and NBIS expect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import fft as sfft
from scipy import ndimage
from scipy.spatial import cKDTree

SIZE = 400  # pixels at 500 ppi: 20 mm, a fingertip's flat impression
PPI = 500
_BINS = 16  # orientations in the Gabor bank (neighbouring two mixed per pixel)

CLASSES = ("arch", "tented_arch", "left_loop", "right_loop", "whorl")
# Shares of the fingerprint classes in large real collections (Wilson, Candela, Watson 1994, as SFinGe uses).
CLASS_SHARES = (0.037, 0.029, 0.338, 0.317, 0.279)


@dataclass(frozen=True)
class MasterFingerprint:
    """The ridge pattern of one finger: a continuous ridge signal in [-1, 1] (ridges > 0) and its area."""

    ridges: np.ndarray
    mask: np.ndarray
    kind: str
    period: float
    seed: int


def master(seed: int) -> MasterFingerprint:
    """One synthetic finger, fully determined by `seed`."""
    rng = np.random.default_rng(seed)
    kind = CLASSES[int(rng.choice(len(CLASSES), p=CLASS_SHARES))]
    mask = _fingertip(rng)
    theta = _orientation(kind, rng)
    period = float(rng.uniform(8.0, 10.5))
    ridges = _grow(theta, period, mask, rng)
    return MasterFingerprint(ridges.astype(np.float32), mask, kind, period, seed)


# How far a typical capture strays from the master. Measured over 20 fingers x 3 impressions: at 1.6 /
# 1.5 / 1.5 Bozorth3 misses 11.7 % of genuine pairs at 40 (median 95), at 1.3 / 1.2 / 1.3 none (median
# 140), impostors peaking at 38-39 either way; in between, near what NBIS does on real flat captures
# (a few per cent). The evaluation report has the full distributions.
TYPICAL = {"distortion": 1.45, "partial": 1.35, "noise": 1.4}


def impression(m: MasterFingerprint, seed: int, *, distortion: float = TYPICAL["distortion"],
               partial: float = TYPICAL["partial"], noise: float = TYPICAL["noise"]) -> np.ndarray:
    """One capture of the finger as an 8-bit grey image (ridges dark). `distortion`, `partial` and
    `noise` scale how far this capture strays from the master (0: an ideal capture)."""
    rng = np.random.default_rng([m.seed, seed])
    n = SIZE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    c = (n - 1) / 2
    # Placement on the platen: rotation and translation.
    angle = math.radians(rng.normal(0, 8) * distortion)
    tx, ty = rng.normal(0, 12, 2) * distortion
    # Plastic distortion: a smooth random displacement, weak at the centre of contact and growing
    # towards the edges, where the skin is pulled sideways (Cappelli et al. 2001, simplified).
    amp = 7.0 * distortion
    fields = [ndimage.gaussian_filter(rng.normal(0, 1, (n, n)), 45, mode="reflect") for _ in range(2)]
    fields = [f / (np.abs(f).max() + 1e-9) for f in fields]
    contact = np.array([c, c]) + rng.normal(0, 25, 2) * partial
    r = np.hypot(xx - contact[0], yy - contact[1]) / (n / 2)
    grow = np.clip(r, 0.15, 1.4) ** 1.5
    dx = amp * fields[0] * grow
    dy = amp * fields[1] * grow
    # Where each output pixel comes from in the master.
    xs, ys = xx - c - tx, yy - c - ty
    cos, sin = math.cos(angle), math.sin(angle)
    src_x = cos * xs + sin * ys + c + dx
    src_y = -sin * xs + cos * ys + c + dy
    ridges = ndimage.map_coordinates(m.ridges, [src_y, src_x], order=1, mode="constant", cval=-1.0)
    area = ndimage.map_coordinates(m.mask.astype(np.float32), [src_y, src_x], order=1, mode="constant", cval=0.0)
    # Contact: an ellipse around the contact centre, smaller when the finger is pressed lightly or
    # placed at the edge; outside it the sensor sees nothing.
    ax, ay = (rng.uniform(0.33, 0.5) * n, rng.uniform(0.42, 0.6) * n)
    ax, ay = ax * (1 - 0.35 * partial * rng.random()), ay * (1 - 0.3 * partial * rng.random())
    ellipse = ((xx - contact[0]) / ax) ** 2 + ((yy - contact[1]) / ay) ** 2
    area = area * np.clip((1.0 - ellipse) * 6, 0, 1)
    # Skin: dry skin shows thin, broken ridges; wet skin thick, merging ones.
    wet = rng.normal(0, 0.22) * noise
    breaks = ndimage.gaussian_filter(rng.normal(0, 1, (n, n)), 2.0)
    breaks = breaks / (breaks.std() + 1e-9)
    level = ridges + wet - np.where(wet < 0, 0.25 * noise * np.clip(breaks - 1.0, 0, None), 0.0)
    ink = 1.0 / (1.0 + np.exp(-6.0 * level))  # 1 on a ridge, 0 in a valley
    ink = ink * area
    img = 235.0 - 200.0 * ink
    img = ndimage.gaussian_filter(img, rng.uniform(0.5, 0.9) * max(noise, 0.3))
    img = img + rng.normal(0, 6.0 * noise, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def to_png(image: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image, mode="L").save(buf, format="PNG", dpi=(PPI, PPI))
    return buf.getvalue()


# --- how a master is made -----------------------------------------------------------------------


def _fingertip(rng: np.random.Generator) -> np.ndarray:
    """The finger's area: an ellipse, wider at the top, slightly random."""
    n = SIZE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    cx, cy = n / 2 + rng.normal(0, 5), n / 2 + rng.normal(0, 5)
    a, b = rng.uniform(0.40, 0.47) * n, rng.uniform(0.46, 0.52) * n
    top = np.where(yy < cy, 1.0, 1.0 - 0.15 * (yy - cy) / b)
    return ((xx - cx) / (a * top)) ** 2 + ((yy - cy) / b) ** 2 <= 1.0


def _orientation(kind: str, rng: np.random.Generator) -> np.ndarray:
    """Ridge orientation in [0, pi) per pixel: the zero-pole model, theta = 1/2 (sum of the deltas'
    arguments - sum of the cores' arguments) (Sherlock and Monro 1993), turned by a small angle."""
    n = SIZE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    z = xx + 1j * yy
    c = n / 2
    j = lambda s: rng.normal(0, s)  # noqa: E731 - jitter
    if kind == "arch":
        # No singular point on the finger: a core and a delta far below it bend the ridges into arches.
        cores, deltas = [complex(c + j(10), n * 1.25)], [complex(c + j(10), n * 1.9)]
    elif kind == "tented_arch":
        cores, deltas = [complex(c + j(8), c - 20 + j(10))], [complex(c + j(8), c + 70 + j(10))]
    elif kind == "left_loop":
        cores, deltas = [complex(c + 20 + j(10), c - 30 + j(12))], [complex(c - 90 + j(12), c + 90 + j(12))]
    elif kind == "right_loop":
        cores, deltas = [complex(c - 20 + j(10), c - 30 + j(12))], [complex(c + 90 + j(12), c + 90 + j(12))]
    else:  # whorl: two cores close together, two deltas below on either side
        cores = [complex(c + j(8), c - 45 + j(10)), complex(c + j(8), c + 5 + j(10))]
        deltas = [complex(c - 110 + j(12), c + 95 + j(12)), complex(c + 110 + j(12), c + 95 + j(12))]
    theta = np.zeros((n, n))
    for d in deltas:
        theta += np.angle(z - d)
    for k in cores:
        theta -= np.angle(z - k)
    theta = 0.5 * theta + rng.normal(0, 0.08)
    return np.mod(theta, np.pi)


@lru_cache(maxsize=16)
def _bank(period: float, bins: int = _BINS) -> np.ndarray:
    """Gabor filters along each ridge orientation: a cosine across the ridge under a Gaussian."""
    sigma = period * 0.45
    half = int(math.ceil(2.5 * sigma))
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    out = []
    for b in range(bins):
        t = math.pi * b / bins
        across = -x * math.sin(t) + y * math.cos(t)  # distance across a ridge running at angle t
        g = np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2)) * np.cos(2 * math.pi * across / period)
        out.append(g - g.mean())
    return np.stack(out)


def _grow(theta: np.ndarray, period: float, mask: np.ndarray, rng: np.random.Generator,
          iterations: int = 14) -> np.ndarray:
    """Ridges grown from random seeds by orientation-tuned Gabor filtering (SFinGe's growth step)."""
    n = SIZE
    bank = _bank(round(period, 1))
    pad = bank.shape[1] // 2
    fshape = (n + 2 * pad, n + 2 * pad)
    kernels = sfft.rfft2(bank.astype(np.float32), s=fshape, workers=-1)
    # Each pixel mixes the two nearest orientations of the bank.
    pos = theta / np.pi * _BINS
    lo = np.floor(pos).astype(int) % _BINS
    hi = (lo + 1) % _BINS
    w = pos - np.floor(pos)
    img = np.zeros((n, n))
    seeds = rng.random((n, n)) < 0.002
    img[seeds] = rng.choice([-1.0, 1.0], int(seeds.sum()))
    rows, cols = np.indices((n, n))
    for _ in range(iterations):
        spec = sfft.rfft2(img.astype(np.float32), s=fshape, workers=-1)
        resp = sfft.irfft2(spec[None] * kernels, s=fshape, workers=-1)[:, pad:pad + n, pad:pad + n]
        mixed = (1 - w) * resp[lo, rows, cols] + w * resp[hi, rows, cols]
        scale = np.percentile(np.abs(mixed), 95) + 1e-9
        img = np.tanh(2.5 * mixed / scale)
    return np.where(mask, img, -1.0)


# --- synthetic face descriptors ------------------------------------------------------------------


@dataclass(frozen=True)
class FaceEmbeddingModel:
    """Face descriptors for galleries of millions, where images cannot be made: each identity is a
    point in dlib's 128-d descriptor space, each capture that point plus noise.

    Calibrated on the real model (biometrics/face.py) over scikit-image's photographs:
    - impostors: between lfw_subset faces dlib's distances have median 0.74, 1 % quantile 0.54, 0.1 %
      quantile 0.45 (measured). Independent Gaussian identities give a far narrower spread, so people
      come in look-alike groups: a pair in the same group is closer (about 0.5 apart);
    - captures of one person: 0.06-0.23 apart under flips, rotation, noise, darkening and softening of
      one photograph (measured); median 0.15, and a log-normal spread per capture for the poorer ones
      (the tail is assumed, not measured: captures on other days and cameras differ more)."""

    identity_sd: float = 0.0475  # per dimension: sqrt(2 x 128) x 0.0475 = 0.76 between two people
    lookalike_groups: int = 500  # about 1 impostor pair in 500 is a look-alike pair
    lookalike_share: float = 0.42  # variance share that is individual: look-alikes sqrt(0.42) x 0.76 = 0.49 apart
    capture_sd: float = 0.0094  # per dimension: median genuine distance sqrt(2 x 128) x 0.0094 = 0.15
    capture_spread: float = 0.45  # log-normal sigma of each capture's noise scale

    def identities(self, n: int, rng: np.random.Generator) -> np.ndarray:
        groups = np.random.default_rng(20261129).standard_normal((self.lookalike_groups, 128), dtype=np.float32)
        which = rng.integers(0, self.lookalike_groups, n)
        own = rng.standard_normal((n, 128), dtype=np.float32)
        w = self.lookalike_share
        return ((np.sqrt(1 - w) * groups[which] + np.sqrt(w) * own) * self.identity_sd).astype(np.float32)

    def captures(self, identities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One capture of each identity: its point, moved by that capture's noise."""
        scale = self.capture_sd * np.exp(rng.normal(0, self.capture_spread, (len(identities), 1)))
        noise = rng.standard_normal(identities.shape, dtype=np.float32) * scale.astype(np.float32)
        return (identities + noise).astype(np.float32)


FACE_MODEL = FaceEmbeddingModel()


# --- synthetic minutiae templates ----------------------------------------------------------------
#
# For fingerprint galleries of hundreds of thousands, where rendering and extracting images would take
# days on two cores (about 1.1 s a print), fingers are made at the level of their minutiae: points in
# the fingertip area, pointing along the ridge flow of the finger's class (the same zero-pole model),
# and impressions that move, distort, lose and gain minutiae as captures do. Templates are ISO/IEC
# 19794-2:2005 records that Bozorth3 reads like those of real extractions.
#
# Measured against the image pipeline above (40 fingers x 3 captures each way, NBIS mindtct + Bozorth3):
# - minutiae per print: 67 against 69 (median 66 / 70);
# - genuine Bozorth3: median 103 against 128, FNMR at 44: 7.5 % against 8.6 %;
# - neighbouring minutiae point along the same flow, either way: 75 % of nearest neighbours within
#   15 degrees of parallel or antiparallel, against 85 % (before directions followed a smooth sense
#   field and spurious minutiae the local flow: 57 %);
# - impostor Bozorth3: median 6 against 9, 99th percentile 14 against 29. LIGHTER than extracted
#   prints: prints of one class share more than these do. Raising the minutiae count to 134 matched
#   the impostors (median 10, p99 24) but made genuine comparisons 10x slower than extracted ones and
#   the counts twice as high, so the counts stay real and the 1:N false-positive rate measured on
#   these is a floor: bench/sbms_fingers.py says so and bounds it with the image pipeline's 1:1 rate.


def _singular_points(kind: str, rng: np.random.Generator) -> tuple[list[complex], list[complex]]:
    n = SIZE
    c = n / 2
    j = lambda s: rng.normal(0, s)  # noqa: E731 - jitter
    if kind == "arch":
        return [complex(c + j(10), n * 1.25)], [complex(c + j(10), n * 1.9)]
    if kind == "tented_arch":
        return [complex(c + j(8), c - 20 + j(10))], [complex(c + j(8), c + 70 + j(10))]
    if kind == "left_loop":
        return [complex(c + 20 + j(10), c - 30 + j(12))], [complex(c - 90 + j(12), c + 90 + j(12))]
    if kind == "right_loop":
        return [complex(c - 20 + j(10), c - 30 + j(12))], [complex(c + 90 + j(12), c + 90 + j(12))]
    return ([complex(c + j(8), c - 45 + j(10)), complex(c + j(8), c + 5 + j(10))],
            [complex(c - 110 + j(12), c + 95 + j(12)), complex(c + 110 + j(12), c + 95 + j(12))])


_TURN = 0.10
_SENSE_FREQ = 1.0
_FLIP = 0.25


def minutiae_master(seed: int, mean_count: int = 80) -> np.ndarray:
    """One finger's minutiae: rows of (x, y, direction in radians, kind 1 ending / 2 bifurcation)."""
    rng = np.random.default_rng([7_000_003, seed])
    kind = CLASSES[int(rng.choice(len(CLASSES), p=CLASS_SHARES))]
    cores, deltas = _singular_points(kind, rng)
    n = SIZE
    cx, cy = n / 2 + rng.normal(0, 5), n / 2 + rng.normal(0, 5)
    a, b = rng.uniform(0.40, 0.47) * n, rng.uniform(0.46, 0.52) * n
    want = max(25, int(rng.poisson(mean_count)))
    cand = rng.uniform(0, n, (8 * want, 2))
    cand = cand[((cand[:, 0] - cx) / a) ** 2 + ((cand[:, 1] - cy) / b) ** 2 <= 0.95]
    keep = np.ones(len(cand), bool)
    # Greedy thinning: a point goes if an earlier kept one is within about a ridge period.
    pairs = cKDTree(cand).query_pairs(12.0, output_type="ndarray")
    for i, j in pairs[np.argsort(pairs[:, 0], kind="stable")].tolist():  # i < j, earliest first
        if keep[i]:
            keep[j] = False
    pts = cand[keep][:want]
    xy = pts
    z = xy[:, 0] + 1j * xy[:, 1]
    theta = sum(np.angle(z - d) for d in deltas) - sum(np.angle(z - k) for k in cores)
    theta = 0.5 * theta + rng.normal(0, 0.08) + rng.normal(0, _TURN, len(z))
    # Along the ridge, one way or the other: neighbours mostly point the same way (a smooth field
    # decides), with some turned round, as extracted minutiae do.
    k = rng.normal(0, 1, (3, 2))
    ph = rng.uniform(0, 2 * np.pi, 3)
    field = sum(np.sin((k[i, 0] * xy[:, 0] + k[i, 1] * xy[:, 1]) * np.pi / n * _SENSE_FREQ + ph[i]) for i in range(3))
    sense = (field > 0) ^ (rng.random(len(z)) < _FLIP)
    direction = np.mod(theta + np.pi * sense, 2 * np.pi)
    kinds = rng.choice([1, 2], len(z), p=[0.6, 0.4])
    return np.column_stack([xy, direction, kinds])


def minutiae_impression(master: np.ndarray, seed: int, *, distortion: float = 1.0, jitter: float = 1.2,
                        turn: float = 0.06, miss: float = 0.15, spurious: float = 0.2) -> np.ndarray:
    """One capture's minutiae: placed, distorted, partly lost (contact area, missed by the extractor),
    with spurious ones added and every position and direction a little off."""
    rng = np.random.default_rng([8_000_009, seed, len(master), int(master[0, 0] * 1000)])
    n = SIZE
    c = (n - 1) / 2
    angle = rng.normal(0, 0.14) * distortion
    t = rng.normal(0, 12, 2) * distortion
    x, y = master[:, 0] - c, master[:, 1] - c
    cos, sin = np.cos(angle), np.sin(angle)
    nx, ny = cos * x - sin * y + c + t[0], sin * x + cos * y + c + t[1]
    # Plastic distortion: a smooth displacement growing away from the contact centre.
    contact = np.array([c, c]) + rng.normal(0, 25, 2)
    r = np.hypot(nx - contact[0], ny - contact[1]) / (n / 2)
    k = rng.normal(0, 1, (2, 3))
    ph = rng.uniform(0, 2 * np.pi, (2, 3))
    wave = lambda i: sum(k[i, m] * np.sin((m + 1) * np.pi * (nx + ny * (i + 1)) / n + ph[i, m])  # noqa: E731
                         for m in range(3)) / 3
    amp = 6.0 * distortion * np.clip(r, 0.15, 1.4) ** 1.5
    nx, ny = nx + amp * wave(0), ny + amp * wave(1)
    direction = master[:, 2] + angle + rng.normal(0, turn, len(master))
    # Contact area, and minutiae the extractor misses.
    ax, ay = rng.uniform(0.30, 0.48) * n, rng.uniform(0.38, 0.58) * n
    inside = ((nx - contact[0]) / ax) ** 2 + ((ny - contact[1]) / ay) ** 2 <= 1
    kept = inside & (rng.random(len(master)) > miss) & (nx >= 0) & (nx < n) & (ny >= 0) & (ny < n)
    out = np.column_stack([nx + rng.normal(0, jitter, len(nx)), ny + rng.normal(0, jitter, len(ny)),
                           np.mod(direction, 2 * np.pi), master[:, 3]])[kept]
    # Spurious minutiae from noise, scars, the platen.
    extra = rng.poisson(spurious * max(1, int(kept.sum())))
    if extra:
        ex = contact[0] + ax * 0.9 * rng.uniform(-1, 1, extra)
        ey = contact[1] + ay * 0.9 * rng.uniform(-1, 1, extra)
        ok = (ex >= 0) & (ex < n) & (ey >= 0) & (ey < n)
        # They lie on ridges too: they follow the flow of the nearest true minutia, either way.
        if len(out):
            near = np.argmin((ex[:, None] - out[None, :, 0]) ** 2 + (ey[:, None] - out[None, :, 1]) ** 2, axis=1)
            ea = out[near, 2] + np.pi * (rng.random(extra) < _FLIP) + rng.normal(0, 2 * _TURN, extra)
        else:
            ea = rng.uniform(0, 2 * np.pi, extra)
        spur = np.column_stack([ex, ey, np.mod(ea, 2 * np.pi), rng.choice([1, 2], extra)])[ok]
        out = np.vstack([out, spur])
    return out


_ISO_HEADER = bytes.fromhex("464d520020323000") + b"\x00\x00\x00\x00" + bytes.fromhex("0000019001900000" + "2e000000" + "00")


def iso_template(minutiae: np.ndarray) -> bytes:
    """Minutiae rows (x, y, radians, kind) as an ISO/IEC 19794-2:2005 record laid out as nbis-py writes
    its own (400 x 400 at 500 ppi; up to 255 minutiae)."""
    m = minutiae[:255]
    xi = np.clip(np.round(m[:, 0]), 0, SIZE - 1).astype(np.uint16)
    yi = np.clip(np.round(m[:, 1]), 0, SIZE - 1).astype(np.uint16)
    rec = np.zeros((len(m), 6), np.uint8)
    first = (m[:, 3].astype(np.uint16) << 14) | xi
    rec[:, 0], rec[:, 1], rec[:, 2], rec[:, 3] = first >> 8, first & 255, yi >> 8, yi & 255
    # Our directions are measured with y growing downwards (image rows); ISO angles turn
    # counter-clockwise with y upwards: the mirror image (measured: genuine scores halve without it).
    rec[:, 4] = np.mod(np.round(np.degrees(-m[:, 2]) / 1.40625).astype(np.int64), 256)
    rec[:, 5] = 40
    body = rec.tobytes()
    total = len(_ISO_HEADER) + 1 + len(body)
    return _ISO_HEADER[:8] + total.to_bytes(4, "big") + _ISO_HEADER[12:] + bytes([len(m)]) + body
