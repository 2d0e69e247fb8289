"""Tables of the interoperability components (Reg. 2019/817): the shared biometric matching service's
templates (Art. 12-13), the common identity repository's identities (Art. 17-18) and the
multiple-identity detector's links (Art. 25-36)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from smartborders.core.db import Base, UTCDateTime


class BiometricTemplate(Base):
    """One template: a face descriptor (128 float32) or a fingerprint (ISO/IEC 19794-2:2005).
    Art. 13(1): templates only, the images stay in the owning system. The integer id is the
    template's id in the 1:N index."""

    __tablename__ = "sbms_template"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    subject: Mapped[str] = mapped_column(String(80))  # system + ":" + the system's own reference
    system: Mapped[str] = mapped_column(String(8))  # EES, ETIAS, VIS, ...
    kind: Mapped[str] = mapped_column(String(8))  # face, finger
    position: Mapped[str] = mapped_column(String(16), default="")  # finger position, "" for a face
    data: Mapped[bytes] = mapped_column(LargeBinary)
    quality: Mapped[int] = mapped_column(Integer)  # face 0-100, NFIQ 2 for a finger
    # A finger's 1:N pre-selection feature (float16; biometrics/fingerprint.py), so that no process
    # recomputes it from the template when it builds its index.
    feature: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_sbms_template_subject", "subject"),)


class CirIdentity(Base):
    """Reg. 2019/817 Art. 17-18: the identity and travel-document data each system holds of a person,
    in one place, so that identities can be compared across systems (the MID's input)."""

    __tablename__ = "cir_identity"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    system: Mapped[str] = mapped_column(String(8))
    reference: Mapped[str] = mapped_column(String(64))  # the record's id in its system
    surname: Mapped[str] = mapped_column(String(100))
    given_names: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    nationality: Mapped[str] = mapped_column(String(3))
    document_number: Mapped[str | None] = mapped_column(String(24))
    document_state: Mapped[str | None] = mapped_column(String(3))
    has_biometrics: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("system", "reference", name="uq_cir_identity_system_reference"),
        Index("ix_cir_identity_birth_date", "birth_date"),
        Index("ix_cir_identity_document", "document_number", "document_state"),
    )


class MidLink(Base):
    """Reg. 2019/817 Art. 30-34: a link between two systems' data of what may be one person, with its
    colour, the grounds it was created on and the authority that must verify it (the identity
    confirmation file)."""

    __tablename__ = "mid_link"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    a_system: Mapped[str] = mapped_column(String(8))
    a_reference: Mapped[str] = mapped_column(String(64))
    b_system: Mapped[str] = mapped_column(String(8))
    b_reference: Mapped[str] = mapped_column(String(64))
    colour: Mapped[str] = mapped_column(String(8))  # white, yellow, green, red
    same_biometrics: Mapped[bool] = mapped_column(Boolean)
    identity: Mapped[str] = mapped_column(String(10))  # same, similar, different (Delegated Reg. 2023/333)
    same_document: Mapped[bool] = mapped_column(Boolean)
    responsible: Mapped[str] = mapped_column(String(64))  # Art. 29: who verifies a yellow link
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        UniqueConstraint("a_system", "a_reference", "b_system", "b_reference", name="uq_mid_link_pair"),
        Index("ix_mid_link_b", "b_system", "b_reference"),
        Index("ix_mid_link_colour", "colour"),
    )


class MidLinkEvent(Base):
    """Every change of a link's colour, with who and why (Art. 36: the MID keeps logs)."""

    __tablename__ = "mid_link_event"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    link_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mid_link.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    colour_from: Mapped[str | None] = mapped_column(String(8))
    colour_to: Mapped[str] = mapped_column(String(8))
    by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
