"""The European search portal, ESP (Reg. 2019/817 Art. 6-11): one query, every system the caller's
profile may search, and in each only the data the profile may see.

Profiles are data (`PROFILES`): per user profile, the systems it reaches and what it may see there
(Art. 8-9). Searches go to each system through that system's own service (DESIGN.md), to the CIR
for identity data, to the sBMS for a face, and to the MID for links, which are shown by the rules of
Art. 26: a red link to anyone with access to one of the two systems, a white link to those with
access to both, a green link only where the query also matched both records, and a yellow link to
the authority responsible for verifying it. Which authority gets which profile is the security
issue's (roles); here the profile is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smartborders.core.errors import InvalidInput
from smartborders.interop import cir, mid


@dataclass(frozen=True)
class Profile:
    """What one kind of ESP user may search and see (Art. 8(1)-(2))."""

    name: str
    law: str
    systems: frozenset[str]
    ees_fields: frozenset[str] = frozenset()  # of an EES individual file; empty: no EES access
    verifies_links_of: str | None = None  # Art. 29: yellow links this profile's authority must verify
    cir_identity: bool = False  # may read identity data from the CIR


_FILE_IDENTITY = frozenset({"id", "surname", "given_names", "birth_date", "sex", "nationality", "documents"})
_FILE_ALL = _FILE_IDENTITY | {"other_nationalities", "visa_required", "nfp", "face_status", "fingerprint_status",
                              "fingerprint_exemption", "records", "refusals"}

PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("border", "EES Art. 23-27; Reg. 2019/817 Art. 7(1)", frozenset({"EES", "ETIAS", "CIR", "MID"}),
            _FILE_ALL, verifies_links_of="EES", cir_identity=True),
    Profile("visa", "EES Art. 24; VIS", frozenset({"EES", "CIR", "MID"}), _FILE_ALL, verifies_links_of="VIS",
            cir_identity=True),
    Profile("etias_central_unit", "ETIAS Art. 7, 20-22", frozenset({"EES", "ETIAS", "CIR", "MID"}),
            _FILE_IDENTITY | {"records", "refusals"}, verifies_links_of="ETIAS", cir_identity=True),
    Profile("immigration", "EES Art. 26-27", frozenset({"EES", "CIR", "MID"}), _FILE_ALL, cir_identity=True),
    # Police identification through the CIR only (Reg. 2019/817 Art. 20): identity data, no travel history.
    Profile("police_identification", "Reg. 2019/817 Art. 20", frozenset({"CIR"}), cir_identity=True),
)}


@dataclass
class EspResult:
    profile: str
    systems: list[str]
    ees: list[dict[str, Any]] = field(default_factory=list)
    cir: list[dict[str, Any]] = field(default_factory=list)
    mid: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "systems": self.systems, "ees": self.ees, "cir": self.cir, "mid": self.mid}


def search(ctx: Any, profile: str, *, document: Any = None, identity: Any = None) -> EspResult:
    """Art. 9: one query by travel document and/or identity data over every system of the profile."""
    from smartborders.ees import service as ees

    p = PROFILES.get(profile)
    if p is None:
        raise InvalidInput(f"no ESP profile {profile!r}; known: {', '.join(sorted(PROFILES))}", profile=profile)
    if document is None and identity is None:
        raise InvalidInput("give a travel document, identity data, or both")
    out = EspResult(p.name, sorted(p.systems))
    matched: set[tuple[str, str]] = set()
    if "EES" in p.systems and p.ees_fields:
        from smartborders.ees import schemas as ES

        found = ees.search(ctx, ES.SearchRequest(document=document, identity=identity))
        if found.file is not None:
            data = found.file.model_dump(mode="json")
            out.ees.append({k: v for k, v in data.items() if k in p.ees_fields} | {"matched_by": found.matched_by})
            matched.add(("EES", found.file.id))
    if "CIR" in p.systems and p.cir_identity:
        number = document.number.replace("<", "").upper() if document is not None else None
        for row in cir.search(ctx.session, number=number, state=document.issuing_state if document else None,
                              identity=identity):
            out.cir.append({"system": row.system, "reference": row.reference, "surname": row.surname,
                            "given_names": row.given_names, "birth_date": row.birth_date.isoformat()
                            if row.birth_date else None, "sex": row.sex, "nationality": row.nationality,
                            "document_number": row.document_number, "document_state": row.document_state})
            matched.add((row.system, row.reference))
    if "MID" in p.systems:
        seen: set[str] = set()
        for system, ref in sorted(matched):
            for link in mid.links_for(ctx.session, system, ref):
                if str(link.id) in seen or not _may_see(p, link, system, matched):
                    continue
                seen.add(str(link.id))
                out.mid.append(link.to_json() | {"from": f"{system}:{ref}"})
    return out


def _may_see(p: Profile, link: mid.Link, system: str, matched: set[tuple[str, str]]) -> bool:
    """Art. 26 [R for red and white, K for green and yellow: spec/etias-interop.md §5.4]."""
    both = {system, link.system} <= p.systems
    if link.colour == "red":
        return bool({system, link.system} & p.systems)
    if link.colour == "white":
        return both
    if link.colour == "green":
        return both and (link.system, link.reference) in matched
    return p.verifies_links_of is not None and link.responsible == mid.RESPONSIBLE.get(p.verifies_links_of)
