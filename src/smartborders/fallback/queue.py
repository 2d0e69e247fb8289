"""The durable local queue of a crossing point in fall-back (EES Art. 21): one SQLite file.

Why SQLite in WAL mode with `synchronous=FULL`: every commit fsyncs the write-ahead log before it
returns, so a crossing acknowledged to the guard as "queued" survives the process being killed
(SIGKILL) and the machine losing power right after. It is stdlib, one file, and safe for the
recording process and an uploader (CLI `flush`, another process) to open at the same time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queued (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('entry', 'exit', 'refusal')),
    traveller TEXT NOT NULL,
    body TEXT NOT NULL,
    online_body TEXT,
    queued_at TEXT NOT NULL,
    sends INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS queued_traveller ON queued (traveller, seq);
CREATE TABLE IF NOT EXISTS conflicts (
    seq INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    traveller TEXT NOT NULL,
    body TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    status INTEGER,
    problem TEXT NOT NULL,
    conflicted_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conflicts_traveller ON conflicts (traveller);
CREATE TABLE IF NOT EXISTS uploaded (
    seq INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    replayed INTEGER NOT NULL,
    result TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Item:
    seq: int
    client_id: str
    kind: str
    traveller: str
    body: dict[str, Any]
    online_body: dict[str, Any] | None
    queued_at: str
    sends: int
    failures: int


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Queue:
    """The queue file. Methods are thread-safe (one connection, one lock); several processes may share
    the file (SQLite locking, `busy_timeout`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        new = not self.path.exists()
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        if new:
            # A new file (and its -wal) is durable only once its directory entry is: fsync the folder.
            _fsync_dir(self.path.parent)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")  # synchronous=FULL: the WAL is fsynced before this returns

    def put(self, *, client_id: str, kind: str, traveller: str, body: dict[str, Any],
            online_body: dict[str, Any] | None) -> int:
        """Append one crossing; durable when this returns."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO queued (client_id, kind, traveller, body, online_body, queued_at) VALUES (?,?,?,?,?,?)",
                (client_id, kind, traveller, json.dumps(body), json.dumps(online_body) if online_body else None,
                 _now()))
            return int(cur.lastrowid or 0)

    def find(self, client_id: str) -> tuple[str, int] | None:
        """Where a client id already is: ('queued'|'conflict'|'uploaded', seq)."""
        with self._lock:
            for table in ("queued", "conflicts", "uploaded"):
                row = self._db.execute(f"SELECT seq FROM {table} WHERE client_id = ?", (client_id,)).fetchone()
                if row:
                    return ("conflict" if table == "conflicts" else table, row[0])
        return None

    def blocked(self, traveller: str) -> bool:
        """Whether this traveller has a crossing still queued (a later one must queue behind it)."""
        with self._lock:
            q = self._db.execute("SELECT 1 FROM queued WHERE traveller = ? LIMIT 1", (traveller,)).fetchone()
        return q is not None

    def items(self) -> list[Item]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, client_id, kind, traveller, body, online_body, queued_at, sends, failures "
                "FROM queued ORDER BY seq").fetchall()
        return [Item(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]) if r[5] else None, r[6], r[7], r[8])
                for r in rows]

    def mark_sent(self, seq: int) -> None:
        """Before each send: so that a later 201 for this item is known to possibly be a replay."""
        with self._tx() as db:
            db.execute("UPDATE queued SET sends = sends + 1 WHERE seq = ?", (seq,))

    def mark_failed(self, seq: int, error: str) -> int:
        with self._tx() as db:
            db.execute("UPDATE queued SET failures = failures + 1, last_error = ? WHERE seq = ?", (error, seq))
            row = db.execute("SELECT failures FROM queued WHERE seq = ?", (seq,)).fetchone()
        return int(row[0]) if row else 0

    def done(self, item: Item, result: dict[str, Any], *, replayed: bool) -> None:
        """The centre has it: move the item to the upload log, in one local transaction."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO uploaded (seq, client_id, kind, queued_at, uploaded_at, replayed, result) "
                       "VALUES (?,?,?,?,?,?,?)",
                       (item.seq, item.client_id, item.kind, item.queued_at, _now(), int(replayed),
                        json.dumps(result)))
            self._delete(db, item.seq)

    def _delete(self, db: sqlite3.Connection, seq: int) -> None:
        db.execute("DELETE FROM queued WHERE seq = ?", (seq,))

    def conflict(self, item: Item, status: int | None, problem: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO conflicts (seq, client_id, kind, traveller, body, queued_at, status, problem, "
                       "conflicted_at) VALUES (?,?,?,?,?,?,?,?,?)",
                       (item.seq, item.client_id, item.kind, item.traveller, json.dumps(item.body), item.queued_at,
                        status, json.dumps(problem), _now()))
            self._delete(db, item.seq)

    def conflicts(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT seq, client_id, kind, queued_at, status, problem, "
                                    "conflicted_at, body FROM conflicts ORDER BY seq").fetchall()
        return [{"seq": r[0], "client_id": r[1], "kind": r[2], "queued_at": r[3], "status": r[4], "problem": json.loads(r[5]),
                     "conflicted_at": r[6], "command": json.loads(r[7])} for r in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {t: int(self._db.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
                    for t in ("queued", "conflicts", "uploaded")}

    def held_by(self) -> dict[str, int]:
        """Travellers with a crossing in conflict, and the first such crossing's sequence number."""
        with self._lock:
            rows = self._db.execute("SELECT traveller, min(seq) FROM conflicts GROUP BY traveller").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def dismiss(self, client_id: str) -> bool:
        """An operator has dealt with a conflict (corrected it centrally, or re-recorded it): forget it,
        which releases the traveller's later crossings held in the queue."""
        with self._tx() as db:
            return db.execute("DELETE FROM conflicts WHERE client_id = ?", (client_id,)).rowcount > 0

    def oldest_queued_at(self) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT min(queued_at) FROM queued").fetchone()
        return row[0] if row else None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
