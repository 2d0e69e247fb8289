"""ETIAS rules that need no database: who must apply (Reg. 2018/1240 Art. 2), the fee (Art. 18, as
amended by Delegated Reg. 2025/1411) and how long an authorisation is valid (Art. 36).

Each answer carries its legal ground, so that a traveller, a carrier or an officer sees why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from smartborders.reference.policy import VisaPolicy, visa_policy

# The 30 European countries where ETIAS applies (spec/etias-interop.md §1.1): the Schengen states,
# Bulgaria, Romania and Cyprus; not Ireland. ISO 3166-1 alpha-3.
ETIAS_COUNTRIES = frozenset({
    "AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN", "ISL", "ITA",
    "LVA", "LIE", "LTU", "LUX", "MLT", "NLD", "NOR", "POL", "PRT", "ROU", "SVK", "SVN", "ESP", "SWE", "CHE",
})

# Member States' two-letter codes (as SIS and the units write them) to the alpha-3 codes used here.
ALPHA2 = {
    "AT": "AUT", "BE": "BEL", "BG": "BGR", "HR": "HRV", "CY": "CYP", "CZ": "CZE", "DK": "DNK", "EE": "EST",
    "FI": "FIN", "FR": "FRA", "DE": "DEU", "GR": "GRC", "EL": "GRC", "HU": "HUN", "IS": "ISL", "IT": "ITA",
    "LV": "LVA", "LI": "LIE", "LT": "LTU", "LU": "LUX", "MT": "MLT", "NL": "NLD", "NO": "NOR", "PL": "POL",
    "PT": "PRT", "RO": "ROU", "SK": "SVK", "SI": "SVN", "ES": "ESP", "SE": "SWE", "CH": "CHE",
}

# The application file's states (Art. 19(3), 21, 36-41) and the processing deadlines (Art. 22(6), 32(1)).
REQUESTED = "travel_authorisation_requested"  # Art. 19(3)(b)
ISSUED = "issued"  # Art. 21(1), 36
CENTRAL_UNIT = "central_unit_verification"  # Art. 21(2), 22
MANUAL = "manual_processing"  # Art. 21(3)-(4), 26
ENDED = ("refused", "annulled", "revoked")  # Art. 37, 40, 41
CENTRAL_UNIT_HOURS = 12  # Art. 22(6)
DECISION_HOURS = 96  # Art. 32(1)

FEE = Decimal("20.00")  # EUR, Art. 18(1) as amended by Delegated Reg. (EU) 2025/1411
VALIDITY_YEARS = 3  # Art. 36(1) [K: paragraph]


class Ground(StrEnum):
    """Why a person does or does not need a travel authorisation."""

    VISA_EXEMPT = "visa_exempt"  # Art. 2(1)(a): Annex II national
    FAMILY_MEMBER = "family_member"  # Art. 2(1)(c): family member of a Union citizen without a residence card
    NOT_THIRD_COUNTRY = "not_third_country"  # EU/EEA/Swiss national: free movement
    MICROSTATE = "microstate"  # Art. 2(2): Andorra, Monaco, San Marino, the Holy See
    VISA_REQUIRED = "visa_required"  # a visa is needed instead (Annex I)
    RESIDENCE_PERMIT = "residence_permit"  # Art. 2(2): residence permit or card of an ETIAS country
    UNIFORM_VISA = "uniform_visa"
    LONG_STAY_VISA = "long_stay_visa"
    LOCAL_BORDER_TRAFFIC = "local_border_traffic"
    REFUGEE_TRAVEL_DOCUMENT = "refugee_travel_document"  # refugees / stateless residing in an ETIAS country
    WITHDRAWAL_AGREEMENT = "withdrawal_agreement"  # UK nationals who are its beneficiaries, and family
    DIPLOMATIC_PASSPORT = "diplomatic_passport"  # where an agreement exempts them
    CREW_ON_DUTY = "crew_on_duty"  # [K]


@dataclass(frozen=True)
class Holdings:
    """What the traveller holds or is, besides the nationality (each an Art. 2(2) exemption)."""

    residence_permit: bool = False
    uniform_visa: bool = False
    long_stay_visa: bool = False
    local_border_traffic_permit: bool = False
    refugee_travel_document_of: str | None = None  # the ETIAS country that issued it
    withdrawal_agreement_beneficiary: bool = False
    diplomatic_passport_exempted: bool = False
    crew_on_duty: bool = False
    family_member_of_union_citizen: bool = False  # Art. 2(1)(c) (with no residence card: see residence_permit)


@dataclass(frozen=True)
class Requirement:
    required: bool
    ground: Ground
    explanation: str


_EXEMPT_BY_HOLDING = (
    ("residence_permit", Ground.RESIDENCE_PERMIT, "holds a residence permit or card of an ETIAS country"),
    ("uniform_visa", Ground.UNIFORM_VISA, "holds a uniform (Schengen) visa"),
    ("long_stay_visa", Ground.LONG_STAY_VISA, "holds a national long-stay visa"),
    ("local_border_traffic_permit", Ground.LOCAL_BORDER_TRAFFIC,
     "holds a local border traffic permit (within the border area)"),
    ("withdrawal_agreement_beneficiary", Ground.WITHDRAWAL_AGREEMENT,
     "is a beneficiary of the UK Withdrawal Agreement (or a family member)"),
    ("diplomatic_passport_exempted", Ground.DIPLOMATIC_PASSPORT,
     "holds a diplomatic, service or special passport exempted by agreement"),
    ("crew_on_duty", Ground.CREW_ON_DUTY, "is a crew member on duty"),
)


def required(nationality: str, holds: Holdings = Holdings()) -> Requirement:
    """Art. 2: does this traveller need an ETIAS travel authorisation for a short stay?"""
    policy = visa_policy(nationality)
    if policy is VisaPolicy.FREE_MOVEMENT:
        return Requirement(False, Ground.NOT_THIRD_COUNTRY, f"{nationality}: a national of an EU/EEA state or "
                           "Switzerland moves freely: ETIAS is for third-country nationals (Art. 2(1))")
    if policy is VisaPolicy.EES_EXEMPT:
        return Requirement(False, Ground.MICROSTATE, f"{nationality}: nationals of Andorra, Monaco, San Marino "
                           "and the Holy See are exempt (Art. 2(2))")
    if holds.refugee_travel_document_of:
        if holds.refugee_travel_document_of in ETIAS_COUNTRIES:
            return Requirement(False, Ground.REFUGEE_TRAVEL_DOCUMENT,
                               f"refugee or stateless person residing in {holds.refugee_travel_document_of} "
                               "and holding its travel document (Art. 2(2))")
    for attr, ground, why in _EXEMPT_BY_HOLDING:
        if getattr(holds, attr):
            return Requirement(False, ground, f"{why} (Art. 2(2))")
    if policy is VisaPolicy.VISA_REQUIRED:
        return Requirement(False, Ground.VISA_REQUIRED, f"{nationality}: visa required (Reg. 2018/1806 Annex I); "
                           "a visa, not ETIAS, is needed")
    if holds.family_member_of_union_citizen:
        return Requirement(True, Ground.FAMILY_MEMBER, f"{nationality}: visa-exempt family member of a Union "
                           "citizen without a residence card (Art. 2(1)(c)); the Art. 24 rules apply: no fee, "
                           "question (c) not asked")
    return Requirement(True, Ground.VISA_EXEMPT, f"{nationality}: visa-exempt (Reg. 2018/1806 Annex II, "
                       "Art. 2(1)(a))")


def _birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February
        return date(born.year + years, 3, 1)


def fee(born: date, applied_on: date, *, family_member: bool = False) -> tuple[Decimal, str]:
    """Art. 18: the fee, and why. Waived under 18 or above 70 at the time of application, and for
    family members (Art. 24(2)(b)). "Above 70 years of age" read as: after the 70th birthday [K]."""
    if family_member:
        return Decimal("0.00"), "waived: family member of a Union citizen (Art. 24(2)(b))"
    if applied_on < _birthday(born, 18):
        return Decimal("0.00"), "waived: under 18 at the time of application (Art. 18(2))"
    if applied_on > _birthday(born, 70):
        return Decimal("0.00"), "waived: above 70 at the time of application (Art. 18(2))"
    return FEE, f"EUR {FEE} (Art. 18(1), Delegated Reg. 2025/1411)"


def valid_until(issued_on: date, document_expiry: date) -> date:
    """Art. 36: three years from issue, or until the travel document expires if that is sooner."""
    return min(_birthday(issued_on, VALIDITY_YEARS), document_expiry)


def _months_later(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


class Period(StrEnum):
    """Art. 83: where ETIAS stands on a given day."""

    NOT_STARTED = "not_started"
    OPTIONAL = "optional"  # Art. 83(1): holding a TA is not yet an obligation
    GRACE = "grace"  # Art. 83(2): obligation, but a first crossing without one is let in
    FULL = "full"


@dataclass(frozen=True)
class Periods:
    start: date
    optional_months: int = 6
    grace_months: int = 6

    @property
    def optional_until(self) -> date:
        return _months_later(self.start, self.optional_months)

    @property
    def grace_until(self) -> date:
        return _months_later(self.optional_until, self.grace_months)

    def on(self, day: date) -> Period:
        if day < self.start:
            return Period.NOT_STARTED
        if day < self.optional_until:
            return Period.OPTIONAL
        if day < self.grace_until:
            return Period.GRACE
        return Period.FULL


def periods() -> Periods:
    """The configured periods (SMARTBORDERS_ETIAS_START and friends)."""
    from smartborders.core.settings import get_settings

    s = get_settings()
    return Periods(s.etias_start, s.etias_optional_months, s.etias_grace_months)
