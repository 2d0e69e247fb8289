"""Fingerprint identification (1:N) over up to four fingers a person: a pre-selection over fixed-length
features, then Bozorth3 on the short list.

1. Pre-selection. Each print's feature (biometrics/fingerprint.py: a minutia-pair histogram, randomly
   projected to 1,024 numbers) is centred on the gallery's mean and normalised; a person is the four
   of them side by side, by finger (index, middle, ring, little: a left finger stands in for the right
   one, EES Art. 17(1)(c)), zeros where a finger is missing. A probe's score against a person is the
   sum over the fingers both have of the cosine: one exact inner-product scan (faiss) over everyone.
   One finger alone tells few people apart; four together put the mate first (bench/sbms_fingers.py).
2. Decision. Bozorth3 compares the probe's fingers with the same fingers of the `shortlist` best; a
   person is a hit when at least two fingers (one, if only one was given) score at or above the 1:1
   threshold. Two independent fingers at FMR 1e-3 each make a false hit about 1e-6 per person.

Templates stay in memory next to the features: a search reads nothing from disk.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from smartborders.biometrics import fingerprint as FP

SLOTS = ("index", "middle", "ring", "little")
SHORTLIST = 10
# Centre on the gallery's mean once there are this many people (fewer give a noisy mean).
CENTRE_FROM = 200


def slot(position: str) -> int | None:
    """right_index / left_index / index -> 0, ...; None for a thumb (not taken by the EES)."""
    name = position.rsplit("_", 1)[-1]
    return SLOTS.index(name) if name in SLOTS else None


@dataclass(frozen=True)
class FingerHit:
    person: int
    preselection: float  # sum of cosines over the fingers compared
    scores: dict[str, int]  # Bozorth3 per finger position of the probe

    @property
    def fingers_matched(self) -> int:
        return sum(s >= FP.FINGER_THRESHOLD for s in self.scores.values())

    def match(self, fingers_given: int) -> bool:
        return self.fingers_matched >= min(2, fingers_given)

    @property
    def score(self) -> int:
        return sum(self.scores.values())


def _by_slot(fingers: Mapping[str, tuple[np.ndarray, bytes]]) -> dict[int, tuple[np.ndarray, bytes]]:
    out = {}
    for p, (f, t) in fingers.items():
        s = slot(p)
        if s is not None:
            out[s] = (np.asarray(f, np.float32), t)
    return out


class FingerIndex:
    """People's fingers in memory. `add` and `remove` by an integer person id; thread-safe."""

    def __init__(self) -> None:
        import faiss

        self._faiss = faiss
        self._lock = threading.RLock()
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(len(SLOTS) * FP.FEATURE_DIM))
        self._templates: dict[int, dict[int, bytes]] = {}
        self._mean: np.ndarray | None = None
        self._pending: dict[int, dict[int, tuple[np.ndarray, bytes]]] = {}

    def __len__(self) -> int:
        return len(self._templates) + len(self._pending)

    def add(self, person: int, fingers: Mapping[str, tuple[np.ndarray, bytes]]) -> None:
        """The person's fingers: position -> (feature, ISO template). Replaces what was there."""
        by_slot = _by_slot(fingers)
        with self._lock:
            self.remove(person)
            if self._mean is None:
                self._pending[person] = by_slot
                if len(self._pending) >= CENTRE_FROM:
                    self._settle()
            else:
                self._insert({person: by_slot})

    def add_many(self, people: Mapping[int, Mapping[str, tuple[np.ndarray, bytes]]]) -> None:
        with self._lock:
            for person, fingers in people.items():
                self.remove(person)
                self._pending[person] = _by_slot(fingers)
            if self._mean is not None or len(self._pending) >= CENTRE_FROM:
                self._settle()

    def remove(self, person: int) -> None:
        with self._lock:
            self._pending.pop(person, None)
            if self._templates.pop(person, None) is not None:
                self._index.remove_ids(np.array([person], np.int64))

    def _settle(self) -> None:
        """Fix the mean (on first use) and move pending people into the index."""
        pending, self._pending = self._pending, {}
        if self._mean is None:
            self._mean = np.mean([f for fingers in pending.values() for f, _ in fingers.values()], axis=0)
        self._insert(pending)

    def _insert(self, people: Mapping[int, Mapping[int, tuple[np.ndarray, bytes]]]) -> None:
        ids = np.fromiter(people, np.int64, len(people))
        rows = np.zeros((len(people), len(SLOTS), FP.FEATURE_DIM), np.float32)
        for r, fingers in enumerate(people.values()):
            for s, (f, _) in fingers.items():
                rows[r, s] = self._normal(f)
        self._index.add_with_ids(rows.reshape(len(people), -1), ids)
        for person, fingers in people.items():
            self._templates[person] = {s: t for s, (_, t) in fingers.items()}

    def _normal(self, f: np.ndarray) -> np.ndarray:
        v = f - self._mean if self._mean is not None else f
        return v / (np.linalg.norm(v) + 1e-9)

    def preselect(self, probes: Mapping[str, FP.FingerprintSample | bytes], k: int = SHORTLIST
                  ) -> list[tuple[int, float]]:
        """The k people whose fingers' features are nearest the probe's: (person, score), best first."""
        q = np.zeros((1, len(SLOTS), FP.FEATURE_DIM), np.float32)
        with self._lock:
            if self._pending:
                self._settle()
            for p, sample in probes.items():
                s = slot(p)
                if s is not None:
                    q[0, s] = self._normal(FP.feature(sample))
            if not self._templates or not q.any():
                return []
            scores, ids = self._index.search(q.reshape(1, -1), min(k, len(self._templates)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def search(self, probes: Mapping[str, FP.FingerprintSample | bytes], shortlist: int = SHORTLIST, *,
               every_finger: bool = False) -> list[FingerHit]:
        """Pre-selection, then Bozorth3 of the probe's fingers against the same fingers of each
        short-listed person, best pre-selected finger first, stopping as soon as the person is decided
        (enough fingers matched, or too few left to match): a genuine pair costs Bozorth3 tens of
        milliseconds, an impostor one about one. Every short-listed person with the scores compared,
        hits first, then by Bozorth3 sum. `every_finger`: no stopping (evaluation: comparable sums)."""
        need = min(2, len(probes))
        out = []
        for person, pre in self.preselect(probes, shortlist):
            stored = self._templates.get(person, {})
            common = [p for p in probes if slot(p) in stored]
            scores: dict[str, int] = {}
            matched = 0
            for i, p in enumerate(common):
                scores[p] = FP.compare(probes[p], stored[slot(p)]).score
                matched += scores[p] >= FP.FINGER_THRESHOLD
                if not every_finger and (matched >= need or matched + len(common) - i - 1 < need):
                    break
            out.append(FingerHit(person, pre, scores))
        return sorted(out, key=lambda h: (not h.match(len(probes)), -h.score))
