"""The audit log's one table. Rows are inserted without chain fields; the sealer gives each a contiguous
`seq`, the previous row's hash and its own. Triggers (migration 0013) refuse any DELETE, any UPDATE of a
sealed row and any UPDATE of an unsealed row's content, so only the sealer's step is allowed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from smartborders.core.db import Base, UTCDateTime

# The fields that the hash covers, in the canonical JSON (sorted keys); the chain fields come on top.
CONTENT = ("id", "at", "channel", "method", "route", "params", "status", "principal_kind", "principal",
           "role", "authority", "purpose", "data")


class AuditEvent(Base):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(8))  # api | console
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(200))  # the template, e.g. /api/v1/files/{file_id}
    params: Mapped[str] = mapped_column(Text)  # JSON: path parameter ids and the names (not values) of query keys
    status: Mapped[int] = mapped_column(Integer)
    principal_kind: Mapped[str] = mapped_column(String(16))  # carrier | bcp | person (token, oidc) | console | anonymous
    principal: Mapped[str | None] = mapped_column(String(120))  # carrier code or console user
    role: Mapped[str | None] = mapped_column(String(40))
    authority: Mapped[str | None] = mapped_column(String(120))  # e.g. "BCP DEU-FRA-AIR", "national unit FRA"
    purpose: Mapped[str] = mapped_column(String(200))
    data: Mapped[str] = mapped_column(String(200))  # data categories touched
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    # The sealer's work list: without it, finding the few unsealed rows scans the whole log every second.
    __table_args__ = (Index("ix_audit_event_unsealed", "id", postgresql_where=text("seq IS NULL"),
                            sqlite_where=text("seq IS NULL")),)
