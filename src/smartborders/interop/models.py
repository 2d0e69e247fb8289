"""Tables of the shared biometric matching service (Reg. 2019/817 Art. 12-13): the biometric
templates of every system, each under the subject that owns it ("EES:<file id>", later "ETIAS:…")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_sbms_template_subject", "subject"),)
