"""The audit log on both databases: sealing, verification, tampering as a database administrator would,
the append-only triggers, and `smartborders audit verify`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from smartborders.audit.models import AuditEvent
from smartborders.audit.service import GENESIS, chain_hash, seal, verify, write
from tests.conftest import run_cli

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def rows(n: int, start: int = 0) -> list[dict]:
    return [{"at": T0 + timedelta(seconds=start + i), "channel": "api", "method": "GET",
             "route": "/api/v1/files/{file_id}", "params": f'{{"path": {{"file_id": "f{start + i}"}}}}',
             "status": 200, "principal_kind": "anonymous", "principal": None, "role": None, "authority": None,
             "purpose": "EES Art. 23 border check", "data": "EES individual file"} for i in range(n)]


def sealed_log(engine, n: int = 5) -> None:
    write(engine, rows(n))
    assert seal(engine) == n


def as_admin(engine, sql: str, **params) -> None:
    """What an attacker with the database owner's rights does: switch the triggers off, then write."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER ALL"))
        else:
            for name in ("audit_event_no_delete", "audit_event_sealed", "audit_event_content"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        for statement in sql.split(";"):
            if statement.strip():
                conn.execute(text(statement), params)


def test_seal_and_verify_an_intact_log(ees_engine):
    assert verify(ees_engine).ok and verify(ees_engine).sealed == 0
    sealed_log(ees_engine, 5)
    write(ees_engine, rows(3, start=5))
    v = verify(ees_engine)
    assert v.ok and (v.sealed, v.unsealed, v.head_seq) == (5, 3, 5)
    assert seal(ees_engine) == 3 and seal(ees_engine) == 0
    v = verify(ees_engine)
    assert v.ok and (v.sealed, v.unsealed, v.head_seq) == (8, 0, 8)
    with ees_engine.connect() as conn:
        t = AuditEvent.__table__
        first = conn.execute(select(t).where(t.c.seq == 1)).mappings().one()
    assert first["prev_hash"] == GENESIS and first["hash"] == chain_hash(GENESIS, dict(first))
    assert verify(ees_engine, expect=(8, v.head_hash)).ok


def test_sealing_in_batches_keeps_the_chain(ees_engine):
    write(ees_engine, rows(25))
    assert seal(ees_engine, batch=7) == 25
    v = verify(ees_engine)
    assert v.ok and v.head_seq == 25


def test_a_changed_field_is_found(ees_engine):
    sealed_log(ees_engine)
    as_admin(ees_engine, "UPDATE audit_event SET status = 404 WHERE seq = 3")
    v = verify(ees_engine)
    assert not v.ok and v.first_bad == 3 and "hash" in v.problem


def test_a_deleted_row_is_found(ees_engine):
    sealed_log(ees_engine)
    as_admin(ees_engine, "DELETE FROM audit_event WHERE seq = 2")
    v = verify(ees_engine)
    assert not v.ok and v.first_bad == 2 and "missing" in v.problem


def test_swapped_contents_are_found(ees_engine):
    sealed_log(ees_engine)
    as_admin(ees_engine, "UPDATE audit_event SET params = CASE seq WHEN 2 THEN "
             "(SELECT params FROM audit_event WHERE seq = 3) ELSE (SELECT params FROM audit_event WHERE seq = 2) END, "
             "at = CASE seq WHEN 2 THEN (SELECT at FROM audit_event WHERE seq = 3) "
             "ELSE (SELECT at FROM audit_event WHERE seq = 2) END WHERE seq IN (2, 3)")
    v = verify(ees_engine)
    assert not v.ok and v.first_bad == 2


def test_reordered_rows_are_found(ees_engine):
    """Rows 2 and 3 swap places, each keeping its own hash."""
    sealed_log(ees_engine)
    as_admin(ees_engine, "UPDATE audit_event SET seq = -1 WHERE seq = 2; UPDATE audit_event SET seq = 2 WHERE seq = 3;"
             "UPDATE audit_event SET seq = 3 WHERE seq = -1")
    v = verify(ees_engine)
    assert not v.ok and v.first_bad == 2 and "link" in v.problem


def test_deleting_the_newest_rows_is_found_against_a_recorded_head(ees_engine):
    sealed_log(ees_engine)
    head = verify(ees_engine)
    as_admin(ees_engine, "DELETE FROM audit_event WHERE seq >= 4")
    assert verify(ees_engine).ok  # no trace inside the chain itself...
    v = verify(ees_engine, expect=(head.head_seq, head.head_hash))
    assert not v.ok and v.first_bad == 4  # ...but the head recorded elsewhere is gone


@pytest.mark.parametrize("sql", [
    "UPDATE audit_event SET status = 500 WHERE seq = 1",
    "UPDATE audit_event SET hash = 'x' WHERE seq = 1",
    "UPDATE audit_event SET seq = NULL WHERE seq = 1",
    "DELETE FROM audit_event WHERE seq = 1",
    "DELETE FROM audit_event WHERE seq IS NULL",
    "UPDATE audit_event SET purpose = 'other' WHERE seq IS NULL",
])
def test_the_triggers_refuse_changes(ees_engine, sql):
    sealed_log(ees_engine, 2)
    write(ees_engine, rows(1, start=2))  # one unsealed row: its content is fixed too, only sealing may touch it
    with pytest.raises(DBAPIError, match="append-only"), ees_engine.begin() as conn:
        conn.execute(text(sql))
    assert seal(ees_engine) == 1 and verify(ees_engine).ok


def test_truncate_is_refused_on_postgresql(ees_engine):
    if ees_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    sealed_log(ees_engine, 1)
    with pytest.raises(DBAPIError, match="append-only"), ees_engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_event"))


def test_cli_verify_exit_codes(ees_engine, ees_url, monkeypatch):
    monkeypatch.setenv("SMARTBORDERS_DATABASE_URL", ees_url)
    write(ees_engine, rows(4))
    res = run_cli("audit", "verify", "--seal")
    assert res.returncode == 0 and "intact: 4 sealed rows" in res.stdout, res.stderr
    res = run_cli("audit", "verify", "--json")
    assert res.returncode == 0 and '"ok": true' in res.stdout
    tail = run_cli("audit", "tail", "-n", "2")
    assert tail.returncode == 0 and len(tail.stdout.splitlines()) == 2
    as_admin(ees_engine, "UPDATE audit_event SET route = '/api/v1/other' WHERE seq = 2")
    res = run_cli("audit", "verify")
    assert res.returncode == 1 and "seq 2" in res.stderr
    assert run_cli("audit", "verify", "--expect", "nonsense").returncode == 2


def test_the_writer_groups_rows_and_ends_when_idle(ees_engine):
    import threading

    from smartborders.audit.service import AuditWriter

    writer = AuditWriter(ees_engine, idle=0.2)
    done = [threading.Event() for _ in range(20)]
    for i, ev in enumerate(done):
        writer.submit(rows(1, start=i)[0], lambda err, ev=ev: (err is None) and ev.set())
    assert all(ev.wait(10) for ev in done)
    deadline = time.monotonic() + 5
    while writer._thread is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    again = threading.Event()
    writer.submit(rows(1, start=20)[0], lambda err: again.set())
    assert again.wait(10)
    writer.stop()
    assert seal(ees_engine) == 21 and verify(ees_engine).ok


def test_a_failed_write_is_told_to_the_request_even_when_the_log_stream_is_closed(tmp_path):
    """Found in CI: the writer thread logged the failure to a closed stream, died, and left the request
    waiting forever. The request is told first; the log line may fail."""
    import io
    import threading

    import structlog

    from smartborders.audit.service import AuditWriter
    from smartborders.core.db import make_engine
    from smartborders.core.logging import configure_logging

    closed = io.StringIO()
    closed.close()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=closed))
    try:
        writer = AuditWriter(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"), idle=0.2)  # no audit table
        told = threading.Event()
        got: list[BaseException | None] = []
        writer.submit({"at": datetime.now(UTC)}, lambda e: (got.append(e), told.set()))
        assert told.wait(10) and got[0] is not None
    finally:
        configure_logging("INFO", json=True)
