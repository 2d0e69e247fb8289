"""The unit of work commits whole or leaves nothing, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from smartborders.core.db import is_sqlite, make_engine, unit_of_work


class _Base(DeclarativeBase):
    pass


class Crossing(_Base):
    __tablename__ = "test_crossing"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), unique=True)


@pytest.fixture
def tables(engine):
    _Base.metadata.drop_all(engine)
    _Base.metadata.create_all(engine)
    yield
    _Base.metadata.drop_all(engine)


def count(engine) -> int:
    with unit_of_work(engine, readonly=True) as s:
        return len(s.scalars(select(Crossing)).all())


def test_commit_on_success(engine, tables):
    with unit_of_work(engine) as s:
        s.add(Crossing(client_id="a"))
    assert count(engine) == 1


def test_nothing_half_written_on_failure(engine, tables):
    with pytest.raises(RuntimeError):
        with unit_of_work(engine) as s:
            s.add(Crossing(client_id="a"))
            s.flush()
            s.add(Crossing(client_id="b"))
            s.flush()
            raise RuntimeError("the border check failed half-way")
    assert count(engine) == 0


def test_readonly_unit_writes_nothing(engine, tables):
    with unit_of_work(engine, readonly=True) as s:
        s.add(Crossing(client_id="a"))
        s.flush()
    assert count(engine) == 0


def test_concurrent_writers_of_one_client_id_cannot_both_win(engine, tables):
    """Two crossings replayed at once under one client-generated id: exactly one lands."""
    results: list[str] = []
    barrier = threading.Barrier(2)

    def write():
        barrier.wait()
        try:
            with unit_of_work(engine) as s:
                s.add(Crossing(client_id="same"))
            results.append("ok")
        except Exception as exc:  # noqa: BLE001
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=write) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results)[0] == "IntegrityError" and results.count("ok") == 1
    assert count(engine) == 1


def test_sqlite_is_durable_and_enforces_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    assert is_sqlite(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
