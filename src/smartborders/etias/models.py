"""ETIAS tables (Reg. 2018/1240 Art. 19): the application file. Owned by `etias`."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Uuid,
    event,
)
from sqlalchemy import false as sa_false
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
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the Central Unit's verification (Art. 22)
    # Art. 40-43: annulled or revoked later, by whom, on which grounds (the issue data stay as they were).
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(64))
    end_grounds: Mapped[list] = mapped_column(JSON, default=list)
    end_reason: Mapped[str | None] = mapped_column(String(1000))
    # Art. 41(3)-(5): a valid authorisation that a new alert or watchlist entry hit waits on this state's unit.
    review_state: Mapped[str | None] = mapped_column(String(3))
    # Art. 54(2): the applicant's signed consent to keep the file up to 3 more years, until this day.
    consent_until: Mapped[date | None] = mapped_column(Date)
    # The email service (Art. 6(2)(f), 38, 42): notices[:notices_sent] were mailed; mail_pending marks the rest.
    notices_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mail_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false(), index=True)

    __table_args__ = (
        Index("ix_etias_application_identity", "surname", "birth_date", "nationality"),
        Index("ix_etias_application_document", "document_number", "document_country"),
        Index("ix_etias_application_birth_date", "birth_date"),  # Art. 41 monitoring by date of birth
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
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # Art. 35(5): reviewed at least yearly [K]
    reason: Mapped[str | None] = mapped_column(String(500))  # why entered (Art. 34(1)-(2)), for the review

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
    # "application": found by the automated processing; "monitoring": a new alert or watchlist entry
    # against a valid authorisation (Art. 41(3)-(5)).
    phase: Mapped[str] = mapped_column(String(12), default="application", server_default="application")


class InfoRequest(Base):
    """Art. 27: a request for additional information or documents (the applicant replies within 10 days)
    or an invitation to an interview (exceptional, last resort), and its answer."""

    __tablename__ = "etias_request"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("etias_application.id", ondelete="CASCADE"),
                                                      index=True)
    kind: Mapped[str] = mapped_column(String(12))  # information, interview
    asked_by: Mapped[str] = mapped_column(String(72))  # state:officer
    on_behalf_of: Mapped[str | None] = mapped_column(String(8))  # a consulted Member State (Art. 27(1))
    text: Mapped[str] = mapped_column(String(2000))
    languages: Mapped[list] = mapped_column(JSON, default=list)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the reply deadline, or the interview's time
    place: Mapped[str | None] = mapped_column(String(200))  # interview: consulate or remote
    status: Mapped[str] = mapped_column(String(12))  # open, answered, lapsed, attended, missed
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(String(4000))


class Document(Base):
    """An electronic copy the applicant sent with an answer (Art. 27(2)): kept with the file."""

    __tablename__ = "etias_document"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("etias_request.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Consultation(Base):
    """Art. 28-29: another Member State's national unit, or Europol, asked for a reasoned opinion within
    60 hours; no reply in time counts as a positive opinion."""

    __tablename__ = "etias_consultation"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("etias_application.id", ondelete="CASCADE"),
                                                      index=True)
    consulted: Mapped[str] = mapped_column(String(8))  # alpha-3 Member State or EUROPOL
    why: Mapped[str] = mapped_column(String(500))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opinion: Mapped[str | None] = mapped_column(String(12))  # positive, negative
    deemed: Mapped[bool] = mapped_column(Boolean, default=False)  # positive by silence
    opinion_reason: Mapped[str | None] = mapped_column(String(1000))
    answered_by: Mapped[str | None] = mapped_column(String(72))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    second_line_check: Mapped[bool] = mapped_column(Boolean, default=False)  # asked for (Art. 36(2))


class Ltv(Base):
    """Art. 44: a travel authorisation with limited territorial validity, issued exceptionally by a Member
    State on humanitarian grounds, for national interest or international obligations."""

    __tablename__ = "etias_ltv"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("etias_application.id", ondelete="CASCADE"),
                                                      index=True)
    issued_by: Mapped[str] = mapped_column(String(72))  # state:officer
    ground: Mapped[str] = mapped_column(String(32))
    states: Mapped[list] = mapped_column(JSON)  # where it is valid, the issuing state first
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(1000))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Appeal(Base):
    """Art. 37(3), 40(3), 41(7): an appeal lodged in the deciding Member State under its law, as recorded
    by its national unit, and its outcome."""

    __tablename__ = "etias_appeal"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("etias_application.id", ondelete="CASCADE"),
                                                      index=True)
    against: Mapped[str] = mapped_column(String(12))  # refused, annulled, revoked
    state: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(64))  # the court's or authority's case number
    lodged_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(72))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(12), default="pending")  # pending, dismissed, upheld
    outcome_on: Mapped[date | None] = mapped_column(Date)
    outcome_note: Mapped[str | None] = mapped_column(String(1000))


class Log(Base):
    """Art. 69: every processing operation, with its purpose: who (authority and staff member), what
    (operation, file, data categories, hits) and why. No data of the applicant beyond the file number."""

    __tablename__ = "etias_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    authority: Mapped[str] = mapped_column(String(32))  # central_unit, national_unit:DEU, carrier:XX, system
    actor: Mapped[str] = mapped_column(String(72))
    purpose: Mapped[str] = mapped_column(String(64))  # the article the operation serves
    operation: Mapped[str] = mapped_column(String(32))
    application: Mapped[str | None] = mapped_column(String(24), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class ScreeningRule(Base):
    """Art. 33: one version of a screening rule (a specific risk indicator), as data. A version is never
    changed: a new one is added. The Central Unit proposes it; another officer activates it after
    consulting the ETIAS Screening Board (Art. 9(2)(a), 33(6)); retiring it stops its use."""

    __tablename__ = "etias_screening_rule"
    rule_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))  # proposed, active, retired
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_by: Mapped[str | None] = mapped_column(String(64))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    screening_board: Mapped[str | None] = mapped_column(String(1000))  # the Board's opinion, as recorded
    retired_by: Mapped[str | None] = mapped_column(String(64))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_reason: Mapped[str | None] = mapped_column(String(1000))


@event.listens_for(Application.notices, "set")
def _mail_pending(target: Application, value: list, old: object, initiator: object) -> None:
    """Whatever the applicant is told is also mailed to them (etias/mailer.py)."""
    if value and len(value) > (target.notices_sent or 0):
        target.mail_pending = True
