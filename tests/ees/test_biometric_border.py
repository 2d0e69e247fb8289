"""The border check with real biometrics (dlib faces, NBIS fingerprints), on SQLite and PostgreSQL:
verification against the file, identification when no file is found, templates in the sBMS."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import numpy as np
import pytest
from PIL import Image

from smartborders.biometrics.face import FaceRejected
from smartborders.ees import modes, service
from smartborders.ees import purge as P
from smartborders.ees import schemas as S
from smartborders.ees.service import run
from smartborders.interop.sbms import service_for
from tests.ees.factory import Traveller, clock, document
from tests.specimens import b64, face_png, finger_png, four_fingers


def mirrored(png: bytes) -> bytes:
    img = np.asarray(Image.open(io.BytesIO(png)))[:, ::-1]
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def records(engine, c, t) -> int:
    found = run(engine, c, lambda ctx: service.search(ctx, S.SearchRequest(document=t.document)), readonly=True)
    return len(found.file.records) if found.file else 0


def test_a_travellers_biometrics_are_enrolled_then_verified_at_every_crossing(ees_engine):
    c, t = clock(), Traveller("USA")
    first = S.BiometricsIn(face=b64(face_png()), fingerprints=four_fingers(41))
    entry = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=first)))
    assert entry.file_created and entry.biometrics.enrolled and entry.biometrics.face_match is None
    assert entry.biometrics.face_quality > 40
    c.advance(timedelta(days=4))
    at_exit = S.BiometricsIn(face=b64(mirrored(face_png())))
    out = run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit(biometrics=at_exit)))
    assert out.biometrics.face_match and out.biometrics.face_score > 0.55 and not out.biometrics.enrolled
    c.advance(timedelta(days=20))
    again = S.BiometricsIn(face=b64(face_png()), fingerprints={"right_index": four_fingers(41, 3)["right_index"]})
    back = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=again)))
    assert back.biometrics.face_match and back.biometrics.fingers_compared == 1
    assert back.biometrics.fingers_matched == 1 and back.biometrics.enrolled


def test_someone_else_on_the_document_is_stopped_and_nothing_is_written(ees_engine):
    c, t = clock(), Traveller("CAN")
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=S.BiometricsIn(
        face=b64(face_png(7)), fingerprints=four_fingers(43)))))
    c.advance(timedelta(days=3))
    with pytest.raises(service.BiometricMismatch) as err:
        run(ees_engine, c, lambda ctx: service.record_exit(
            ctx, t.exit(biometrics=S.BiometricsIn(face=b64(face_png(8))))))
    assert err.value.status == 409 and err.value.extensions["check"]["face_match"] is False
    assert records(ees_engine, c, t) == 1
    run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit(biometrics=S.BiometricsIn(face=b64(face_png(7))))))
    with pytest.raises(service.BiometricMismatch):  # the prints on file are another finger's
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=S.BiometricsIn(
            fingerprints={"right_index": b64(finger_png(42))}))))
    assert records(ees_engine, c, t) == 1


def test_a_known_face_under_new_identity_data_is_caught(ees_engine):
    c, first = clock(), Traveller("USA")
    bio = S.BiometricsIn(face=b64(face_png()))
    entry = run(ees_engine, c, lambda ctx: service.record_entry(ctx, first.entry(biometrics=bio)))
    c.advance(timedelta(days=2))
    run(ees_engine, c, lambda ctx: service.record_exit(ctx, first.exit()))
    # A new passport and other identity data: no file by document or identity, but the face is known.
    other = Traveller("BRA")
    other.document = document(state="BRA")
    with pytest.raises(service.BiometricMatchesOtherFile) as err:
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, other.entry(biometrics=S.BiometricsIn(
            face=b64(mirrored(face_png()))))))
    assert err.value.extensions["file_id"] == entry.file_id
    assert records(ees_engine, c, other) == 0
    # A different person with a new passport is registered as usual.
    ok = run(ees_engine, c, lambda ctx: service.record_entry(ctx, other.entry(biometrics=S.BiometricsIn(
        face=b64(face_png(14))))))
    assert ok.file_created and ok.file_id != entry.file_id


def test_known_fingerprints_under_new_identity_data_are_caught_without_a_face(ees_engine):
    """No face at the booth (a kiosk without camera, a face that will not pass): the four fingers are
    identified 1:N over every enrolled file before a new one is created."""
    c, first = clock(), Traveller("USA")
    entry = run(ees_engine, c, lambda ctx: service.record_entry(ctx, first.entry(
        biometrics=S.BiometricsIn(fingerprints=four_fingers(61)))))
    c.advance(timedelta(days=2))
    run(ees_engine, c, lambda ctx: service.record_exit(ctx, first.exit()))
    other = Traveller("BRA")
    other.document = document(state="BRA")
    with pytest.raises(service.BiometricMatchesOtherFile) as err:
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, other.entry(
            biometrics=S.BiometricsIn(fingerprints=four_fingers(61, 2)))))
    assert err.value.extensions["file_id"] == entry.file_id
    assert err.value.extensions["fingers_matched"] >= 2
    assert records(ees_engine, c, other) == 0
    ok = run(ees_engine, c, lambda ctx: service.record_entry(ctx, other.entry(
        biometrics=S.BiometricsIn(fingerprints=four_fingers(62)))))
    assert ok.file_created and ok.file_id != entry.file_id


def test_a_poor_capture_is_refused_before_anything_is_read_or_written(ees_engine):
    from skimage import filters

    c, t = clock(), Traveller("JPN")
    blurred = np.asarray(Image.open(io.BytesIO(face_png())))
    blurred = (filters.gaussian(blurred, 3, channel_axis=-1) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(blurred).save(buf, format="PNG")
    with pytest.raises(FaceRejected) as err:
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=S.BiometricsIn(
            face=b64(buf.getvalue())))))
    assert "image blurred" in " ".join(err.value.extensions["reasons"])
    with pytest.raises(service.InvalidInput, match="fingerprints.right_index"):
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=S.BiometricsIn(
            fingerprints={"right_index": b64(face_png())}))))
    assert records(ees_engine, c, t) == 0


def test_erasing_a_file_erases_its_templates_in_the_sbms(ees_engine):
    c, t = clock(), Traveller("USA")
    res = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=S.BiometricsIn(
        face=b64(face_png(20))))))
    from smartborders.biometrics import face

    probe = face.capture(face_png(20))
    assert service_for(ees_engine).identify_face(probe, k=1)[0].subject == f"EES:{res.file_id}"
    out = run(ees_engine, c, lambda ctx: P.erase_file(ctx, res.file_id, basis="nationality"))
    assert out.detail["biometric_templates"] == 1
    assert service_for(ees_engine).identify_face(probe, k=1) == []


def test_the_check_before_recording_reports_the_biometric_findings(ees_engine):
    c, t = clock(), Traveller("USA")
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=S.BiometricsIn(
        face=b64(face_png(21))))))
    c.advance(timedelta(days=2))

    def check(tr, face):
        req = S.BorderCheckRequest(direction="exit", bcp="NL-AMS", document=tr.document,
                                   biometrics=S.BiometricsIn(face=b64(face)))
        return run(ees_engine, c, lambda ctx: service.border_check(ctx, req), readonly=True)

    same = check(t, face_png(21))
    assert same.biometrics.face_match and not [f for f in same.findings if f.code.startswith("biometric")]
    other = check(t, face_png(22))
    assert other.biometrics.face_match is False and "biometric-mismatch" in {f.code for f in other.findings}
    stranger = Traveller("BRA")
    stranger.document = document(state="BRA")
    known = check(stranger, face_png(21))
    assert known.file is None and "known-under-other-identity" in {f.code for f in known.findings}


def test_under_heavy_traffic_no_biometrics_are_taken_and_the_record_says_so(ees_engine):
    c, t = clock(), Traveller("USA")
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=S.BiometricsIn(
        face=b64(face_png(23))))))
    c.advance(timedelta(days=2))
    run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit()))
    c.advance(timedelta(days=10))
    with pytest.raises(modes.NoHeavyTrafficMode):  # not the crossing point's choice: a supervisor's mode
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(heavy_traffic=True)))
    mode = modes.ModeIn(supervisor="sup.1", mode="no_biometrics", minutes=60, reason="queue over 90 minutes")
    run(ees_engine, c, lambda ctx: modes.set_mode(ctx, "NL-AMS", mode))
    # Another person's face would be a mismatch; with capture suspended it is neither taken nor checked.
    res = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(
        heavy_traffic=True, biometrics=S.BiometricsIn(face=b64(face_png(25))))))
    assert res.biometrics is None
    found = run(ees_engine, c, lambda ctx: service.search(ctx, S.SearchRequest(document=t.document)), readonly=True)
    assert [r.mode for r in found.file.records] == ["full", "heavy_traffic"]
    out = run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit(
        heavy_traffic=True, biometrics=S.BiometricsIn(face=b64(face_png(25))))))
    assert out.biometrics is None


@pytest.mark.parametrize("positions, ok", [
    (("right_index", "right_middle", "right_ring", "right_little"), True),
    (("right_index", "right_middle", "left_ring", "right_little"), True),  # the left ring for a missing right
    (("left_index", "left_middle", "left_ring", "left_little"), True),
    (("right_index", "right_middle", "right_ring"), False),
    (("right_index", "left_index", "right_middle", "right_ring"), False),
])
def test_enrolment_takes_four_fingers_of_one_hand_or_the_other(positions, ok):
    live = service._Live(fingers=dict.fromkeys(positions, object()))
    if ok:
        service._check_four_fingers(live)
    else:
        with pytest.raises(service.InvalidInput, match="Art. 17"):
            service._check_four_fingers(live)


def test_a_finger_taken_again_replaces_only_itself(ees_engine):
    from sqlalchemy import select

    from smartborders.core.db import unit_of_work
    from smartborders.ees.models import BiometricSample

    c, t = clock(), Traveller("USA")
    res = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=S.BiometricsIn(
        fingerprints=four_fingers(41)))))
    c.advance(timedelta(days=1))
    run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit(biometrics=S.BiometricsIn(
        fingerprints={"right_index": four_fingers(41, 2)["right_index"]}))))
    c.advance(timedelta(days=5))
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=S.BiometricsIn(
        fingerprints={"right_middle": four_fingers(41, 1)["right_middle"]}))))
    with unit_of_work(ees_engine, readonly=True) as s:
        fingers = s.scalars(select(BiometricSample.position).where(
            BiometricSample.file_id == uuid.UUID(res.file_id), BiometricSample.kind == "finger")).all()
    assert sorted(fingers) == ["right_index", "right_little", "right_middle", "right_ring"]
