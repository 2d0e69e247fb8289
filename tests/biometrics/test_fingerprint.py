"""Fingerprints through the real NIST NBIS (mindtct, Bozorth3, NFIQ 2) on synthetic fingers."""

from __future__ import annotations

import itertools
import json
import statistics

import numpy as np
import pytest
from skimage import data

from smartborders.biometrics import fingerprint as fp
from smartborders.biometrics import synthetic as syn
from smartborders.core.errors import InvalidInput
from tests.conftest import run_cli

FINGERS = 6
IMPRESSIONS = 3


@pytest.fixture(scope="module")
def captures() -> dict[int, list[fp.FingerprintSample]]:
    out = {}
    for seed in range(100, 100 + FINGERS):
        m = syn.master(seed)
        out[seed] = [fp.capture(syn.impression(m, k), gate=False) for k in range(IMPRESSIONS)]
    return out


def test_a_master_finger_is_a_function_of_its_seed():
    a, b, c = syn.master(7), syn.master(7), syn.master(8)
    assert np.array_equal(a.ridges, b.ridges) and a.kind == b.kind
    assert not np.array_equal(a.ridges, c.ridges)
    assert np.array_equal(syn.impression(a, 1), syn.impression(b, 1))
    assert not np.array_equal(syn.impression(a, 1), syn.impression(a, 2))
    assert {syn.master(s).kind for s in range(12)} >= {"left_loop", "right_loop", "whorl"}


def test_synthetic_captures_read_like_real_ones(captures):
    samples = [s for v in captures.values() for s in v]
    # mindtct finds tens of minutiae on a 20 mm x 20 mm flat print; NFIQ 2 spreads over the usable range.
    assert all(25 <= s.minutiae <= 150 for s in samples), [s.minutiae for s in samples]
    assert 30 <= statistics.median(s.nfiq2 for s in samples) <= 75
    assert sum(s.passed for s in samples) >= 0.9 * len(samples)
    assert all(len(s.template) > 100 for s in samples)


def test_genuine_and_impostor_scores_fall_where_real_ones_do(captures):
    genuine = [fp.compare(a, b).score for v in captures.values() for a, b in itertools.combinations(v, 2)]
    impostor = [fp.compare(x[0], y[1]).score for x, y in itertools.combinations(captures.values(), 2)]
    # Real captures: genuine Bozorth3 scores mostly 40-300, impostors mostly under 30 (NIST NBIS docs).
    assert 60 <= statistics.median(genuine) <= 300, sorted(genuine)
    assert sum(g >= fp.FINGER_THRESHOLD for g in genuine) >= 0.8 * len(genuine), sorted(genuine)
    assert max(impostor) < fp.FINGER_THRESHOLD, sorted(impostor)
    assert statistics.median(impostor) < 25


def test_comparison_works_on_stored_templates(captures):
    a, b = captures[100][0], captures[100][1]
    assert fp.compare(a.template, b.template).score == fp.compare(a, b).score
    with pytest.raises(InvalidInput):
        fp.compare(b"garbage", b.template)


@pytest.mark.parametrize("name, image", [
    ("a blank platen", np.full((400, 400), 230, np.uint8)),
    ("a face", data.camera()),
])
def test_what_is_not_a_fingerprint_is_rejected(name, image):
    with pytest.raises(fp.FingerprintRejected) as err:
        fp.capture(image)
    assert "no fingerprint found" in " ".join(err.value.extensions["reasons"]), name


def test_cli_fingerprint_compare_keeps_its_contract(tmp_path):
    m, other = syn.master(3), syn.master(4)
    paths = {}
    for name, img in (("a", syn.impression(m, 1)), ("b", syn.impression(m, 2)), ("c", syn.impression(other, 1)),
                      ("blank", np.full((400, 400), 230, np.uint8))):
        paths[name] = tmp_path / f"{name}.png"
        paths[name].write_bytes(syn.to_png(img))
    same = run_cli("fingerprint", "compare", str(paths["a"]), str(paths["b"]))
    assert same.returncode == 0, same.stderr
    out = json.loads(same.stdout)
    assert set(out) == {"score", "match", "threshold", "quality"}
    assert out["match"] is True and out["score"] >= out["threshold"] == fp.FINGER_THRESHOLD
    assert all(0 < q <= 100 for q in out["quality"])
    diff = json.loads(run_cli("fingerprint", "compare", str(paths["a"]), str(paths["c"])).stdout)
    assert diff["match"] is False
    bad = run_cli("fingerprint", "compare", str(paths["a"]), str(paths["blank"]))
    assert bad.returncode == 2 and bad.stdout == "" and "blank.png: no fingerprint found" in bad.stderr


def test_minutiae_level_templates_are_read_and_scored_by_bozorth3():
    """For galleries of 100,000 people: templates made at the minutiae level, without images. They
    load as ISO/IEC 19794-2 records and separate genuine from impostor pairs; neighbouring minutiae
    follow one flow as extracted ones do (synthetic.py has the calibration against the images)."""
    fingers = [syn.minutiae_master(s) for s in range(12)]
    caps = [[syn.iso_template(syn.minutiae_impression(f, k)) for k in range(2)] for f in fingers]
    m = fingers[0]
    assert 40 <= len(m) <= 130 and set(np.unique(m[:, 3])) <= {1.0, 2.0}
    assert np.array_equal(m, syn.minutiae_master(0))
    genuine = [fp.compare(a, b).score for a, b in caps]
    impostor = [fp.compare(x[0], y[1]).score for x, y in itertools.combinations(caps, 2)]
    assert statistics.median(genuine) >= 60 and min(genuine) >= fp.FINGER_THRESHOLD
    assert max(impostor) < fp.FINGER_THRESHOLD
    parallel = []
    for f in fingers:
        d = np.hypot(f[:, None, 0] - f[None, :, 0], f[:, None, 1] - f[None, :, 1]) + np.eye(len(f)) * 1e9
        turn = np.abs(np.angle(np.exp(1j * (f[:, 2] - f[d.argmin(1), 2]))))
        parallel += list((turn < np.radians(15)) | (turn > np.radians(165)))
    assert np.mean(parallel) > 0.7
