"""ETIAS tables (Reg. 2018/1240 Art. 19): the application file. Owned by `etias`."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from smartborders.core.db import Base, UTCDateTime


class Application(Base):
    """Art. 19(3): the application file, its number and status; the Art. 17 data as submitted (never
    changed by the units, Art. 55(1)), with the identity and document kept in columns for the searches
    of Art. 19(4) (earlier files of the same applicant) and Art. 20 (the same document elsewhere)."""

    __tablename__ = "etias_application"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)  # the submission's idempotency key
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the canonical submission
    status: Mapped[str] = mapped_column(String(32))
    surname: Mapped[str] = mapped_column(String(100))
    given_names: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    birth_place: Mapped[str] = mapped_column(String(100))
    nationality: Mapped[str] = mapped_column(String(3))
    document_number: Mapped[str] = mapped_column(String(24))
    document_country: Mapped[str] = mapped_column(String(3))
    document_expires_on: Mapped[date] = mapped_column(Date)
    email: Mapped[str] = mapped_column(String(254))
    data: Mapped[dict] = mapped_column(JSON)  # Art. 17(2), (4), (6) as submitted
    ip_address: Mapped[str | None] = mapped_column(String(45))  # Art. 17(8)
    fee_eur: Mapped[str] = mapped_column(String(8))
    fee_reason: Mapped[str] = mapped_column(String(200))
    payment_reference: Mapped[str | None] = mapped_column(String(64))
    linked_to: Mapped[list] = mapped_column(JSON, default=list)  # numbers of earlier files (Art. 19(4))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # Art. 39: the decision: who, why (Art. 37 grounds), flags for the border (Art. 36(2)-(3)).
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_grounds: Mapped[list] = mapped_column(JSON, default=list)
    decision_reason: Mapped[str | None] = mapped_column(String(1000))
    flags: Mapped[list] = mapped_column(JSON, default=list)
    # The step the file waits on, who acts, and by when (Art. 22(6): 12 h; Art. 32: 96 h).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responsible_state: Mapped[str | None] = mapped_column(String(3))  # Art. 25, once manual
    notices: Mapped[list] = mapped_column(JSON, default=list)  # what the applicant was told, in order

    __table_args__ = (
        Index("ix_etias_application_identity", "surname", "birth_date", "nationality"),
        Index("ix_etias_application_document", "document_number", "document_country"),
    )


class ListEntry(Base):
    """One entry of a list the automated processing compares against (Art. 20): SIS lost/stolen
    documents and refusal-of-entry and arrest alerts (a slice), Interpol SLTD, the ETIAS watchlist
    (Art. 34). Entries are never updated in place: removal sets `removed_at`."""

    __tablename__ = "etias_list_entry"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    list: Mapped[str] = mapped_column(String(16))  # sis_document, sltd, sis_refusal, sis_arrest, watchlist
    reference: Mapped[str] = mapped_column(String(64))  # the entry's id in its source
    name: Mapped[str | None] = mapped_column(String(300))
    birth_date: Mapped[str | None] = mapped_column(String(10))  # YYYY[-MM[-DD]]
    nationality: Mapped[str | None] = mapped_column(String(3))
    document_number: Mapped[str | None] = mapped_column(String(24))
    document_country: Mapped[str | None] = mapped_column(String(3))
    supplied_by: Mapped[str] = mapped_column(String(8))  # the Member State or EUROPOL (Art. 20(7)-(8))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_etias_list_entry_document", "document_number", "document_country"),
        Index("ix_etias_list_entry_list_ref", "list", "reference", unique=True),
    )


class Hit(Base):
    """A correspondence found by the automated processing (Art. 3, 20), and what became of it."""

    __tablename__ = "etias_hit"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("etias_application.id", ondelete="CASCADE"),
                                                      index=True)
    article: Mapped[str] = mapped_column(String(16))  # the point of Art. 20: "20(2)(a)", "20(4)", ...
    source: Mapped[str] = mapped_column(String(16))  # SIS, SLTD, ETIAS, EES, WATCHLIST
    reference: Mapped[str] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    explanation: Mapped[str] = mapped_column(String(1000))
    supplied_by: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, confirmed, discarded
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
