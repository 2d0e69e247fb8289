"""Alembic environment: the connection comes from `smartborders.core.migrate`, never from a file."""

from __future__ import annotations

from alembic import context

import smartborders.ees.models  # noqa: F401  (registers the EES tables)
import smartborders.interop.models  # noqa: F401  (the sBMS templates)
import smartborders.etias.models  # noqa: F401  (the ETIAS application files)
import smartborders.core.clients  # noqa: F401  (machine clients and their keys)
import smartborders.audit.models  # noqa: F401  (the audit log)
import smartborders.ees.rights  # noqa: F401  (data-subject requests, EES Art. 52)
import smartborders.ees.modes  # noqa: F401  (heavy-traffic modes of a crossing point)
import smartborders.core.auth  # noqa: F401  (people's accounts)
import smartborders.ees.law_enforcement  # noqa: F401  (law-enforcement access, EES Art. 29-32)
from smartborders.core.db import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - offline SQL generation is not supported
    raise RuntimeError("run migrations through `smartborders db upgrade`")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
