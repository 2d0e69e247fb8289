"""Fingerprint 1:N: the pre-selection puts the mate on the short list, Bozorth3 decides, the sBMS keeps
its index in step with the database."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from smartborders.biometrics import fingerprint as FP
from smartborders.biometrics import synthetic as syn
from smartborders.core.db import unit_of_work
from smartborders.core.errors import InvalidInput
from smartborders.interop.finger_index import FingerIndex
from smartborders.interop.sbms import BiometricMatchingService

FINGERS = ("right_index", "right_middle", "right_ring", "right_little")
PEOPLE = 250
AT = datetime(2026, 11, 30, 9, tzinfo=UTC)


def _capture(person: int, finger: int, capture: int) -> bytes:
    return syn.iso_template(syn.minutiae_impression(syn.minutiae_master(900_000 + person * 10 + finger), capture))


@pytest.fixture(scope="module")
def gallery() -> dict[int, dict[str, bytes]]:
    return {p: {FINGERS[f]: _capture(p, f, 0) for f in range(4)} for p in range(PEOPLE)}


@pytest.fixture(scope="module")
def index(gallery) -> FingerIndex:
    ix = FingerIndex()
    ix.add_many({p: {pos: (FP.feature(t), t) for pos, t in fingers.items()} for p, fingers in gallery.items()})
    return ix


def test_minutiae_are_read_back_from_an_iso_template():
    m = syn.minutiae_impression(syn.minutiae_master(5), 0)
    back = FP.minutiae_of(syn.iso_template(m))
    assert len(back) == len(m)
    assert np.allclose(back[:, 0], np.clip(np.round(m[:, 0]), 0, syn.SIZE - 1))
    assert np.allclose(-back[:, 1], np.clip(np.round(m[:, 1]), 0, syn.SIZE - 1))
    turn = np.angle(np.exp(1j * (-back[:, 2] - m[:, 2])))  # circular difference
    assert np.abs(turn).max() < 0.013  # ISO keeps 1.40625-degree steps
    with pytest.raises(InvalidInput):
        FP.minutiae_of(b"not a template at all, really")
    with pytest.raises(InvalidInput):
        FP.minutiae_of(syn.iso_template(m)[:40])


def test_four_fingers_put_the_mate_first_where_one_finger_often_does_not(index):
    four_first = one_first = 0
    for p in range(40):
        probes = {FINGERS[f]: _capture(p, f, 1) for f in range(4)}
        four_first += index.preselect(probes, 1)[0][0] == p
        one_first += index.preselect({"right_index": probes["right_index"]}, 1)[0][0] == p
    assert four_first == 40
    assert one_first < 40  # one finger alone tells fewer people apart (the reason for four)


def test_bozorth3_on_the_short_list_decides(index):
    mated = index.search({FINGERS[f]: _capture(7, f, 2) for f in range(4)})
    assert mated[0].person == 7 and mated[0].match(4) and mated[0].fingers_matched >= 2
    assert not any(h.match(4) for h in mated[1:])
    # Bozorth3 stops once a person is decided: an impostor is dropped after three misses at most.
    assert all(len(h.scores) <= 3 for h in mated[1:])
    stranger = index.search({FINGERS[f]: _capture(PEOPLE + 3, f, 1) for f in range(4)})
    assert stranger and not any(h.match(4) for h in stranger)


def test_removed_people_and_thumbs_are_not_searched(gallery):
    ix = FingerIndex()
    ix.add_many({p: {pos: (FP.feature(t), t) for pos, t in fingers.items()} for p, fingers in gallery.items()})
    probes = {FINGERS[f]: _capture(11, f, 1) for f in range(4)}
    assert ix.search(probes)[0].person == 11
    ix.remove(11)
    assert all(h.person != 11 for h in ix.search(probes))
    assert ix.preselect({"right_thumb": probes["right_index"]}) == []


def test_the_sbms_identifies_by_fingers_over_every_enrolled_person(ees_engine, gallery):
    sbms = BiometricMatchingService(ees_engine)

    def sample(t: bytes) -> FP.FingerprintSample:
        return FP.FingerprintSample(t, len(FP.minutiae_of(t)), 60)

    with unit_of_work(ees_engine) as s:
        for p, fingers in gallery.items():
            sbms.enrol(s, f"EES:{p}", "EES", AT, fingers={pos: sample(t) for pos, t in fingers.items()})
    probes = {FINGERS[f]: sample(_capture(42, f, 1)) for f in range(4)}
    with unit_of_work(ees_engine, readonly=True) as s:
        found = sbms.identify_fingers(s, probes)
    assert found[0].subject == "EES:42" and found[0].match and not any(c.match for c in found[1:])
    # Another process (a fresh service) builds the same index from the stored features.
    with unit_of_work(ees_engine, readonly=True) as s:
        assert BiometricMatchingService(ees_engine).identify_fingers(s, probes)[0].subject == "EES:42"
    # Erased elsewhere: dropped from the answer; a re-enrolled person is found again.
    with unit_of_work(ees_engine) as s:
        sbms.erase(s, "EES:42")
    with unit_of_work(ees_engine, readonly=True) as s:
        assert all(c.subject != "EES:42" for c in sbms.identify_fingers(s, probes))
    with unit_of_work(ees_engine) as s:
        sbms.enrol(s, "EES:new-42", "EES", AT, fingers={pos: sample(t) for pos, t in gallery[42].items()})
    with unit_of_work(ees_engine, readonly=True) as s:
        assert sbms.identify_fingers(s, probes, system="EES")[0].subject == "EES:new-42"
