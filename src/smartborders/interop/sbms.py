"""The shared biometric matching service, sBMS (Reg. 2019/817 Art. 12-16): one store of biometric
templates for every system, 1:1 verification and 1:N identification over all of them.

Templates live in the database (`sbms_template`), written in the caller's transaction, so an
enrolment commits or rolls back with the record it belongs to. The face index is memory, built
from the table on first use; each process keeps its own and catches up before every search: new
templates by id (ids only grow), and removed ones by checking the candidates it is about to answer
with (a template erased by another process is dropped then). Nothing acknowledged depends on memory.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from smartborders.biometrics import face as F
from smartborders.biometrics import fingerprint as FP
from smartborders.interop.face_index import ApproximateFaceIndex, ExactFaceIndex, FaceIndex
from smartborders.interop.finger_index import FingerIndex
from smartborders.interop.models import BiometricTemplate

T = BiometricTemplate.__table__
# Below this many faces the exact scan is fast enough (about 30 ms per million, bench/sbms.py) and
# needs no training; above it, the approximate index with exact re-ranking.
EXACT_UP_TO = 200_000


@dataclass(frozen=True)
class FaceCandidate:
    subject: str
    template_id: int
    distance: float
    match: bool


@dataclass(frozen=True)
class FingerCandidate:
    subject: str
    score: int  # the best Bozorth3 score over the fingers compared
    fingers_matched: int
    match: bool  # two fingers at or above the 1:1 threshold (one, if only one was given)


class BiometricMatchingService:
    """The sBMS over one database. Use cases pass their session; searches read committed data."""

    def __init__(self, engine: Engine) -> None:
        # Searches read on their own connection, beside the caller's transaction: on SQLite that one
        # may hold the write lock, so these read without asking for it (WAL readers never wait).
        self.engine = engine.execution_options(sqlite_begin="DEFERRED")
        self._lock = threading.RLock()
        self._index: FaceIndex | None = None
        self._subject_of: dict[int, str] = {}
        self._last_id = 0
        self._fingers = FingerIndex()
        self._finger_person: dict[str, int] = {}
        self._finger_subject: dict[int, str] = {}
        self._last_finger_id = 0

    # --- writes, in the caller's transaction ---------------------------------------------------------

    def enrol(self, session: Session, subject: str, system: str, at: datetime, *,
              face: F.FaceSample | None = None,
              fingers: Mapping[str, FP.FingerprintSample] | None = None) -> list[int]:
        """Store the subject's templates. A new face replaces the old one (EES Art. 15: the facial
        image is updated), new fingerprints replace those of the same finger."""
        rows: list[dict[str, Any]] = []
        if face is not None:
            session.execute(delete(T).where(T.c.subject == subject, T.c.kind == "face"))
            rows.append({"subject": subject, "system": system, "kind": "face", "position": "",
                         "data": face.embedding.astype(np.float32).tobytes(), "quality": face.quality.score,
                         "created_at": at})
        for position, sample in (fingers or {}).items():
            session.execute(delete(T).where(T.c.subject == subject, T.c.kind == "finger", T.c.position == position))
            rows.append({"subject": subject, "system": system, "kind": "finger", "position": position,
                         "data": sample.template, "quality": sample.nfiq2, "created_at": at,
                         "feature": FP.feature(sample).astype(np.float16).tobytes()})
        ids = [int(session.execute(T.insert().values(**r).returning(T.c.id)).scalar_one()) for r in rows]
        return ids

    def erase(self, session: Session, subject: str) -> int:
        """Every template of the subject (the owning system's erasure, e.g. EES Art. 34-35)."""
        return session.execute(delete(T).where(T.c.subject == subject)).rowcount or 0

    # --- 1:1 -----------------------------------------------------------------------------------------

    def verify_face(self, session: Session, subject: str, probe: F.FaceSample) -> F.FaceComparison | None:
        """The probe against the subject's stored face; None where the subject has none."""
        data = session.scalar(select(T.c.data).where(T.c.subject == subject, T.c.kind == "face"))
        if data is None:
            return None
        return F.compare(probe, np.frombuffer(data, np.float32))

    def verify_fingers(self, session: Session, subject: str, probes: Mapping[str, FP.FingerprintSample]
                       ) -> dict[str, FP.FingerprintComparison]:
        """Each probe finger against the same finger on file (only fingers present on both sides)."""
        stored = dict(session.execute(select(T.c.position, T.c.data).where(
            T.c.subject == subject, T.c.kind == "finger", T.c.position.in_(list(probes)))).all())
        return {pos: FP.compare(probes[pos], stored[pos]) for pos in probes if pos in stored}

    # --- 1:N -----------------------------------------------------------------------------------------

    def identify_face(self, probe: F.FaceSample | np.ndarray, k: int = 10, *, system: str | None = None
                      ) -> list[FaceCandidate]:
        """The k nearest faces of all systems (or of one), nearest first, each marked whether it is
        within the identification threshold (stricter than 1:1: biometrics/face.py)."""
        vector = probe.embedding if isinstance(probe, F.FaceSample) else probe
        with self._lock:
            index = self._catch_up()
            hits = index.search(vector, k)
            found = [(int(i), float(d)) for i, d in zip(hits.ids[0], hits.distances[0]) if i >= 0]
            live = self._still_there([i for i, _ in found])
            out = []
            for i, d in found:
                if i not in live:
                    self._forget(i)
                    continue
                subject = self._subject_of[i]
                if system is None or subject.startswith(system + ":"):
                    out.append(FaceCandidate(subject, i, d, d <= F.IDENTIFY_THRESHOLD))
        return out

    def identify_fingers(self, session: Session, probes: Mapping[str, FP.FingerprintSample],
                         subjects: list[str] | None = None, *, system: str | None = None
                         ) -> list[FingerCandidate]:
        """Bozorth3 of each probe finger against the same finger of the candidates, best first, each
        marked whether it is a hit (two fingers at or above the 1:1 threshold; one if only one was
        given). Without `subjects`, the candidates are the short list of the 1:N pre-selection over
        every system's fingers (interop/finger_index.py); with them, those subjects (a short list from
        the face, say)."""
        need = min(2, len(probes))
        if subjects is None:
            with self._lock:
                index = self._catch_up_fingers()
                hits = index.search(probes)
                live = self._subjects_still_enrolled([self._finger_subject[h.person] for h in hits])
                out = []
                for h in hits:
                    subject = self._finger_subject[h.person]
                    if subject not in live:
                        index.remove(h.person)
                        continue
                    if system is None or subject.startswith(system + ":"):
                        out.append(FingerCandidate(subject, max(h.scores.values(), default=0), h.fingers_matched,
                                                   h.match(len(probes))))
            return out
        rows = session.execute(select(T.c.subject, T.c.position, T.c.data).where(
            T.c.kind == "finger", T.c.subject.in_(subjects), T.c.position.in_(list(probes)))).all()
        best: dict[str, list[int]] = {}
        for subject, position, data in rows:
            best.setdefault(subject, []).append(FP.compare(probes[position], data).score)
        found = [FingerCandidate(s, max(scores), sum(x >= FP.FINGER_THRESHOLD for x in scores),
                                 sum(x >= FP.FINGER_THRESHOLD for x in scores) >= need) for s, scores in best.items()]
        return sorted(found, key=lambda c: (not c.match, -c.score))

    # --- the in-memory index -------------------------------------------------------------------------

    def warm(self) -> int:
        """Build this process's index now (a server calls it at start, on a thread): with millions of
        faces, loading and training take tens of seconds that no border check should wait for."""
        with self._lock:
            return len(self._catch_up())

    def _catch_up(self) -> FaceIndex:
        """Faces committed since the last search, by any process, into this process's index."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(T.c.id, T.c.subject, T.c.data).where(
                T.c.kind == "face", T.c.id > self._last_id).order_by(T.c.id)).all()
        if self._index is None:
            self._index = ApproximateFaceIndex() if len(rows) > EXACT_UP_TO else ExactFaceIndex()
        if rows:
            ids = np.array([r.id for r in rows], np.int64)
            vectors = np.frombuffer(b"".join(r.data for r in rows), np.float32).reshape(len(rows), -1)
            self._index.add(ids, vectors)
            self._subject_of.update((r.id, r.subject) for r in rows)
            self._last_id = int(ids.max())
        return self._index

    def _catch_up_fingers(self) -> FingerIndex:
        """Fingers committed since the last search, by any process: each person touched is re-read
        whole (a new finger replaces the old one of that position)."""
        with self.engine.connect() as conn:
            touched = conn.execute(select(T.c.id, T.c.subject).where(
                T.c.kind == "finger", T.c.id > self._last_finger_id)).all()
            if touched:
                self._last_finger_id = max(r.id for r in touched)
                subjects = sorted({r.subject for r in touched})
                people: dict[int, dict[str, tuple[np.ndarray, bytes]]] = {}
                for lo in range(0, len(subjects), 1000):
                    for r in conn.execute(select(T.c.subject, T.c.position, T.c.data, T.c.feature).where(
                            T.c.kind == "finger", T.c.subject.in_(subjects[lo:lo + 1000]))):
                        person = self._finger_person.get(r.subject)
                        if person is None:
                            person = self._finger_person[r.subject] = len(self._finger_person) + 1
                            self._finger_subject[person] = r.subject
                        feat = (np.frombuffer(r.feature, np.float16).astype(np.float32) if r.feature is not None
                                else FP.feature(r.data))
                        people.setdefault(person, {})[r.position] = (feat, r.data)
                self._fingers.add_many(people)
        return self._fingers

    def _subjects_still_enrolled(self, subjects: list[str]) -> set[str]:
        if not subjects:
            return set()
        with self.engine.connect() as conn:
            return set(conn.scalars(select(T.c.subject).where(T.c.subject.in_(subjects), T.c.kind == "finger")))

    def _still_there(self, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        with self.engine.connect() as conn:
            return set(conn.scalars(select(T.c.id).where(T.c.id.in_(ids))))

    def _forget(self, template_id: int) -> None:
        assert self._index is not None
        self._index.remove(np.array([template_id]))
        self._subject_of.pop(template_id, None)


_services: dict[str, BiometricMatchingService] = {}
_services_lock = threading.Lock()


def service_for(engine: Engine) -> BiometricMatchingService:
    """This process's sBMS for a database (its index is built once per process and database)."""
    key = engine.url.render_as_string(hide_password=True)
    with _services_lock:
        found = _services.get(key)
        if found is None:
            found = _services[key] = BiometricMatchingService(engine)
        return found


def erase_subjects(session: Session, subjects: list[str]) -> int:
    """Erase every template of these subjects (an owning system's retention purge), in chunks."""
    n = 0
    for lo in range(0, len(subjects), 1000):
        n += session.execute(delete(T).where(T.c.subject.in_(subjects[lo:lo + 1000]))).rowcount or 0
    return n
