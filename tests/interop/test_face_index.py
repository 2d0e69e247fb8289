"""The sBMS face index: the exact scan is the reference; the approximate and sharded ones agree with it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartborders.biometrics.synthetic import FACE_MODEL
from smartborders.interop.face_index import ApproximateFaceIndex, ExactFaceIndex, ShardedFaceIndex

N = 20_000


@pytest.fixture(scope="module")
def people() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    identities = FACE_MODEL.identities(N, rng)
    return identities, FACE_MODEL.captures(identities, rng)


def probes(identities: np.ndarray, who: np.ndarray, seed: int = 9) -> np.ndarray:
    return FACE_MODEL.captures(identities[who], np.random.default_rng(seed))


def test_the_exact_scan_finds_the_enrolled_capture_at_its_true_distance(people):
    identities, gallery = people
    index = ExactFaceIndex()
    index.add(np.arange(1000, 1000 + N), gallery)
    who = np.arange(0, N, 97)
    hits = index.search(probes(identities, who), 3)
    assert np.array_equal(hits.ids[:, 0], who + 1000)
    true = np.linalg.norm(probes(identities, who) - gallery[who], axis=1)
    assert np.allclose(hits.distances[:, 0], true, atol=1e-4)
    assert np.all(np.diff(hits.distances, axis=1) >= 0)


def test_removed_subjects_are_never_found_again(people):
    identities, gallery = people
    for index in (ExactFaceIndex(), ApproximateFaceIndex(cells=64, probe=8)):
        index.add(np.arange(N), gallery)
        assert index.remove(np.array([5, 6, 7, 10**9])) == 3
        hits = index.search(probes(identities, np.array([5, 6, 7, 8])), 5)
        assert not np.isin(hits.ids, [5, 6, 7]).any() and hits.ids[3, 0] == 8
        assert len(index) == N - 3
        index.add(np.array([6]), gallery[6:7])  # enrolled again: found again
        assert index.search(probes(identities, np.array([6])), 1).ids[0, 0] == 6


def test_the_approximate_index_agrees_with_the_exact_scan(people):
    identities, gallery = people
    exact, approx = ExactFaceIndex(), ApproximateFaceIndex(cells=128, probe=12)
    exact.add(np.arange(N), gallery)
    approx.add(np.arange(N), gallery)
    who = np.random.default_rng(1).choice(N, 500, replace=False)
    q = probes(identities, who)
    e, a = exact.search(q, 1), approx.search(q, 1)
    assert (a.ids[:, 0] == e.ids[:, 0]).mean() >= 0.99
    same = a.ids[:, 0] == e.ids[:, 0]
    # Re-ranked exactly: where the answer is the same, so is its distance.
    assert np.allclose(a.distances[same, 0], e.distances[same, 0], atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(shards=st.integers(1, 5), k=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_a_sharded_index_answers_as_one_index(shards, k, seed):
    rng = np.random.default_rng(seed)
    gallery = FACE_MODEL.captures(FACE_MODEL.identities(600, rng), rng)
    ids = rng.choice(10**6, 600, replace=False)
    single, sharded = ExactFaceIndex(), ShardedFaceIndex([ExactFaceIndex() for _ in range(shards)])
    single.add(ids, gallery)
    sharded.add(ids, gallery)
    q = gallery[rng.choice(600, 5)] + rng.normal(0, 0.01, (5, 128)).astype(np.float32)
    a, b = single.search(q, k), sharded.search(q, k)
    assert np.allclose(a.distances, b.distances, atol=1e-5)
    assert np.array_equal(a.ids[:, 0], b.ids[:, 0]) and len(sharded) == 600


def test_descriptors_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="128-d"):
        ExactFaceIndex().add(np.arange(2), np.zeros((2, 64), np.float32))
