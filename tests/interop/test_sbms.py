"""The sBMS over a real database (SQLite and PostgreSQL): templates stored in the caller's
transaction, 1:1 and 1:N answers, and processes that see each other's enrolments and erasures."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from smartborders.biometrics import face as F
from smartborders.biometrics import fingerprint as FP
from smartborders.biometrics import synthetic as syn
from smartborders.core.db import unit_of_work
from smartborders.interop.sbms import BiometricMatchingService

AT = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def sample(vector: np.ndarray) -> F.FaceSample:
    return F.FaceSample(vector.astype(np.float32), F.FaceQuality(faces=1, eye_distance=60, sharpness=100,
                                                                  brightness=120, contrast=50))


@pytest.fixture
def people():
    rng = np.random.default_rng(4)
    identities = syn.FACE_MODEL.identities(60, rng)
    return identities, rng


def enrol_all(engine, sbms, identities, rng, system="EES"):
    with unit_of_work(engine) as s:
        for i, ident in enumerate(identities):
            sbms.enrol(s, f"{system}:{i}", system, AT, face=sample(syn.FACE_MODEL.captures(ident[None], rng)[0]))


def test_identification_finds_the_person_among_all_enrolled(ees_engine, people):
    identities, rng = people
    sbms = BiometricMatchingService(ees_engine)
    enrol_all(ees_engine, sbms, identities, rng)
    probe = sample(syn.FACE_MODEL.captures(identities[7][None], rng)[0])
    found = sbms.identify_face(probe, k=5)
    assert found[0].subject == "EES:7" and found[0].match
    assert [c.match for c in found[1:]] == [False] * 4
    assert all(a.distance <= b.distance for a, b in zip(found, found[1:]))
    with unit_of_work(ees_engine, readonly=True) as s:
        assert sbms.verify_face(s, "EES:7", probe).match
        assert not sbms.verify_face(s, "EES:8", probe).match
        assert sbms.verify_face(s, "EES:unknown", probe) is None


def test_a_new_face_replaces_the_old_and_a_rollback_enrols_nothing(ees_engine, people):
    identities, rng = people
    sbms = BiometricMatchingService(ees_engine)
    enrol_all(ees_engine, sbms, identities[:10], rng)
    stranger = syn.FACE_MODEL.identities(1, rng)[0]
    with unit_of_work(ees_engine) as s:  # Art. 15: the facial image is updated
        sbms.enrol(s, "EES:3", "EES", AT, face=sample(stranger))
    assert not any(c.match for c in sbms.identify_face(sample(identities[3]), k=3))  # the old face is gone
    assert sbms.identify_face(sample(stranger), k=1)[0].subject == "EES:3"
    with pytest.raises(RuntimeError), unit_of_work(ees_engine) as s:
        sbms.enrol(s, "EES:ghost", "EES", AT, face=sample(identities[11]))
        raise RuntimeError("the crossing failed after the enrolment")
    assert all(c.subject != "EES:ghost" for c in sbms.identify_face(sample(identities[11]), k=10))


def test_each_process_sees_what_the_others_enrolled_and_erased(ees_engine, people):
    identities, rng = people
    here, there = BiometricMatchingService(ees_engine), BiometricMatchingService(ees_engine)
    enrol_all(ees_engine, here, identities[:20], rng)
    assert there.identify_face(sample(identities[5]), k=1)[0].subject == "EES:5"  # built from the table
    with unit_of_work(ees_engine) as s:
        assert there.erase(s, "EES:5") == 1
        there.enrol(s, "ETIAS:40", "ETIAS", AT, face=sample(identities[40]))
    answers = here.identify_face(sample(identities[5]), k=20)
    assert "EES:5" not in {c.subject for c in answers}
    assert here.identify_face(sample(identities[40]), k=1)[0].subject == "ETIAS:40"
    assert [c.subject for c in here.identify_face(sample(identities[40]), k=3, system="EES")][:1] != ["ETIAS:40"]


def test_fingerprints_are_verified_and_identified_on_a_short_list(ees_engine):
    sbms = BiometricMatchingService(ees_engine)
    fingers = {seed: syn.master(seed) for seed in (21, 22, 23)}
    with unit_of_work(ees_engine) as s:
        for seed, m in fingers.items():
            sbms.enrol(s, f"EES:{seed}", "EES", AT,
                       fingers={"right_index": FP.capture(syn.impression(m, 0), gate=False)})
    probe = {"right_index": FP.capture(syn.impression(fingers[22], 5), gate=False)}
    with unit_of_work(ees_engine, readonly=True) as s:
        assert sbms.verify_fingers(s, "EES:22", probe)["right_index"].match
        assert not sbms.verify_fingers(s, "EES:21", probe)["right_index"].match
        assert sbms.verify_fingers(s, "EES:22", {"left_thumb": probe["right_index"]}) == {}
        ranked = sbms.identify_fingers(s, probe, ["EES:21", "EES:22", "EES:23"])
    assert ranked[0].subject == "EES:22" and ranked[0].match and not any(c.match for c in ranked[1:])
