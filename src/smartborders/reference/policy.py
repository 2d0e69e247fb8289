"""Who the EES registers and who needs a visa, by nationality code (as in the MRZ).

Regulation (EU) 2018/1806 Annex I (visa required) and Annex II (visa exempt); EES Art. 2(3) excludes
EU/EEA/Swiss nationals and nationals of Andorra, Monaco, San Marino and the Vatican. Every code not
listed (an ISO 3166 alpha-3 or ICAO code) is visa-required: Annex I is the default, Annex II the exception.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from smartborders.reference import read_rows


class VisaPolicy(StrEnum):
    FREE_MOVEMENT = "free_movement"  # not a third-country national: outside the EES
    EES_EXEMPT = "ees_exempt"  # third-country national outside the EES by Art. 2(3)
    VISA_EXEMPT = "visa_exempt"  # Annex II
    VISA_REQUIRED = "visa_required"  # Annex I


@lru_cache(maxsize=1)
def _table() -> dict[str, VisaPolicy]:
    return {r["code"]: VisaPolicy(r["policy"]) for r in read_rows("visa_policy.csv")}


def visa_policy(nationality: str) -> VisaPolicy:
    return _table().get(nationality, VisaPolicy.VISA_REQUIRED)


def in_ees_scope(nationality: str) -> bool:
    """EES Art. 2: third-country nationals, less the Art. 2(3) exclusions by nationality."""
    return visa_policy(nationality) in (VisaPolicy.VISA_EXEMPT, VisaPolicy.VISA_REQUIRED)


def codes(policy: VisaPolicy) -> list[str]:
    return sorted(c for c, p in _table().items() if p is policy)


@lru_cache(maxsize=1)
def refusal_reasons() -> dict[str, str]:
    """Annex V Part B SBC, the standard refusal form: letter -> reason (wording before ETIAS starts)."""
    return {r["code"]: r["reason"] for r in read_rows("refusal_reasons.csv")}
