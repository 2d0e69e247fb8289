"""The evaluation's arithmetic (ISO/IEC 19795-1 rates) and the report command end to end."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from smartborders.biometrics.evaluation import Det, Identification
from tests.conftest import run_cli

scores = st.lists(st.integers(0, 50), min_size=1, max_size=200).map(lambda xs: np.array(xs, float))


def test_rates_by_hand():
    d = Det("x", genuine=np.array([5.0, 6, 7, 8]), impostor=np.array([1.0, 2, 3, 6]), threshold=6)
    assert d.rates(6) == (0.25, 0.25)  # impostor 6 >= 6 matches; genuine 5 < 6 does not
    assert d.threshold_at_fmr(0.25) == np.nextafter(3.0, np.inf)  # one impostor of four may pass
    assert d.fnmr_at_fmr(0.25) == 0.0  # every genuine score is above 3
    assert d.threshold_at_fmr(0.1) is None  # 4 pairs cannot resolve 10 %
    fmr, fnmr = d.curve()
    assert np.all(np.diff(fmr) <= 0) and np.all(np.diff(fnmr) >= 0)


@settings(max_examples=200, deadline=None)
@given(genuine=scores, impostor=scores, fmr=st.sampled_from([0.5, 0.1, 0.01]))
def test_the_threshold_at_an_fmr_keeps_it_and_is_the_lowest_that_does(genuine, impostor, fmr):
    d = Det("p", genuine, impostor, threshold=25)
    t = d.threshold_at_fmr(fmr)
    if t is None:
        assert len(impostor) * fmr < 1
        return
    assert d.rates(t)[0] <= fmr
    below = np.nextafter(np.max(impostor[impostor < t], initial=-np.inf), -np.inf)
    assert below == -np.inf or d.rates(below)[0] > fmr or not np.any(impostor < t)


def test_identification_rates():
    i = Identification("x", mated_top=np.array([0.9, 0.8, -np.inf]), nonmated_top=np.array([0.1, 0.7, 0.2, 0.3]),
                       threshold=0.5, gallery=10)
    assert i.at(0.5) == (0.25, 1 / 3)
    t, fnir = i.fnir_at_fpir(0.25)
    assert t > 0.3 and fnir == i.at(t)[1]


def test_the_report_command_writes_its_table_and_plot(tmp_path):
    res = run_cli("biometrics", "report", "--quick", "--json", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    whats = " ".join(r["what"] for r in out["rows"])
    for part in ("face, synthetic descriptors: FNMR at FMR 0.001", "FNMR at FMR 0.0001", "FNIR at FPIR 0.001",
                 "dlib on real photographs", "fingerprint, NBIS on synthetic prints", "fingerprint 1:N",
                 "fingerprint 1:N, 4 fingers, sBMS search"):
        assert part in whats
    four = next(r for r in out["rows"] if r["what"].startswith("fingerprint 1:N, 4 fingers")
                and "configured" in r["what"])
    assert four["measured"] == "FPIR 0 %, FNIR 0 %", four  # 250 people: four fingers leave no doubt
    assert (tmp_path / "det.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
