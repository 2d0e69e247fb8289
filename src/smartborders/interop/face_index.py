"""The shared biometric matching service's face index (Reg. 2019/817 Art. 12-13): 1:N search over
every facial template of every system, with three implementations behind one interface.

- `ExactFaceIndex`: a flat scan of the float32 descriptors (faiss `IndexFlatL2`). The reference: its
  answer is the true nearest neighbour, and the others are measured against it.
- `ApproximateFaceIndex`: an inverted file over 8-bit scalar-quantised descriptors (faiss
  `IVF…,SQ8`) that visits a few cells for a short list, which is then re-ranked by exact distance
  over the float32 descriptors (`IndexRefineFlat`): the answer's distances are exact, and only a
  mate outside the short list can be missed (recall is measured in bench/).
- `ShardedFaceIndex`: the same interface over several shards, each possibly another process or
  machine; a search goes to all shards and the top-K lists are merged by distance (scatter-gather).

Distances are Euclidean between dlib descriptors (biometrics/face.py), squared inside faiss.
Subjects are int64 ids (the sBMS maps them to the owning system's references).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np

DIM = 128


@dataclass(frozen=True)
class Hits:
    """Per query, the k nearest subjects (-1 where fewer exist) and their Euclidean distances."""

    ids: np.ndarray  # (queries, k) int64
    distances: np.ndarray  # (queries, k) float32


class FaceIndex(Protocol):
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def remove(self, ids: np.ndarray) -> int: ...
    def search(self, vectors: np.ndarray, k: int) -> Hits: ...
    def __len__(self) -> int: ...


def _as_vectors(vectors: np.ndarray) -> np.ndarray:
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or v.shape[1] != DIM:
        raise ValueError(f"face descriptors are {DIM}-d, got shape {vectors.shape}")
    return v


def _as_ids(ids: np.ndarray | Sequence[int]) -> np.ndarray:
    return np.ascontiguousarray(ids, dtype=np.int64)


def _hits(distances: np.ndarray, ids: np.ndarray) -> Hits:
    d = np.sqrt(np.maximum(distances, 0), dtype=np.float32)
    d[ids < 0] = np.inf
    return Hits(ids, d)


class ExactFaceIndex:
    """Every descriptor compared with the probe: the reference answer."""

    def __init__(self) -> None:
        import faiss

        self._index = faiss.IndexIDMap2(faiss.IndexFlatL2(DIM))
        self._lock = threading.RLock()

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        with self._lock:
            self._index.add_with_ids(_as_vectors(vectors), _as_ids(ids))

    def remove(self, ids: np.ndarray) -> int:
        import faiss

        with self._lock:
            return int(self._index.remove_ids(faiss.IDSelectorArray(_as_ids(ids))))

    def search(self, vectors: np.ndarray, k: int) -> Hits:
        with self._lock:
            d, i = self._index.search(_as_vectors(vectors), k)
        return _hits(d, i)

    def __len__(self) -> int:
        return int(self._index.ntotal)


class ApproximateFaceIndex:
    """IVF over SQ8 codes for a short list, re-ranked by exact float32 distance.

    `cells` inverted lists (about 4 x sqrt(N) is usual), `probe` of them visited per query, and
    `shortlist` = k x `refine` candidates re-ranked exactly. Removal marks the ids and filters them
    from answers; `compact()` (or the next `train`) drops them for good."""

    def __init__(self, cells: int = 4096, probe: int = 48, refine: int = 8) -> None:
        import faiss

        self.cells, self.probe, self.refine = cells, probe, refine
        quantizer = faiss.IndexFlatL2(DIM)
        base = faiss.IndexIVFScalarQuantizer(quantizer, DIM, cells, faiss.ScalarQuantizer.QT_8bit,
                                             faiss.METRIC_L2)
        self._quantizer = quantizer  # faiss does not own it from Python: keep it alive
        self._base = base
        self._index = faiss.IndexRefineFlat(base)
        self._ids = np.zeros(0, np.int64)  # faiss row -> subject id
        self._removed: set[int] = set()
        self._lock = threading.RLock()

    @property
    def trained(self) -> bool:
        return bool(self._index.is_trained)

    def train(self, sample: np.ndarray) -> None:
        """Learn the cells and the quantiser's ranges from a sample of descriptors (≥ 40 per cell)."""
        with self._lock:
            self._index.train(_as_vectors(sample))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        v = _as_vectors(vectors)
        if not self.trained:
            self.train(v)
        with self._lock:
            self._index.add(v)
            self._ids = np.concatenate([self._ids, _as_ids(ids)])
            self._removed.difference_update(int(i) for i in ids)

    def remove(self, ids: np.ndarray) -> int:
        with self._lock:
            present = set(int(i) for i in _as_ids(ids)) & set(self._ids.tolist()) - self._removed
            self._removed |= present
            return len(present)

    def search(self, vectors: np.ndarray, k: int) -> Hits:
        import faiss

        v = _as_vectors(vectors)
        with self._lock:
            extra = min(len(self._removed), 64)
            params = faiss.IndexRefineSearchParameters(
                k_factor=float(self.refine), base_index_params=faiss.SearchParametersIVF(nprobe=self.probe))
            d, rows = self._index.search(v, k + extra, params=params)
            ids = np.where(rows >= 0, self._ids[np.clip(rows, 0, None)], -1)
            if self._removed:
                gone = np.isin(ids, np.fromiter(self._removed, np.int64))
                d = np.where(gone, np.inf, d)
                ids = np.where(gone, -1, ids)
                order = np.argsort(d, axis=1, kind="stable")
                d, ids = np.take_along_axis(d, order, 1), np.take_along_axis(ids, order, 1)
        return _hits(d[:, :k], ids[:, :k])

    def __len__(self) -> int:
        return int(self._index.ntotal) - len(self._removed)


class ShardedFaceIndex:
    """Several indexes as one: subjects spread over the shards by id; a search asks every shard for
    its top k (in parallel) and keeps the k nearest of all. A shard may be any `FaceIndex`, including
    a client of a remote one: the sBMS past one machine (DESIGN.md)."""

    def __init__(self, shards: Sequence[FaceIndex]) -> None:
        if not shards:
            raise ValueError("a sharded index needs at least one shard")
        self.shards = list(shards)
        self._pool = ThreadPoolExecutor(max_workers=len(self.shards), thread_name_prefix="sbms-shard")

    def _shard_of(self, ids: np.ndarray) -> np.ndarray:
        return np.mod(ids, len(self.shards))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, v = _as_ids(ids), _as_vectors(vectors)
        where = self._shard_of(ids)
        for s, shard in enumerate(self.shards):
            mine = where == s
            if mine.any():
                shard.add(ids[mine], v[mine])

    def remove(self, ids: np.ndarray) -> int:
        ids = _as_ids(ids)
        where = self._shard_of(ids)
        return sum(shard.remove(ids[where == s]) for s, shard in enumerate(self.shards) if (where == s).any())

    def search(self, vectors: np.ndarray, k: int) -> Hits:
        v = _as_vectors(vectors)
        parts = list(self._pool.map(lambda shard: shard.search(v, k), self.shards))
        d = np.concatenate([p.distances for p in parts], axis=1)
        i = np.concatenate([p.ids for p in parts], axis=1)
        order = np.argsort(d, axis=1, kind="stable")[:, :k]
        return Hits(np.take_along_axis(i, order, 1), np.take_along_axis(d, order, 1))

    def __len__(self) -> int:
        return sum(len(s) for s in self.shards)
