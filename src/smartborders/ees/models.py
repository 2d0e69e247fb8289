"""EES tables (EES Art. 16-20). Owned by `ees`; other systems read them only through `ees.service`.

Indexes follow the searches the law prescribes (Art. 23, Implementing Decision (EU) 2019/327): by
travel document (number + issuing state), and by identity (surname, date of birth, nationality,
sex); records are reached by file and by date. One open entry/exit record per file is enforced by a
partial unique index, so two crossings of one traveller at the same time cannot both win.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from smartborders.core.db import Base, UTCDateTime


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class CrossingPoint(Base):
    """A border crossing point (BCP) where the EES is operated, and the mode it runs in (Reg. 2025/1534)."""

    __tablename__ = "ees_crossing_point"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))


class IndividualFile(Base):
    """EES Art. 16(1) / 17(1): one per third-country national."""

    __tablename__ = "ees_individual_file"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    surname: Mapped[str] = mapped_column(String(100))
    given_names: Mapped[str] = mapped_column(String(200), default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))  # M, F, X
    nationality: Mapped[str] = mapped_column(String(3))  # the one given at the last crossing
    other_nationalities: Mapped[str] = mapped_column(String(64), default="")  # space-separated codes
    visa_required: Mapped[bool] = mapped_column(Boolean)
    nfp: Mapped[bool] = mapped_column(Boolean, default=False)  # Art. 16(6) national facilitation programme
    # Art. 17(3)-(5): "present", "not_applicable" (under 12 / permanently impossible),
    # "temporarily_impossible" (to be taken at the next crossing), "vis" (visa holders: prints are in the VIS),
    # "missing" (file created without biometrics: fall-back or reduced mode, to be completed).
    fingerprint_status: Mapped[str] = mapped_column(String(24))
    fingerprint_exemption: Mapped[str | None] = mapped_column(String(64))
    face_status: Mapped[str] = mapped_column(String(24))  # "present", "vis", "missing"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))  # authority
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    documents: Mapped[list[TravelDocument]] = relationship(
        back_populates="file", cascade="all, delete-orphan", order_by="TravelDocument.first_used_at"
    )
    records: Mapped[list[EntryExitRecord]] = relationship(
        back_populates="file", cascade="all, delete-orphan", order_by="EntryExitRecord.entry_at"
    )
    refusals: Mapped[list[RefusalRecord]] = relationship(
        back_populates="file", cascade="all, delete-orphan", order_by="RefusalRecord.refused_at"
    )
    biometrics: Mapped[list[BiometricSample]] = relationship(back_populates="file", cascade="all, delete-orphan")

    __table_args__ = (Index("ix_ees_file_identity", "surname", "birth_date", "nationality", "sex"),)


class TravelDocument(Base):
    """Art. 16(1)(b)-(c): travel documents the person used lawfully, all on the same file (Art. 14)."""

    __tablename__ = "ees_travel_document"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ees_individual_file.id", ondelete="CASCADE"), index=True)
    document_type: Mapped[str] = mapped_column(String(2))
    number: Mapped[str] = mapped_column(String(24))
    issuing_state: Mapped[str] = mapped_column(String(3))
    expiry_date: Mapped[date | None] = mapped_column(Date)
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime)

    file: Mapped[IndividualFile] = relationship(back_populates="documents")
    __table_args__ = (Index("ux_ees_document", "number", "issuing_state", unique=True),)


class BiometricSample(Base):
    """Facial image (Art. 15) or fingerprint (Art. 17(1)(c)); opaque bytes until the biometrics module."""

    __tablename__ = "ees_biometric_sample"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ees_individual_file.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # face, finger
    position: Mapped[str] = mapped_column(String(16), default="")  # finger position (ISO 19794-2), "" for a face
    data: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(8))  # live, chip (Art. 15(2): reported yearly, 15(3))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)

    file: Mapped[IndividualFile] = relationship(back_populates="biometrics")


class EntryExitRecord(Base):
    """Art. 16(2)-(4), 17(2), 19: one per stay, from entry to exit."""

    __tablename__ = "ees_entry_exit_record"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ees_individual_file.id", ondelete="CASCADE"))
    entry_client_id: Mapped[str] = mapped_column(String(64), unique=True)
    entry_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entry_date: Mapped[date] = mapped_column(Date)  # local calendar date at the BCP (SBC Art. 6(2))
    entry_bcp: Mapped[str] = mapped_column(ForeignKey("ees_crossing_point.code"))
    entry_authority: Mapped[str] = mapped_column(String(64))
    entry_from_stamp: Mapped[bool] = mapped_column(Boolean, default=False)  # Art. 22(2): entry date from a stamp
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ees_travel_document.id"))
    family_member: Mapped[bool] = mapped_column(Boolean, default=False)  # Art. 16(2)(c)
    visa_sticker: Mapped[str | None] = mapped_column(String(16))  # Art. 16(2)(d)-(f)
    visa_issuing_state: Mapped[str | None] = mapped_column(String(3))
    visa_type: Mapped[str | None] = mapped_column(String(4))
    visa_entries: Mapped[int | None] = mapped_column(Integer)  # 1, 2 or None (multiple)
    visa_duration_days: Mapped[int | None] = mapped_column(Integer)
    visa_valid_from: Mapped[date | None] = mapped_column(Date)
    visa_valid_until: Mapped[date | None] = mapped_column(Date)
    visa_ltv_states: Mapped[str | None] = mapped_column(String(128))  # space-separated alpha-2 codes
    # The authorised stay computed at entry (Art. 11(2)(a)), moved by amendments (Art. 19).
    max_stay_days: Mapped[int | None] = mapped_column(Integer)
    authorised_until: Mapped[date | None] = mapped_column(Date)  # None: the rule does not apply (Art. 11(1))
    exit_client_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    exit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exit_date: Mapped[date | None] = mapped_column(Date)
    exit_bcp: Mapped[str | None] = mapped_column(ForeignKey("ees_crossing_point.code"))
    exit_authority: Mapped[str | None] = mapped_column(String(64))
    overstay: Mapped[bool] = mapped_column(Boolean, default=False)  # Art. 12(1), 16(4)
    overstay_flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)  # Art. 21(3)
    mode: Mapped[str] = mapped_column(String(16), default="full")  # full, no_biometrics, heavy_traffic (capture suspended, Reg. 2025/1534)

    file: Mapped[IndividualFile] = relationship(back_populates="records")
    document: Mapped[TravelDocument | None] = relationship()  # orders the inserts: document before record
    amendments: Mapped[list[RecordAmendment]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="RecordAmendment.created_at"
    )

    __table_args__ = (
        Index("ix_ees_record_file_entry", "file_id", "entry_date"),
        Index("ix_ees_record_entry_date", "entry_date"),
        Index("ix_ees_record_exit_date", "exit_date"),
        # The purge deletes travel documents: each delete checks the records that point at it.
        Index("ix_ees_record_document", "document_id"),
        # Art. 34(4): family members' records go a year after exit.
        Index("ix_ees_record_family_exit", "exit_date",
              postgresql_where=text("family_member"), sqlite_where=text("family_member")),
        # The sweep's working set: open records by the end of their authorised stay (Art. 12).
        Index(
            "ix_ees_record_open_until", "authorised_until",
            postgresql_where=text("exit_at IS NULL"), sqlite_where=text("exit_at IS NULL"),
        ),
        Index(
            "ux_ees_record_one_open_per_file", "file_id", unique=True,
            postgresql_where=text("exit_at IS NULL"), sqlite_where=text("exit_at IS NULL"),
        ),
        CheckConstraint("exit_at IS NULL OR exit_at >= entry_at", name="exit_after_entry"),
    )


class RecordAmendment(Base):
    """Art. 19: revocation, annulment or extension added to the latest relevant record."""

    __tablename__ = "ees_record_amendment"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    record_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ees_entry_exit_record.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # revoked, annulled, extended
    authority: Mapped[str] = mapped_column(String(64))  # 19(1)(b)
    place: Mapped[str] = mapped_column(String(100))  # 19(1)(c)
    decided_on: Mapped[date] = mapped_column(Date)  # 19(1)(c)
    new_visa_sticker: Mapped[str | None] = mapped_column(String(16))  # 19(1)(d)
    extension_days: Mapped[int | None] = mapped_column(Integer)  # 19(1)(e)
    new_until: Mapped[date | None] = mapped_column(Date)  # 19(1)(f)
    cisa_20_2b: Mapped[bool] = mapped_column(Boolean, default=False)  # 19(2)
    territorial_state: Mapped[str | None] = mapped_column(String(2))  # CISA Art. 20(2c)
    grounds: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    record: Mapped[EntryExitRecord] = relationship(back_populates="amendments")


class RefusalRecord(Base):
    """Art. 18(6): a refusal of entry with the Annex V Part B reason letters."""

    __tablename__ = "ees_refusal_record"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ees_individual_file.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    refused_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refusal_date: Mapped[date] = mapped_column(Date, index=True)
    bcp: Mapped[str] = mapped_column(ForeignKey("ees_crossing_point.code"))
    authority: Mapped[str] = mapped_column(String(64))
    reasons: Mapped[str] = mapped_column(String(9))  # sorted letters, e.g. "CF"
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)

    file: Mapped[IndividualFile] = relationship(back_populates="refusals")


class IdempotentRequest(Base):
    """Every write from a crossing point carries a client-generated id; a replay returns the first answer."""

    __tablename__ = "ees_idempotent_request"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the canonical request
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SweepRun(Base):
    """One run of the overstay sweep (Art. 12): when, up to which day, what it changed."""

    __tablename__ = "ees_sweep_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime)
    as_of: Mapped[date] = mapped_column(Date)
    flagged: Mapped[int] = mapped_column(Integer)


class PurgeRun(Base):
    """One run of the retention purge (Art. 34): counts only, no personal data; kept for the log period."""

    __tablename__ = "ees_purge_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime)
    as_of: Mapped[date] = mapped_column(Date)
    files: Mapped[int] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(Integer)
    refusals: Mapped[int] = mapped_column(Integer)
    detail: Mapped[dict] = mapped_column(JSON)
