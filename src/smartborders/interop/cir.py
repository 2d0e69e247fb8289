"""The common identity repository, CIR (Reg. 2019/817 Art. 17-18): the identity and travel-document
data of each system's records in one store, kept in step by the owning system's writes and erased
with them (Art. 23: a CIR entry lives only as long as its source)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from smartborders.interop.models import CirIdentity

C = CirIdentity.__table__


@dataclass(frozen=True)
class Identity:
    """What the MID compares: for the EES, surname, first names, date of birth, nationality and sex
    (Delegated Reg. 2023/333 Art. 1(1)), and the travel document."""

    surname: str
    given_names: str
    birth_date: date | None
    sex: str
    nationality: str
    document_number: str | None = None
    document_state: str | None = None


def store(session: Session, system: str, reference: str, who: Identity, at: datetime, *,
          has_biometrics: bool = False) -> None:
    """Create or update the system's record in the CIR, in the caller's transaction."""
    values = {"surname": who.surname, "given_names": who.given_names, "birth_date": who.birth_date,
              "sex": who.sex, "nationality": who.nationality, "document_number": who.document_number,
              "document_state": who.document_state, "updated_at": at}
    changed = session.execute(update(C).where(C.c.system == system, C.c.reference == reference).values(
        **values, **({"has_biometrics": True} if has_biometrics else {}))).rowcount
    if not changed:
        session.execute(C.insert().values(system=system, reference=reference, has_biometrics=has_biometrics,
                                          **values))


def erase(session: Session, system: str, references: list[str]) -> int:
    n = 0
    for lo in range(0, len(references), 1000):
        n += session.execute(delete(C).where(C.c.system == system,
                                             C.c.reference.in_(references[lo:lo + 1000]))).rowcount or 0
    return n


def get(session: Session, system: str, reference: str) -> tuple[Identity, bool] | None:
    row = session.execute(select(C).where(C.c.system == system, C.c.reference == reference)).first()
    if row is None:
        return None
    return _identity(row), bool(row.has_biometrics)


def search(session: Session, *, number: str | None = None, state: str | None = None, identity: Any = None,
           limit: int = 50) -> list[Any]:
    """Reg. 2019/817 Art. 20-21: the records of every system that hold this travel document, or these
    names and date of birth (rows, by system)."""
    conds = []
    if number is not None:
        conds.append((C.c.document_number == number) & (C.c.document_state == state))
    if identity is not None:
        conds.append((C.c.surname == identity.surname) & (C.c.given_names == identity.given_names)
                     & (C.c.birth_date == identity.birth_date))
    if not conds:
        return []
    return list(session.execute(select(C).where(or_(*conds)).order_by(C.c.system, C.c.reference).limit(limit)).all())


def candidates(session: Session, who: Identity, *, not_system: str, limit: int = 50) -> list[tuple[str, str, Identity, bool]]:
    """Records of other systems that may be the same person by identity or document data: the same
    travel document, or the same date of birth (the blocking key; names are compared by the MID)."""
    conds = []
    if who.document_number:
        conds.append((C.c.document_number == who.document_number) & (C.c.document_state == who.document_state))
    if who.birth_date is not None:
        conds.append(C.c.birth_date == who.birth_date)
    if not conds:
        return []
    where = conds[0] if len(conds) == 1 else conds[0] | conds[1]
    rows = session.execute(select(C).where(where, C.c.system != not_system).limit(limit)).all()
    return [(r.system, r.reference, _identity(r), bool(r.has_biometrics)) for r in rows]


def _identity(row) -> Identity:  # type: ignore[no-untyped-def]
    return Identity(row.surname, row.given_names, row.birth_date, row.sex, row.nationality, row.document_number,
                    row.document_state)
