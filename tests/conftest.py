"""Shared fixtures: databases (SQLite always; PostgreSQL where reachable, required in CI) and the CLI."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from smartborders.core.db import make_engine

PG_ADMIN_URL = os.environ.get(
    "SMARTBORDERS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_PG = os.environ.get("SMARTBORDERS_REQUIRE_POSTGRES", "") not in ("", "0", "false")


def _pg_reachable() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


@contextmanager
def scratch_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (optionally copied from a template), dropped on the way out."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pg_url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (per xdist worker), dropped afterwards."""
    why = _pg_reachable()
    if why is not None:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (SMARTBORDERS_REQUIRE_POSTGRES) but unreachable at {PG_ADMIN_URL}: {why}")
        pytest.skip(f"no PostgreSQL at {PG_ADMIN_URL}: {why}")
    with scratch_database("sb_test") as name:
        yield pg_url(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path: Path) -> str:
    """Each test that takes this runs on both engines."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'smartborders.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url: str):
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


CLI = Path(sys.executable).with_name("smartborders")


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the installed `smartborders` command as a user would."""
    return subprocess.run([str(CLI), *args], input=stdin, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory) -> Path:
    """One migrated SQLite file per session; each test gets its own copy."""
    from smartborders.core.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    eng.dispose()
    return path


@pytest.fixture(scope="session")
def _migrated_postgres(postgres_url: str) -> str:
    """A migrated PostgreSQL database used as the template of each test's own database."""
    from smartborders.core.migrate import upgrade

    with scratch_database("sb_tpl") as template:
        eng = make_engine(pg_url(template))
        upgrade(eng)
        eng.dispose()
        yield template


@pytest.fixture
def ees_url(request, database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database at the newest schema with the reference data, fresh for this test, on both engines."""
    import shutil

    if database_url.startswith("sqlite"):
        target = tmp_path / "ees.db"
        shutil.copy(request.getfixturevalue("_migrated_sqlite"), target)
        yield f"sqlite:///{target}"
        return
    with scratch_database("sb_t", template=request.getfixturevalue("_migrated_postgres")) as name:
        yield pg_url(name)


@pytest.fixture
def ees_engine(ees_url: str):
    eng = make_engine(ees_url)
    yield eng
    eng.dispose()
