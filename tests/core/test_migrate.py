"""Migrations build exactly the schema the models declare, on SQLite and PostgreSQL, and re-run safely."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

import smartborders.ees.models  # noqa: F401
import smartborders.interop.models  # noqa: F401
from smartborders.core.db import Base, unit_of_work
from smartborders.core.migrate import current_revision, head_revision, upgrade
from smartborders.ees.models import CrossingPoint
from smartborders.reference.bcps import crossing_points


def test_upgrade_matches_the_models_and_is_idempotent(engine):
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    with unit_of_work(engine, readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(CrossingPoint)) == len(crossing_points())
