"""The multiple-identity detector, MID (Reg. 2019/817 Art. 25-36).

Whenever a system creates or updates a person's data, the MID looks in the *other* systems (Art. 27;
2019/818 Art. 27(5): no de-duplication within one system) for the same person under the same or other
identity data: by biometrics through the sBMS, by identity and travel-document data through the CIR.
Each candidate becomes a link, coloured by Arts 30-33:

- white: the same person, consistently: same biometrics and same or similar identity data; or same or
  similar identity data and the same travel document where a system has no biometrics of the person;
- yellow: a match that cannot be classed white (same biometrics with different identity data, the same
  travel document with different identity data or different biometrics, the same identity data with
  nothing else in common): to be verified manually by the authority whose action created it (Art. 29);
- green (verified different persons in good faith) and red (verified unjustified multiple identity or
  identity fraud) are only ever the outcome of that manual verification.

"Same" and "similar" identity data are defined field by field in Delegated Regulation (EU) 2023/333,
whose annexes were not read (spec/etias-interop.md §9): the rules in `compare_identity` are our
reading of its principles (transliterated names, small spelling differences, a transposed date) and
are marked as such.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from rapidfuzz.distance import JaroWinkler, Levenshtein
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from smartborders.core.errors import Conflict, InvalidInput, NotFound
from smartborders.interop import cir
from smartborders.interop.cir import Identity
from smartborders.interop.models import MidLink, MidLinkEvent

L = MidLink.__table__
E = MidLinkEvent.__table__
Similarity = Literal["same", "similar", "different"]
Colour = Literal["white", "yellow", "green", "red"]

# Art. 29: who verifies a yellow link, by the system whose write created it.
RESPONSIBLE = {
    "EES": "border authority (EES Art. 9(2))",
    "ETIAS": "ETIAS central unit",
    "VIS": "visa authority",
    "SIS": "SIRENE bureau",
}


class LinkNotYellow(Conflict):
    slug = "link-already-verified"
    title = "Only a yellow link can be verified"


@dataclass(frozen=True)
class Link:
    id: uuid.UUID
    colour: str
    system: str  # the other side, seen from the record asked about
    reference: str
    identity: str
    same_biometrics: bool
    same_document: bool
    responsible: str

    def to_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "colour": self.colour, "system": self.system, "reference": self.reference,
                "identity": self.identity, "same_biometrics": self.same_biometrics,
                "same_document": self.same_document, "responsible": self.responsible}


# --- the rules ------------------------------------------------------------------------------------


def _name(text: str) -> str:
    from smartborders.travel.mrz import transliterate

    return transliterate(text or "")


def _names_similar(a: Identity, b: Identity) -> bool:
    """Our reading of "similar names" [K: 2023/333 annex not read]: after transliteration, the full
    names close by Jaro-Winkler (spelling variants: SMITH / SMIETH), or the surname one or two edits
    apart with the same given names, or the same words in another order (surname and given names swapped)."""
    sa, sb = _name(a.surname), _name(b.surname)
    ga, gb = _name(a.given_names), _name(b.given_names)
    full_a, full_b = f"{sa} {ga}".strip(), f"{sb} {gb}".strip()
    if JaroWinkler.similarity(full_a, full_b) >= 0.92:
        return True
    if ga == gb and Levenshtein.distance(sa, sb) <= 2 and min(len(sa), len(sb)) >= 4:
        return True
    return sorted(full_a.split()) == sorted(full_b.split())


def _dates_similar(a: date | None, b: date | None) -> bool:
    """The same date, or one written with day and month transposed, or one part off [K]."""
    if a is None or b is None:
        return a is None and b is None
    if a == b:
        return True
    if a.year == b.year and (a.day, a.month) == (b.month, b.day):
        return True
    return sum((a.year != b.year, a.month != b.month, a.day != b.day)) == 1


def compare_identity(a: Identity, b: Identity) -> Similarity:
    """Same, similar or different identity data over the EES fields (Delegated Reg. 2023/333 Art. 1(1)(a):
    surname, first names, date of birth, nationality, sex)."""
    same_names = (_name(a.surname), _name(a.given_names)) == (_name(b.surname), _name(b.given_names))
    if same_names and a.birth_date == b.birth_date and a.sex == b.sex and a.nationality == b.nationality:
        return "same"
    if (same_names or _names_similar(a, b)) and _dates_similar(a.birth_date, b.birth_date):
        return "similar"
    return "different"


def colour_for(*, same_biometrics: bool, different_biometrics: bool, identity: Similarity,
               same_document: bool) -> Colour | None:
    """Arts 30-33 for a new match; None where the data do not match at all."""
    if same_biometrics:
        return "white" if identity in ("same", "similar") else "yellow"
    if same_document:
        if identity in ("same", "similar") and not different_biometrics:
            return "white"
        return "yellow"
    if identity == "same":
        return "yellow"  # the same identity data under other biometrics or documents: who is who?
    return None


# --- detection and verification --------------------------------------------------------------------


def detect(session: Session, system: str, reference: str, who: Identity, at: datetime, *,
           face: Any = None, sbms: Any = None, face_candidates: list[Any] | None = None,
           finger_candidates: list[Any] | None = None) -> list[Link]:
    """Art. 27: look for the person in the other systems and create the links (none to itself, none
    within its own system). Existing links stand; a verified colour is never overwritten.
    `face_candidates`, `finger_candidates`: the sBMS's answers where the caller already searched."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    if face_candidates is None and face is not None and sbms is not None:
        face_candidates = sbms.identify_face(face, k=5)
    for c in [*(face_candidates or [] if face is not None else []), *(finger_candidates or [])]:
        other_system, other_ref = c.subject.split(":", 1)
        if other_system != system and c.match:
            found.setdefault((other_system, other_ref), {})["same_biometrics"] = True
    for other_system, other_ref, ident, has_bio in cir.candidates(session, who, not_system=system):
        found.setdefault((other_system, other_ref), {}).update(identity=ident, has_biometrics=has_bio)
    links = []
    for (other_system, other_ref), f in found.items():
        ident = f.get("identity")
        if ident is None:  # a biometric match the CIR has no identity for (yet)
            got = cir.get(session, other_system, other_ref)
            if got is None:
                continue
            ident, f["has_biometrics"] = got
        identity = compare_identity(who, ident)
        same_document = bool(who.document_number) and (who.document_number, who.document_state) == (
            ident.document_number, ident.document_state)
        same_bio = bool(f.get("same_biometrics"))
        # Both sides have biometrics and the sBMS did not match them: different biometrics.
        different_bio = face is not None and bool(f.get("has_biometrics")) and not same_bio
        colour = colour_for(same_biometrics=same_bio, different_biometrics=different_bio, identity=identity,
                            same_document=same_document)
        if colour is None:
            continue
        links.append(create_link(session, system, reference, other_system, other_ref, colour, same_bio, identity,
                                 same_document, at))
    return links


