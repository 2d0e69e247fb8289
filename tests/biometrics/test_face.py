"""Faces with the real dlib model on scikit-image's bundled photographs (public specimens)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from skimage import data, filters, transform

from smartborders.biometrics import face
from smartborders.core.errors import InvalidInput
from tests.conftest import run_cli

ASTRONAUT = data.astronaut()


def png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def lfw_face(i: int) -> np.ndarray:
    """One of the 100 faces of lfw_subset (25 x 25 grey), enlarged as a camera would deliver it."""
    return (transform.resize(data.lfw_subset()[i], (200, 200), order=3) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def reference() -> face.FaceSample:
    return face.capture(ASTRONAUT)


def test_a_frontal_photograph_passes_the_gate_despite_a_false_detection(reference):
    q = reference.quality
    # HOG also fires on the badge (notes/libraries.md): one face is counted, the right one is used.
    assert q.passed and q.faces == 1
    assert 38 < q.eye_distance < 50 and abs(q.yaw) < 0.1 and abs(q.roll_deg) < 8
    left, top, right, bottom = reference.box
    assert 150 < left < 200 and 60 < top < 100 and right - left > 60
    assert reference.embedding.shape == (128,) and reference.embedding.dtype == np.float32


@pytest.mark.parametrize("name, variant", [
    ("mirrored", lambda im: im[:, ::-1]),
    ("rotated 8 degrees", lambda im: (transform.rotate(im, 8) * 255).astype(np.uint8)),
    ("sensor noise", lambda im: np.clip(im + np.random.default_rng(1).normal(0, 12, im.shape), 0, 255)
     .astype(np.uint8)),
    ("40 % darker", lambda im: (im * 0.6).astype(np.uint8)),
    ("slightly soft", lambda im: (filters.gaussian(im, 1.0, channel_axis=-1) * 255).astype(np.uint8)),
])
def test_the_same_person_matches_across_capture_conditions(reference, name, variant):
    other = face.capture(variant(ASTRONAUT))
    c = face.compare(reference, other)
    assert c.match and c.distance < 0.35, (name, c.distance)


def test_other_people_do_not_match(reference):
    others = [face.capture(lfw_face(i), gate=False) for i in range(0, 100, 3)]
    found = [o for o in others if o.quality.faces]
    assert len(found) >= 25
    distances = [face.compare(reference, o).distance for o in found]
    assert min(distances) > face.FACE_THRESHOLD + 0.1


@pytest.mark.parametrize("name, image, reason", [
    ("blurred", (filters.gaussian(ASTRONAUT, 2.5, channel_axis=-1) * 255).astype(np.uint8), "image blurred"),
    ("far away", (transform.rescale(ASTRONAUT, 0.4, channel_axis=-1) * 255).astype(np.uint8), "face too small"),
    ("tilted", (transform.rotate(ASTRONAUT, 25) * 255).astype(np.uint8), "head tilted"),
    ("dark", (ASTRONAUT * 0.15).astype(np.uint8), "under-exposed"),
    ("no face", np.stack([data.camera()] * 3, axis=-1), "no face found"),
    ("a blank wall", np.full((300, 300, 3), 128, np.uint8), "no face found"),
    ("two people", np.hstack([ASTRONAUT[:, 100:350], ASTRONAUT[:, 100:350]]), "2 faces"),
])
def test_the_gate_rejects_with_a_reason_the_guard_can_act_on(name, image, reason):
    with pytest.raises(face.FaceRejected) as err:
        face.capture(image)
    assert any(reason in r for r in err.value.extensions.get("reasons", [err.value.detail])), err.value.detail
    assert err.value.status == 422 and err.value.slug == "face-quality"
    # Without the gate the sample carries the same reasons, for evaluation.
    assert any(reason in r for r in face.capture(image, gate=False).quality.reasons)


def test_a_chip_portrait_is_not_held_to_the_live_capture_size():
    small = (transform.rescale(ASTRONAUT, 0.4, channel_axis=-1) * 255).astype(np.uint8)
    sample = face.capture(small, "chip")
    assert sample.source == "chip" and sample.quality.passed


def test_unreadable_images_are_invalid_input():
    with pytest.raises(InvalidInput):
        face.capture(b"not an image")
    with pytest.raises(InvalidInput):
        face.capture(np.zeros((10, 10, 7), np.uint8))


def test_cli_face_compare_keeps_its_contract(tmp_path):
    a, b, c = tmp_path / "a.png", tmp_path / "b.jpg", tmp_path / "c.png"
    a.write_bytes(png(ASTRONAUT))
    Image.fromarray(ASTRONAUT[:, ::-1]).save(b, quality=85)
    c.write_bytes(png(lfw_face(0)))
    same = run_cli("face", "compare", str(a), str(b))
    assert same.returncode == 0, same.stderr
    out = json.loads(same.stdout)
    assert set(out) == {"score", "match", "threshold", "quality"}
    assert out["match"] is True and out["score"] >= out["threshold"] and len(out["quality"]) == 2
    other = json.loads(run_cli("face", "compare", str(a), str(c)).stdout)
    assert other["match"] is False and other["score"] < other["threshold"] == out["threshold"]


def test_cli_face_compare_rejects_with_reasons_on_stderr(tmp_path):
    a, blurred = tmp_path / "a.png", tmp_path / "blurred.png"
    a.write_bytes(png(ASTRONAUT))
    blurred.write_bytes(png((filters.gaussian(ASTRONAUT, 2.5, channel_axis=-1) * 255).astype(np.uint8)))
    res = run_cli("face", "compare", str(a), str(blurred))
    assert res.returncode == 2 and res.stdout == ""
    assert "blurred.png" in res.stderr and "image blurred" in res.stderr
    missing = run_cli("face", "compare", str(a), str(tmp_path / "nope.png"))
    assert missing.returncode == 2 and "nope.png" in missing.stderr


def test_the_synthetic_descriptor_model_matches_the_real_one(reference):
    """biometrics/synthetic.FaceEmbeddingModel stands in for dlib at million scale: its genuine and
    impostor distances must sit where the real model's do on real photographs."""
    from smartborders.biometrics.synthetic import FACE_MODEL

    variants = [ASTRONAUT[:, ::-1], (transform.rotate(ASTRONAUT, 8) * 255).astype(np.uint8),
                (ASTRONAUT * 0.6).astype(np.uint8),
                (filters.gaussian(ASTRONAUT, 1.0, channel_axis=-1) * 255).astype(np.uint8)]
    real_genuine = [face.compare(reference, face.capture(v)).distance for v in variants]
    others = [face.capture(lfw_face(i), gate=False) for i in range(0, 100, 5)]
    real_impostor = [face.compare(reference, o).distance for o in others if o.quality.faces]

    rng = np.random.default_rng(2)
    ids = FACE_MODEL.identities(2000, rng)
    a, b = FACE_MODEL.captures(ids, rng), FACE_MODEL.captures(ids, rng)
    genuine = np.linalg.norm(a - b, axis=1)
    impostor = np.linalg.norm(a[:1000] - b[1000:], axis=1)
    assert min(real_genuine) <= np.median(genuine) <= max(real_genuine)
    assert abs(np.median(impostor) - np.median(real_impostor)) < 0.1
    # The two populations are separated as the real ones are, on either side of the threshold.
    assert np.percentile(genuine, 99) < face.FACE_THRESHOLD < np.percentile(impostor, 0.1)
