"""Schema migrations (Alembic) and reference data, the same on SQLite and PostgreSQL.

`upgrade(engine)` brings a database to the newest schema and syncs the crossing points from the
reference data; running it again changes nothing.
"""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("smartborders") / "migrations"))
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    sync_reference_data(engine)


def sync_reference_data(engine: Engine) -> None:
    """Insert or update the crossing points from reference/data/bcps.csv (never deletes one in use)."""
    from smartborders.core.db import unit_of_work
    from smartborders.ees.models import CrossingPoint
    from smartborders.reference.bcps import crossing_points

    with unit_of_work(engine) as s:
        have = {cp.code: cp for cp in s.scalars(select(CrossingPoint))}
        for code, ref in crossing_points().items():
            row = have.get(code) or CrossingPoint(code=code)
            row.name, row.state, row.kind, row.timezone = ref.name, ref.state, ref.kind, ref.timezone
            s.add(row)