def create_link(session: Session, system: str, reference: str, other_system: str, other_ref: str, colour: Colour,
                same_bio: bool, identity: Similarity, same_document: bool, at: datetime) -> Link:
    """A new link between two systems' records, or the existing one (a verified colour stands)."""
    existing = session.execute(select(L).where(_pair(system, reference, other_system, other_ref))).first()
    if existing is not None:
        return _link(existing, system, reference)
    link_id = uuid.uuid4()
    responsible = RESPONSIBLE.get(system, f"{system} authority")
    session.execute(L.insert().values(
        id=link_id, a_system=system, a_reference=reference, b_system=other_system, b_reference=other_ref,
        colour=colour, same_biometrics=same_bio, identity=identity, same_document=same_document,
        responsible=responsible, created_at=at, updated_at=at))
    session.execute(E.insert().values(link_id=link_id, at=at, colour_from=None, colour_to=colour, by="MID",
                                      reason=_grounds(same_bio, identity, same_document)))
    return Link(link_id, colour, other_system, other_ref, identity, same_bio, same_document, responsible)


def verify(session: Session, link_id: uuid.UUID, colour: Colour, *, by: str, reason: str, at: datetime) -> Link:
    """Art. 29: the responsible authority's manual verification of a yellow link: white (the same
    person, justified), green (different persons in good faith) or red (unjustified multiple identity
    or identity fraud). The reason is recorded; a verified link is not verified again."""
    if colour not in ("white", "green", "red"):
        raise InvalidInput(f"a verified link is white, green or red, not {colour!r}")
    if not reason.strip() or not by.strip():
        raise InvalidInput("a verification names the verifying authority and gives its reason")
    row = session.execute(select(L).where(L.c.id == link_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"no MID link {link_id}")
    if row.colour != "yellow":
        raise LinkNotYellow(f"the link is already {row.colour}", colour=row.colour)
    session.execute(update(L).where(L.c.id == link_id).values(colour=colour, verified_by=by, verified_at=at,
                                                             reason=reason, updated_at=at))
    session.execute(E.insert().values(link_id=link_id, at=at, colour_from="yellow", colour_to=colour, by=by,
                                      reason=reason))
    return _link(session.execute(select(L).where(L.c.id == link_id)).one(), row.a_system, row.a_reference)


def links_for(session: Session, system: str, reference: str) -> list[Link]:
    rows = session.execute(select(L).where(or_(
        (L.c.a_system == system) & (L.c.a_reference == reference),
        (L.c.b_system == system) & (L.c.b_reference == reference)))).all()
    return [_link(r, system, reference) for r in rows]


def links(session: Session, colour: Colour = "yellow", system: str | None = None, limit: int = 100
          ) -> list[dict[str, Any]]:
    """Links of one colour, oldest first; with "yellow", the manual-verification queue (of the links a
    write of `system` created, whose authority verifies them: Art. 29)."""
    q = select(L).where(L.c.colour == colour).order_by(L.c.created_at).limit(limit)
    if system is not None:
        q = q.where(L.c.a_system == system)
    return [_file(r) for r in session.execute(q).all()]


def yellow_links(session: Session, responsible_system: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The manual-verification queue, oldest first."""
    return links(session, "yellow", responsible_system, limit)


def identity_confirmation_file(session: Session, link_id: uuid.UUID) -> dict[str, Any]:
    """Art. 34: one link with every change of its colour."""
    row = session.execute(select(L).where(L.c.id == link_id)).first()
    if row is None:
        raise NotFound(f"no MID link {link_id}")
    return _file(row) | {"history": history(session, link_id)}


def _file(r: Any) -> dict[str, Any]:
    return {"id": str(r.id), "colour": r.colour, "a": f"{r.a_system}:{r.a_reference}",
            "b": f"{r.b_system}:{r.b_reference}", "identity": r.identity, "same_biometrics": r.same_biometrics,
            "same_document": r.same_document, "responsible": r.responsible, "created_at": r.created_at.isoformat()}


def history(session: Session, link_id: uuid.UUID) -> list[dict[str, Any]]:
    return [{"at": r.at.isoformat(), "from": r.colour_from, "to": r.colour_to, "by": r.by, "reason": r.reason}
            for r in session.execute(select(E).where(E.c.link_id == link_id).order_by(E.c.id)).all()]


def erase_links(session: Session, system: str, references: list[str]) -> int:
    """[K: Art. 35] A link lives only while both linked records do: erased with either."""
    n = 0
    for lo in range(0, len(references), 1000):
        refs = references[lo:lo + 1000]
        n += session.execute(delete(L).where(or_(
            (L.c.a_system == system) & L.c.a_reference.in_(refs),
            (L.c.b_system == system) & L.c.b_reference.in_(refs)))).rowcount or 0
    return n


def _pair(s1: str, r1: str, s2: str, r2: str) -> Any:
    return or_((L.c.a_system == s1) & (L.c.a_reference == r1) & (L.c.b_system == s2) & (L.c.b_reference == r2),
               (L.c.a_system == s2) & (L.c.a_reference == r2) & (L.c.b_system == s1) & (L.c.b_reference == r1))


def _link(row: Any, system: str, reference: str) -> Link:
    mine_is_a = (row.a_system, row.a_reference) == (system, reference)
    other = (row.b_system, row.b_reference) if mine_is_a else (row.a_system, row.a_reference)
    return Link(row.id, row.colour, other[0], other[1], row.identity, row.same_biometrics, row.same_document,
                row.responsible)


def _grounds(same_bio: bool, identity: str, same_document: bool) -> str:
    parts = ["same biometrics" if same_bio else None, f"{identity} identity data",
             "same travel document" if same_document else None]
    return "created on: " + ", ".join(p for p in parts if p)
