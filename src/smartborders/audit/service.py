"""Writing, sealing and verifying the audit log.

Throughput: a request never takes the chain's lock. It inserts its row with no chain fields (the
`AuditWriter` thread groups the rows of concurrent requests into one transaction, so at 250 requests/s
there are far fewer commits than requests), and a sealer, one per server process plus `smartborders
audit seal`, numbers and hashes the unsealed rows in id order under a single lock (PostgreSQL: a
transaction-level advisory lock; SQLite: the write lock every write transaction takes).

Hash of a row: sha256(prev_hash + canonical JSON of its content and seq), prev_hash of the first row
being 64 zeros. `verify` recomputes the chain: a changed field breaks that row's hash, a deleted row
leaves a gap in seq, swapped rows break both hashes. Deleting the newest rows, or rewriting the whole
chain, is only detectable against a head recorded elsewhere: `verify` prints the head, and
`--expect SEQ:HASH` checks a recorded one is still there.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, text, update

from smartborders.audit.models import CONTENT, AuditEvent
from smartborders.core.logging import get_logger

GENESIS = "0" * 64
_LOCK_KEY = 0x5B_A0D1_7000  # pg_advisory_xact_lock key of the chain
log = get_logger("smartborders.audit")


def canonical(row: dict[str, Any]) -> str:
    """The row's content and seq as canonical JSON (sorted keys, no spaces, ASCII, UTC instants)."""
    out: dict[str, Any] = {}
    for key in (*CONTENT, "seq"):
        value = row[key]
        if isinstance(value, datetime):
            value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out[key] = value
    return json.dumps(out, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def chain_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(row)).encode()).hexdigest()


# -- writing ------------------------------------------------------------------------------------------

def _resolve_carriers(session: Any, rows: list[dict[str, Any]]) -> None:
    """A row that came with an Authorization bearer names the carrier whose key it is, if the key is
    valid; the key itself is never stored."""
    from smartborders.core import clients
    from smartborders.core.errors import Problem

    for row in rows:
        bearer = row.pop("_bearer", None)
        if bearer is None:
            continue
        try:
            c = clients.authenticate(session, bearer, "carrier")
        except Problem:
            continue
        row.update(principal_kind="carrier", principal=c.code, role="carrier", authority=f"carrier {c.code}")


def write(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """Insert unsealed rows in one short transaction."""
    if any("_bearer" in r for r in rows):
        from sqlalchemy.orm import Session

        with Session(engine) as session, session.begin():
            _resolve_carriers(session, rows)
            session.execute(insert(AuditEvent.__table__), rows)
        return
    # Core, not the ORM: the rows are plain dicts, and the ORM's bookkeeping per row cost CPU that the
    # border path pays for (every request writes one).
    with engine.begin() as conn:
        conn.execute(insert(AuditEvent.__table__), rows)


def _safe_log(level: str, event: str, **kw: Any) -> None:
    """A log line from a background thread that must never die of it (a closed stream, say)."""
    try:
        getattr(log, level)(event, **kw)
    except Exception:  # noqa: BLE001, S110 - the thread's work matters more than its log line
        pass


class AuditWriter:
    """One thread per process that inserts the rows handed to it, grouping whatever is waiting into one
    transaction (group commit), and then tells each caller. The API holds a response until its row is
    committed, so an acknowledged request is never missing from the log; a crash loses only rows whose
    responses were never sent."""

    def __init__(self, engine: Engine, max_batch: int = 500, idle: float = 30.0) -> None:
        self.engine, self.max_batch, self.idle = engine, max_batch, idle
        self._queue: queue.Queue[tuple[dict[str, Any], Callable[[BaseException | None], None]] | None] = \
            queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._conn: Any = None  # the writer thread's own connection

    def submit(self, row: dict[str, Any], done: Callable[[BaseException | None], None]) -> None:
        self._queue.put((row, done))
        self.start()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Write what is queued, then end the thread."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self.idle)
            except queue.Empty:
                item = None
            if item is None and self._exit_if_empty():
                return
            batch = [] if item is None else [item]
            stop_asked = False
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop_asked = True
                else:
                    batch.append(more)
            if batch:
                self._write(batch)
            if stop_asked and self._exit_if_empty():
                return

    def _exit_if_empty(self) -> bool:
        """On stop or when idle, end the thread unless rows are waiting (an app that is never shut down
        leaves no thread behind; the next submit starts another). Under the lock that start() takes."""
        with self._lock:
            if self._queue.empty():
                self._thread = None
                if self._conn is not None:
                    conn, self._conn = self._conn, None
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001, S110 - closing a dead connection
                        pass
                return True
            return False

    def _write(self, batch: list[tuple[dict[str, Any], Callable[[BaseException | None], None]]]) -> None:
        error: BaseException | None = None
        rows = [row for row, _ in batch]
        try:
            if any("_bearer" in r for r in rows):
                write(self.engine, rows)
            else:
                self._insert(rows)
        except Exception as exc:  # noqa: BLE001 - each waiting request is told, and fails closed
            error = exc
            self._drop_connection()
        for _, done in batch:
            try:
                done(error)
            except Exception:  # noqa: BLE001, S110 - a caller that went away
                pass
        if error is not None:  # after the callers are told: a failing log must not strand them
            _safe_log("error", "audit rows not written", rows=len(batch), error=type(error).__name__)

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        """On the writer's own connection, kept open: taking one from the pool and handing it back (with
        its reset) cost a round trip per batch, and under load a batch is often a single request's row."""
        if self._conn is None:
            self._conn = self.engine.connect()
        with self._conn.begin():
            self._conn.execute(insert(AuditEvent.__table__), rows)

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # noqa: BLE001, S110 - a broken connection: a new one next time
                pass


# -- sealing -----------------------------------------------------------------------------------------

def seal(engine: Engine, batch: int = 5000) -> int:
    """Give the unsealed rows, in id order, the next sequence numbers and their hashes; returns how many.
    One lock for the whole chain, held for one batch at a time."""
    total = 0
    while True:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            head = conn.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.is_not(None))
                                .order_by(AuditEvent.seq.desc()).limit(1)).first()
            seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
            cols = [getattr(AuditEvent, c) for c in CONTENT]
            rows = conn.execute(select(*cols).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id)
                                .limit(batch)).mappings().all()
            if not rows:
                return total
            params = []
            for row in rows:
                seq += 1
                h = chain_hash(prev, {**row, "seq": seq})
                params.append({"b_id": row["id"], "seq": seq, "prev_hash": prev, "hash": h})
                prev = h
            t = AuditEvent.__table__
            conn.execute(update(t).where(t.c.id == bindparam("b_id")), params)  # SET from the keys
            total += len(rows)
        if len(rows) < batch:
            return total


class Sealer:
    """The server's sealing thread: seals every `interval` seconds until stopped."""

    def __init__(self, engine: Engine, interval: float = 1.0) -> None:
        self.engine, self.interval = engine, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                seal(self.engine)
            except Exception as exc:  # noqa: BLE001 - tried again next interval; rows stay unsealed, not lost
                _safe_log("warning", "audit sealing failed", error=type(exc).__name__)


# -- verifying ---------------------------------------------------------------------------------------

@dataclass
class Verdict:
    ok: bool
    sealed: int
    unsealed: int
    head_seq: int
    head_hash: str
    first_bad: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _sealed_rows(engine: Engine) -> Iterator[dict[str, Any]]:
    cols = [getattr(AuditEvent, c) for c in (*CONTENT, "seq", "prev_hash", "hash")]
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=5000).execute(
            select(*cols).where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq))
        for row in result.mappings():
            yield dict(row)


def verify(engine: Engine, expect: tuple[int, str] | None = None) -> Verdict:
    """Walk the sealed chain from seq 1: the first row whose seq, link or hash is wrong is named."""
    expected, prev, count = 1, GENESIS, 0
    with engine.connect() as conn:
        unsealed = conn.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))) or 0

    def bad(seq: int, problem: str) -> Verdict:
        return Verdict(False, count, unsealed, expected - 1, prev, seq, problem)

    for row in _sealed_rows(engine):
        if row["seq"] != expected:
            return bad(expected, f"seq {expected} is missing (next is {row['seq']}): a row was deleted")
        if row["prev_hash"] != prev:
            return bad(expected, f"seq {expected} does not link to seq {expected - 1}: a row was removed or moved")
        if chain_hash(prev, row) != row["hash"]:
            return bad(expected, f"seq {expected} does not match its hash: the row was changed or moved")
        if expect is not None and expect[0] == expected and expect[1] != row["hash"]:
            return bad(expected, f"seq {expected} is not the head recorded earlier: the chain was rewritten")
        prev, count, expected = row["hash"], count + 1, expected + 1
    if expect is not None and expect[0] >= expected:
        return bad(expected, f"the chain ends at seq {expected - 1}, before the recorded head {expect[0]}: "
                             "rows were deleted")
    return Verdict(True, count, unsealed, expected - 1, prev)


def tail(engine: Engine, n: int = 20) -> list[dict[str, Any]]:
    """The newest n rows, sealed or not, newest first."""
    cols = [getattr(AuditEvent, c) for c in (*CONTENT, "seq", "hash")]
    with engine.connect() as conn:
        rows = conn.execute(select(*cols).order_by(AuditEvent.id.desc()).limit(n)).mappings().all()
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in rows]
