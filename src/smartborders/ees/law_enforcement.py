"""Law-enforcement access to the EES through a central access point (EES Arts. 29, 31, 32, 33, 47).

A designated authority's operating unit never searches the EES itself: it sends a reasoned request to its
Member State's central access point (CAP), which is functionally independent and takes no instructions on
the outcome (29(3)). The CAP verifies the Art. 32 conditions; if they are met the search is run and the data
go to the operating unit (31(1)). In an exceptional case of urgency the request is processed at once and
the CAP verifies afterwards, within 7 working days, whether the conditions were met, urgency included
(31(2)); access found unjustified obliges every authority that accessed the data to erase them and to
inform the CAP (31(3)). Europol asks through its own central access point under the same conditions
(Art. 33); it is modelled as the "Member State" `EUR`, as the accounts already allow.

Every step appends one line to the request's trail (Art. 47 documentation: who, when, what was decided,
with the case reference), without the searched person's data. The row records which individual files were
released, never the data themselves. Search criteria are alphanumeric only (travel document, identity);
searches with fingerprints or a facial image are left out.

Status: submitted -> released | rejected; urgent: released_urgent -> justified | erasure_required -> erased.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, model_validator
from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Uuid, false, select, text
from sqlalchemy.orm import Mapped, mapped_column

from smartborders.core.auth import Principal
from smartborders.core.db import Base, UTCDateTime
from smartborders.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from smartborders.ees import schemas as S
from smartborders.ees.service import Context, get_file, search

EX_POST_WORKING_DAYS = 7  # Art. 31(2)
PRUM_WAIT_DAYS = 2  # Art. 32(2): a Prüm AFIS search not fully carried out within 2 days of its launch
MIN_PENALTY_YEARS = 3  # Art. 3(1) "serious criminal offence": a custodial maximum of at least three years
EUROPOL = "EUR"  # Europol's central access point, as the state code the accounts use (core/auth.py)

# Framework Decision 2002/584/JHA (European Arrest Warrant), Art. 2(2): the 32 offences. Written FROM MEMORY
# (the text could not be searched when this was written): check the wording against the Official Journal.
FD_2002_584_OFFENCES: dict[str, str] = {
    "criminal_organisation": "participation in a criminal organisation",
    "terrorism": "terrorism",
    "trafficking_in_human_beings": "trafficking in human beings",
    "child_sexual_exploitation": "sexual exploitation of children and child pornography",
    "drug_trafficking": "illicit trafficking in narcotic drugs and psychotropic substances",
    "weapons_trafficking": "illicit trafficking in weapons, munitions and explosives",
    "corruption": "corruption",
    "fraud": "fraud, including that affecting the financial interests of the European Communities within the "
             "meaning of the Convention of 26 July 1995 on the protection of the European Communities' "
             "financial interests",
    "money_laundering": "laundering of the proceeds of crime",
    "counterfeiting_currency": "counterfeiting currency, including of the euro",
    "computer_crime": "computer-related crime",
    "environmental_crime": "environmental crime, including illicit trafficking in endangered animal species and "
                           "in endangered plant species and varieties",
    "facilitation_of_unauthorised_entry": "facilitation of unauthorised entry and residence",
    "murder_grievous_bodily_injury": "murder, grievous bodily injury",
    "organ_trafficking": "illicit trade in human organs and tissue",
    "kidnapping_hostage_taking": "kidnapping, illegal restraint and hostage-taking",
    "racism_xenophobia": "racism and xenophobia",
    "organised_armed_robbery": "organised or armed robbery",
    "cultural_goods_trafficking": "illicit trafficking in cultural goods, including antiques and works of art",
    "swindling": "swindling",
    "racketeering_extortion": "racketeering and extortion",
    "product_counterfeiting_piracy": "counterfeiting and piracy of products",
    "document_forgery": "forgery of administrative documents and trafficking therein",
    "payment_means_forgery": "forgery of means of payment",
    "hormonal_substances_trafficking": "illicit trafficking in hormonal substances and other growth promoters",
    "nuclear_materials_trafficking": "illicit trafficking in nuclear or radioactive materials",
    "stolen_vehicles_trafficking": "trafficking in stolen vehicles",
    "rape": "rape",
    "arson": "arson",
    "icc_crimes": "crimes within the jurisdiction of the International Criminal Court",
    "unlawful_seizure_of_aircraft_ships": "unlawful seizure of aircraft/ships",
    "sabotage": "sabotage",
}

OffenceCategory = Literal[
    "criminal_organisation", "terrorism", "trafficking_in_human_beings", "child_sexual_exploitation",
    "drug_trafficking", "weapons_trafficking", "corruption", "fraud", "money_laundering", "counterfeiting_currency",
    "computer_crime", "environmental_crime", "facilitation_of_unauthorised_entry", "murder_grievous_bodily_injury",
    "organ_trafficking", "kidnapping_hostage_taking", "racism_xenophobia", "organised_armed_robbery",
    "cultural_goods_trafficking", "swindling", "racketeering_extortion", "product_counterfeiting_piracy",
    "document_forgery", "payment_means_forgery", "hormonal_substances_trafficking", "nuclear_materials_trafficking",
    "stolen_vehicles_trafficking", "rape", "arson", "icc_crimes", "unlawful_seizure_of_aircraft_ships", "sabotage",
]
assert set(get_args(OffenceCategory)) == set(FD_2002_584_OFFENCES) and len(FD_2002_584_OFFENCES) == 32

Purpose = Literal["identify_unknown", "consult_known"]
PrumStatus = Literal["completed", "not_completed_within_2_days", "not_applicable"]
Waiver = Literal["clearly_not_help"]
Status = Literal["submitted", "released", "rejected", "released_urgent", "justified", "erasure_required", "erased"]
Outcome = Literal["approved", "rejected", "justified", "not_justified"]
DATA_STATUSES = ("released", "released_urgent", "justified")  # the operating unit may read the data
OPEN_STATUSES = ("submitted", "released_urgent")  # the CAP's queue

Reasoned = Annotated[str, Field(min_length=20, max_length=2000)]
Grounds = Annotated[str, Field(min_length=10, max_length=1000)]
CaseReference = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_./: -]+$")]


# ---- table ---------------------------------------------------------------------------------------


class LawEnforcementRequest(Base):
    """One Art. 31 request by an operating unit, and the CAP's verification of it. No foreign key to the
    files released: the request and its trail are kept for the Art. 47 documentation after an erasure."""

    __tablename__ = "ees_le_request"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the request and requester, for replays
    state: Mapped[str] = mapped_column(String(3))  # the requester's Member State (EUR: Europol)
    requested_by: Mapped[str] = mapped_column(String(64))  # the operating unit's officer (principal subject)
    unit_authority: Mapped[str | None] = mapped_column(String(120))
    case_reference: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(24))
    terrorist_offence: Mapped[bool] = mapped_column(Boolean, server_default=false())
    offence_category: Mapped[str | None] = mapped_column(String(48))
    max_custodial_years: Mapped[int | None] = mapped_column(Integer)
    reasons: Mapped[str] = mapped_column(String(2000))
    specific_case: Mapped[str] = mapped_column(String(2000))
    contribution_grounds: Mapped[str] = mapped_column(String(2000))
    # 32(2) prior checks, as stated by the operating unit (identify_unknown).
    national_databases_searched: Mapped[bool] = mapped_column(Boolean, server_default=false())
    prum_afis: Mapped[str | None] = mapped_column(String(32))
    prum_launched_on: Mapped[date | None] = mapped_column(Date)
    prior_checks_waiver: Mapped[str | None] = mapped_column(String(24))
    waiver_grounds: Mapped[str | None] = mapped_column(String(1000))
    urgent: Mapped[bool] = mapped_column(Boolean, server_default=false())
    urgency_grounds: Mapped[str | None] = mapped_column(String(1000))
    # The search criteria: needed to run the search at approval, and by the CAP to judge the request.
    criteria: Mapped[dict] = mapped_column(JSON, server_default=text("'{}'"))
    status: Mapped[str] = mapped_column(String(24))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verification_due: Mapped[date | None] = mapped_column(Date)  # urgent: ex post, 7 working days
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(64))
    verifier_authority: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[str | None] = mapped_column(String(16))
    findings: Mapped[dict] = mapped_column(JSON, server_default=text("'{}'"))  # the CAP's, per condition
    unmet: Mapped[list] = mapped_column(JSON, server_default=text("'[]'"))  # the rule's verdict at verification
    verification_reasons: Mapped[str | None] = mapped_column(String(2000))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_file_ids: Mapped[list] = mapped_column(JSON, server_default=text("'[]'"))
    erasure_required: Mapped[bool] = mapped_column(Boolean, server_default=false())
    erasure_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erasure_confirmed_by: Mapped[str | None] = mapped_column(String(64))
    trail: Mapped[list] = mapped_column(JSON, server_default=text("'[]'"))

    __table_args__ = (Index("ix_ees_le_request_state_status", "state", "status"),)


# ---- shapes --------------------------------------------------------------------------------------


class OffenceIn(S.Strict):
    """32(1)(a): a terrorist offence (Directive (EU) 2017/541), or a serious criminal offence: one of the
    offences of Art. 2(2) of Framework Decision 2002/584/JHA punishable by a custodial sentence of a
    maximum of at least three years."""

    terrorist: bool = False
    category: OffenceCategory | None = None
    max_custodial_years: int | None = Field(None, ge=0, le=99, description="the maximum custodial sentence "
                                            "under national law, in years (life: 99)")


class PriorChecksIn(S.Strict):
    """32(2): what was searched before asking the EES to identify an unknown person, or why not."""

    national_databases_searched: bool = Field(False, description="national databases (Europol: the databases "
                                              "technically and legally available to it) were searched first")
    prum_afis: PrumStatus | None = Field(None, description="fingerprint searches: the other Member States' AFIS "
                                         "under Decision 2008/615/JHA (Prüm)")
    prum_launched_on: S.IsoDate | None = Field(None, description="not_completed_within_2_days: launched on")
    waiver: Waiver | None = Field(None, description="the prior checks would clearly not help identify the person")
    waiver_grounds: Grounds | None = None


class DocumentQuery(S.Strict):
    number: str = Field(min_length=1, max_length=24, pattern=r"^[A-Z0-9]+$")
    issuing_state: S.CountryCode


class CriteriaIn(S.Strict):
    """Alphanumeric criteria only (fingerprints and facial image are not supported here): the travel
    document, the identity (exact match on names, date of birth, sex and nationality), or both."""

    document: DocumentQuery | None = None
    identity: S.IdentityIn | None = None

    @model_validator(mode="after")
    def _some(self) -> CriteriaIn:
        if self.document is None and self.identity is None:
            raise ValueError("give a travel document, an identity, or both")
        return self


class SubmitIn(S.Strict):
    """Art. 31(1): the operating unit's reasoned request to its central access point."""

    client_id: S.ClientId
    case_reference: CaseReference
    offence: OffenceIn
    reasons: Reasoned = Field(description="why the EES is consulted")
    specific_case: Reasoned = Field(description="32(1)(b): the specific case, and why consultation is "
                                    "necessary and proportionate in it")
    contribution_grounds: Reasoned = Field(description="32(1)(c): the evidence or reasonable grounds that "
                                           "consultation will substantially contribute")
    purpose: Purpose
    prior_checks: PriorChecksIn | None = None
    urgent: bool = False
    urgency_grounds: Grounds | None = Field(None, description="31(2): the exceptional case of urgency")
    criteria: CriteriaIn

    @model_validator(mode="after")
    def _consistent(self) -> SubmitIn:
        if self.urgent and self.urgency_grounds is None:
            raise ValueError("an urgent request gives its urgency_grounds (Art. 31(2))")
        if not self.urgent and self.urgency_grounds is not None:
            raise ValueError("urgency_grounds belong to an urgent request")
        if self.purpose == "consult_known" and self.prior_checks is not None:
            raise ValueError("prior_checks belong to the identification of an unknown person (Art. 32(2))")
        return self


class FindingsIn(S.Strict):
    """The CAP's own assessment, condition by condition (true: met)."""

    necessary_for_offence: bool = Field(description="32(1)(a): necessary to prevent, detect or investigate the "
                                        "terrorist or serious criminal offence")
    necessary_and_proportionate: bool = Field(description="32(1)(b): necessary and proportionate in the case")
    substantial_contribution: bool = Field(description="32(1)(c): grounds that it will substantially contribute")
    prior_checks: bool | None = Field(None, description="32(2): the prior checks or their waiver hold "
                                      "(identify_unknown; not needed where urgency waives them)")
    urgency: bool | None = Field(None, description="31(2): ex post only: there was an exceptional urgency")


class VerifyIn(S.Strict):
    """Art. 29(3), 31: approve or reject before access; for an urgent request, justified or not after it."""

    outcome: Outcome
    findings: FindingsIn
    reasons: Grounds | None = Field(None, description="required when rejected or not justified")


class TrailEntry(S.Out):
    at: datetime
    step: str
    state: str
    by: str
    note: str


class RequestOut(S.Out):
    id: str
    client_id: str
    state: str
    requested_by: str
    unit_authority: str | None
    case_reference: str
    purpose: str
    offence: dict[str, Any]
    reasons: str
    specific_case: str
    contribution_grounds: str
    prior_checks: dict[str, Any] | None
    urgent: bool
    urgency_grounds: str | None
    criteria: dict[str, Any]
    status: str
    submitted_at: datetime
    verification_due: date | None = Field(description="urgent: the ex post verification, 7 working days")
    overdue: bool
    formal_unmet: list[str] = Field(description="what the rule finds unmet in the request as stated, before "
                                    "the CAP's assessment")
    verified_at: datetime | None
    verified_by: str | None
    outcome: str | None
    findings: dict[str, Any]
    unmet: list[str] = Field(description="the conditions found unmet at verification")
    verification_reasons: str | None
    released_at: datetime | None
    released_files: int
    erasure_required: bool
    erasure_confirmed_at: datetime | None
    trail: list[TrailEntry]


class ResultOut(S.Out):
    request: RequestOut
    data: list[S.FileOut] | None = Field(None, description="the operating unit only, once released: the "
                                         "individual files with their entry/exit and refusal records")


# ---- problems ------------------------------------------------------------------------------------


class ConditionsNotMet(InvalidInput):
    slug = "le-conditions-not-met"
    title = "The conditions for law-enforcement access to the EES are not met"


class WrongStep(Conflict):
    slug = "le-request-wrong-step"
    title = "This step does not apply to the request in its current state"


class NotIndependent(Forbidden):
    slug = "le-cap-not-independent"
    title = "The central access point cannot verify a request its own officer made"


class LeClientIdReused(Conflict):
    slug = "client-id-reused"
    title = "The client id was used for another request"


# ---- pure rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the operating unit stated, as plain data."""

    terrorist_offence: bool
    offence_category: str | None
    max_custodial_years: int | None
    specific_case: str
    contribution_grounds: str
    purpose: str
    submitted_on: date
    national_databases_searched: bool = False
    prum_afis: str | None = None
    prum_launched_on: date | None = None
    waiver: str | None = None
    waiver_grounds: str | None = None
    urgent: bool = False
    urgency_grounds: str | None = None
    fingerprint_search: bool = False  # always False here: searches with fingerprints are not supported
    europol: bool = False


@dataclass(frozen=True)
class Findings:
    """The CAP's assessment (None: not assessed)."""

    necessary_for_offence: bool
    necessary_and_proportionate: bool
    substantial_contribution: bool
    prior_checks: bool | None = None
    urgency: bool | None = None


def is_serious_criminal_offence(category: str | None, max_custodial_years: int | None) -> bool:
    """EES Art. 3(1) (from memory [M]: the definitions' point number): an offence of FD 2002/584/JHA
    Art. 2(2) punishable by a custodial sentence of a maximum of at least three years."""
    return (category in FD_2002_584_OFFENCES and max_custodial_years is not None
            and max_custodial_years >= MIN_PENALTY_YEARS)


def unmet_conditions(f: Facts, cap: Findings | None = None) -> list[str]:
    """EES Art. 32(1)-(2), 31(2) (Europol: Art. 33): the conditions not met, each with its article.

    Without `cap`, only what the request's own statements decide (the offence, that a specific case and
    grounds are stated, the prior checks); with it, the CAP's assessment of what only a person can judge
    (necessity, proportionality, contribution, whether the prior checks or urgency really hold) counts too.
    Europol's paragraph numbers in Art. 33 are taken to mirror Art. 32 [M]."""
    art = "33" if f.europol else "32"
    out: list[str] = []
    # 32(1)(a)
    if not f.terrorist_offence:
        if f.offence_category is None:
            out.append(f"{art}(1)(a): the offence is not a terrorist or serious criminal offence: none is named")
        elif f.offence_category not in FD_2002_584_OFFENCES:
            out.append(f"{art}(1)(a): the offence is not a terrorist or serious criminal offence: "
                       f"{f.offence_category} is not listed in Art. 2(2) of Framework Decision 2002/584/JHA")
        elif not is_serious_criminal_offence(f.offence_category, f.max_custodial_years):
            out.append(f"{art}(1)(a): the offence is not a terrorist or serious criminal offence: its maximum "
                       f"custodial sentence ({f.max_custodial_years if f.max_custodial_years is not None else 'none'}"
                       f") is below {MIN_PENALTY_YEARS} years")
    if cap is not None and not cap.necessary_for_offence:
        out.append(f"{art}(1)(a): consultation is not necessary to prevent, detect or investigate the offence")
    # 32(1)(b)
    if not f.specific_case.strip():
        out.append(f"{art}(1)(b): no specific case is stated")
    elif cap is not None and not cap.necessary_and_proportionate:
        out.append(f"{art}(1)(b): consultation is not necessary and proportionate in the specific case")
    # 32(1)(c)
    if not f.contribution_grounds.strip():
        out.append(f"{art}(1)(c): no evidence or reasonable grounds that consultation will substantially contribute")
    elif cap is not None and not cap.substantial_contribution:
        out.append(f"{art}(1)(c): the evidence or grounds do not show that consultation will substantially "
                   "contribute")
    # 31(2): urgency, and what it waives
    stated_urgency = f.urgent and bool((f.urgency_grounds or "").strip())
    if f.urgent and not stated_urgency:
        out.append("31(2): urgency is claimed without grounds")
    if f.urgent and cap is not None and cap.urgency is False:
        out.append("31(2): there was no exceptional case of urgency")
    urgency_holds = stated_urgency and (cap is None or cap.urgency is not False)
    # 32(2): identification of an unknown person
    if f.purpose == "identify_unknown" and not urgency_holds:
        out.extend(_prior_checks_unmet(f, cap, art))
    return out


def _prior_checks_unmet(f: Facts, cap: Findings | None, art: str) -> list[str]:
    out: list[str] = []
    if f.waiver is not None:
        if not (f.waiver_grounds or "").strip():
            out.append(f"{art}(2): the prior checks are waived without grounds")
        elif cap is not None and cap.prior_checks is False:
            out.append(f"{art}(2): there are no reasonable grounds that the prior checks would clearly not help "
                       "identify the person")
        else:
            return out  # waived: clearly would not help
        return out
    if not f.national_databases_searched:
        out.append(f"{art}(2): the national databases were not searched first" if not f.europol else
                   f"{art}(2): the databases available to Europol were not searched first")
    if f.fingerprint_search and not f.europol:
        if f.prum_afis not in ("completed", "not_completed_within_2_days"):
            out.append(f"{art}(2): the fingerprints were not first searched in the other Member States' AFIS "
                       "under Decision 2008/615/JHA")
        elif f.prum_afis == "not_completed_within_2_days" and (
                f.prum_launched_on is None or f.submitted_on < f.prum_launched_on + timedelta(days=PRUM_WAIT_DAYS)):
            out.append(f"{art}(2): the Prüm AFIS search was launched less than {PRUM_WAIT_DAYS} days before the "
                       "request (or no launch date is given) and has not been completed")
    if cap is not None and cap.prior_checks is False:
        out.append(f"{art}(2): the prior checks stated were not carried out as required")
    return out


def verdict(f: Facts, cap: Findings, outcome: str, reasons: str | None) -> list[str]:
    """Art. 29(3), 32: whether the CAP's outcome agrees with the conditions; the conditions unmet. Approved
    or justified only with nothing unmet; rejected or not justified only naming an unmet condition, with
    reasons."""
    unmet = unmet_conditions(f, cap)
    positive = outcome in ("approved", "justified")
    if positive and unmet:
        raise ConditionsNotMet(f"the request cannot be {outcome}: " + "; ".join(unmet), unmet=unmet)
    if not positive and not unmet:
        raise InvalidInput(f"{outcome}: mark the condition found unmet in findings")
    if not positive and not (reasons or "").strip():
        raise InvalidInput(f"{outcome}: give the reasons")
    return unmet


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start`, working days being Monday to Friday. No public-holiday calendar
    (each Member State has its own): a holiday counts as a working day here."""
    d, left = start, n
    while left > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            left -= 1
    return d


def facts_of(r: LawEnforcementRequest) -> Facts:
    return Facts(
        terrorist_offence=r.terrorist_offence, offence_category=r.offence_category,
        max_custodial_years=r.max_custodial_years, specific_case=r.specific_case,
        contribution_grounds=r.contribution_grounds, purpose=r.purpose, submitted_on=r.submitted_at.date(),
        national_databases_searched=r.national_databases_searched, prum_afis=r.prum_afis,
        prum_launched_on=r.prum_launched_on, waiver=r.prior_checks_waiver, waiver_grounds=r.waiver_grounds,
        urgent=r.urgent, urgency_grounds=r.urgency_grounds, europol=r.state == EUROPOL,
    )


def is_overdue(r: LawEnforcementRequest, today: date) -> bool:
    """31(2): an urgent request not verified ex post within 7 working days."""
    return r.status == "released_urgent" and r.verification_due is not None and today > r.verification_due


# ---- helpers -------------------------------------------------------------------------------------


def _fingerprint(principal: Principal, cmd: SubmitIn) -> str:
    body = json.dumps([principal.subject, principal.state, cmd.model_dump(mode="json")], sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _log(ctx: Context, r: LawEnforcementRequest, step: str, principal: Principal, note: str) -> None:
    # A new list, not an append: a JSON column notices only a new value.
    r.trail = [*r.trail, {"at": ctx.now().isoformat(), "step": step, "state": principal.state or "",
                          "by": principal.subject, "note": note}]


def _acting_state(principal: Principal, role: str) -> str:
    """Defence in depth beside the route's access check: the role, and a Member State to act for."""
    if not principal.has(role):
        raise Forbidden(f"this step needs the {role} role", role=role)
    if not principal.state:
        raise Forbidden(f"a {role} acts for a Member State (or Europol); this account has none")
    return principal.state


def request_out(r: LawEnforcementRequest, today: date) -> RequestOut:
    prior = None
    if r.purpose == "identify_unknown":
        prior = {"national_databases_searched": r.national_databases_searched, "prum_afis": r.prum_afis,
                 "prum_launched_on": r.prum_launched_on.isoformat() if r.prum_launched_on else None,
                 "waiver": r.prior_checks_waiver, "waiver_grounds": r.waiver_grounds}
    return RequestOut(
        id=str(r.id), client_id=r.client_id, state=r.state, requested_by=r.requested_by,
        unit_authority=r.unit_authority, case_reference=r.case_reference, purpose=r.purpose,
        offence={"terrorist": r.terrorist_offence, "category": r.offence_category,
                 "max_custodial_years": r.max_custodial_years},
        reasons=r.reasons, specific_case=r.specific_case, contribution_grounds=r.contribution_grounds,
        prior_checks=prior, urgent=r.urgent, urgency_grounds=r.urgency_grounds, criteria=dict(r.criteria or {}),
        status=r.status, submitted_at=r.submitted_at, verification_due=r.verification_due,
        overdue=is_overdue(r, today), formal_unmet=unmet_conditions(facts_of(r)), verified_at=r.verified_at,
        verified_by=r.verified_by, outcome=r.outcome, findings=dict(r.findings or {}), unmet=list(r.unmet or []),
        verification_reasons=r.verification_reasons, released_at=r.released_at,
        released_files=len(r.released_file_ids or []), erasure_required=r.erasure_required,
        erasure_confirmed_at=r.erasure_confirmed_at,
        trail=[TrailEntry(at=datetime.fromisoformat(t["at"]), step=t["step"], state=t["state"], by=t["by"],
                          note=t["note"]) for t in r.trail],
    )


def _run_search(ctx: Context, r: LawEnforcementRequest) -> list[str]:
    """The EES's own search (Art. 23(2) criteria): the file ids found, to release."""
    c = CriteriaIn.model_validate(r.criteria, strict=False)
    doc = (S.DocumentIn(document_type="P", number=c.document.number, issuing_state=c.document.issuing_state)
           if c.document is not None else None)  # the search matches on number and issuing state only
    found = search(ctx, S.SearchRequest(document=doc, identity=c.identity))
    return [found.file.id] if found.file is not None else []


def _released_data(ctx: Context, r: LawEnforcementRequest) -> list[S.FileOut]:
    out = []
    for fid in r.released_file_ids or []:
        try:
            out.append(get_file(ctx, uuid.UUID(fid)))
        except NotFound:
            continue  # erased since (retention, Art. 35): nothing left to release
    return out


def _release(ctx: Context, r: LawEnforcementRequest, principal: Principal, step: str) -> None:
    r.released_file_ids = _run_search(ctx, r)
    r.released_at = ctx.now()
    _log(ctx, r, step, principal, f"search run for case {r.case_reference}; "
         f"{len(r.released_file_ids)} individual file(s) released to the operating unit")


def _get(ctx: Context, request_id: uuid.UUID, *, lock: bool = False) -> LawEnforcementRequest:
    r = ctx.session.get(LawEnforcementRequest, request_id, with_for_update=lock or None)
    if r is None:
        raise NotFound(f"no law-enforcement request {request_id}", request_id=str(request_id))
    return r


def _result(ctx: Context, r: LawEnforcementRequest, principal: Principal) -> ResultOut:
    """The data go to the operating unit only (31(1)), and only once released: never to the CAP, never
    before approval, never after an ex post verification found the access unjustified."""
    data = None
    if principal.has("law_enforcement") and principal.state == r.state and r.status in DATA_STATUSES:
        data = _released_data(ctx, r)
    return ResultOut(request=request_out(r, ctx.now().date()), data=data)


# ---- use cases -----------------------------------------------------------------------------------


def submit(ctx: Context, principal: Principal, cmd: SubmitIn) -> ResultOut:
    """Art. 31(1)-(2): the operating unit's reasoned request. Not urgent: it waits for the CAP. Urgent:
    processed at once (the search runs if the request as stated meets the conditions) and verified ex post
    within 7 working days. Idempotent by `client_id` (for the same requester)."""
    state = _acting_state(principal, "law_enforcement")
    fp = _fingerprint(principal, cmd)
    seen = ctx.session.scalars(select(LawEnforcementRequest)
                               .where(LawEnforcementRequest.client_id == cmd.client_id)).first()
    if seen is not None:
        if seen.fingerprint != fp:
            raise LeClientIdReused(f"client id {cmd.client_id} was first used for another request",
                                   client_id=cmd.client_id)
        return _result(ctx, seen, principal)
    now = ctx.now()
    pc = cmd.prior_checks or PriorChecksIn()
    r = LawEnforcementRequest(
        id=uuid.uuid4(), client_id=cmd.client_id, fingerprint=fp, state=state, requested_by=principal.subject,
        unit_authority=principal.authority, case_reference=cmd.case_reference, purpose=cmd.purpose,
        terrorist_offence=cmd.offence.terrorist, offence_category=cmd.offence.category,
        max_custodial_years=cmd.offence.max_custodial_years, reasons=cmd.reasons, specific_case=cmd.specific_case,
        contribution_grounds=cmd.contribution_grounds,
        national_databases_searched=pc.national_databases_searched, prum_afis=pc.prum_afis,
        prum_launched_on=pc.prum_launched_on, prior_checks_waiver=pc.waiver, waiver_grounds=pc.waiver_grounds,
        urgent=cmd.urgent, urgency_grounds=cmd.urgency_grounds,
        criteria=cmd.criteria.model_dump(mode="json"), status="submitted", submitted_at=now,
        findings={}, unmet=[], released_file_ids=[], erasure_required=False, trail=[],
    )
    if cmd.urgent:
        unmet = unmet_conditions(facts_of(r))
        if unmet:
            # Urgency waives only the prior verification, never the conditions the request itself fails.
            raise ConditionsNotMet("the urgent request does not meet the conditions as stated: " + "; ".join(unmet),
                                   unmet=unmet)
        r.status = "released_urgent"
        r.verification_due = add_working_days(now.date(), EX_POST_WORKING_DAYS)
    _log(ctx, r, "submitted", principal,
         f"{'urgent ' if cmd.urgent else ''}{cmd.purpose} request for case {cmd.case_reference}"
         + (f"; ex post verification due {r.verification_due.isoformat()}" if r.verification_due else ""))
    if cmd.urgent:
        _release(ctx, r, principal, "released_urgent")
    ctx.session.add(r)
    ctx.session.flush()
    return _result(ctx, r, principal)


def verify(ctx: Context, principal: Principal, request_id: uuid.UUID, cmd: VerifyIn) -> ResultOut:
    """Art. 29(3), 31, 32: the CAP's verification. The CAP records its own finding on each condition; the
    code evaluates the Art. 32 rule over the request as stated together with those findings. An outcome
    must agree with them: the CAP approves (or finds justified) only where nothing is unmet, and rejects
    (or finds unjustified) only by naming the unmet condition, so the record always says why. The CAP can
    thus narrow what the rule allows, never widen it. Approval runs the search and releases the files to
    the operating unit; the CAP's answer never carries the data. An urgent request is verified ex post:
    not justified obliges the operating unit to erase the data and confirm it (31(3))."""
    state = _acting_state(principal, "central_access_point")
    r = _get(ctx, request_id, lock=True)
    if r.state != state:
        raise Forbidden(f"only the central access point of {r.state} verifies this request")
    if principal.subject == r.requested_by:
        raise NotIndependent("the officer who made the request cannot verify it (Art. 29(3))")
    if r.status == "submitted":
        if cmd.outcome not in ("approved", "rejected"):
            raise InvalidInput("a request not yet processed is approved or rejected")
        if cmd.findings.urgency is not None:
            raise InvalidInput("findings.urgency belongs to the ex post verification of an urgent request")
    elif r.status == "released_urgent":
        if cmd.outcome not in ("justified", "not_justified"):
            raise InvalidInput("an urgent request already processed is verified ex post: justified or not_justified")
        if cmd.findings.urgency is None:
            raise InvalidInput("the ex post verification says whether there was an exceptional urgency "
                               "(findings.urgency, Art. 31(2))")
    else:
        raise WrongStep(f"the request is {r.status}; it has been verified", request_status=r.status)
    waived_by_urgency = r.urgent and cmd.findings.urgency is True
    if r.purpose == "identify_unknown" and not waived_by_urgency and cmd.findings.prior_checks is None:
        raise InvalidInput("identifying an unknown person: say whether the prior checks or their waiver hold "
                           "(findings.prior_checks, Art. 32(2))")
    unmet = verdict(facts_of(r), Findings(**cmd.findings.model_dump()), cmd.outcome, cmd.reasons)
    positive = cmd.outcome in ("approved", "justified")
    now = ctx.now()
    r.verified_at, r.verified_by, r.verifier_authority = now, principal.subject, principal.authority
    r.outcome, r.findings, r.unmet, r.verification_reasons = (cmd.outcome, cmd.findings.model_dump(), unmet,
                                                              cmd.reasons)
    late = is_overdue(r, now.date())
    _log(ctx, r, cmd.outcome, principal, ("conditions met" if positive else "unmet: " + "; ".join(unmet))
         + (f"; late: due {r.verification_due.isoformat()}" if late and r.verification_due else ""))
    if cmd.outcome == "approved":
        r.status = "released"
        _release(ctx, r, principal, "released")
    elif cmd.outcome == "rejected":
        r.status = "rejected"
    elif cmd.outcome == "justified":
        r.status = "justified"
    else:
        r.status, r.erasure_required = "erasure_required", True
        _log(ctx, r, "erasure_required", principal,
             "access not justified: every authority that accessed the data erases them and informs the CAP")
    ctx.session.flush()
    return _result(ctx, r, principal)


def confirm_erasure(ctx: Context, principal: Principal, request_id: uuid.UUID) -> ResultOut:
    """Art. 31(3): the operating unit confirms it erased the data released under an urgent request found
    not justified; the CAP sees the confirmation on the request."""
    state = _acting_state(principal, "law_enforcement")
    r = _get(ctx, request_id, lock=True)
    if r.state != state:
        raise Forbidden(f"only an operating unit of {r.state} confirms the erasure")
    if r.status != "erasure_required":
        raise WrongStep(f"the request is {r.status}; no erasure is required", request_status=r.status)
    now = ctx.now()
    r.status, r.erasure_confirmed_at, r.erasure_confirmed_by = "erased", now, principal.subject
    _log(ctx, r, "erased", principal, "the operating unit erased the data released and informed the CAP")
    ctx.session.flush()
    return _result(ctx, r, principal)


def get(ctx: Context, principal: Principal, request_id: uuid.UUID) -> ResultOut:
    """One request: the operating units and the CAP of its Member State see it; the data released, only
    the operating unit."""
    if not principal.has("law_enforcement", "central_access_point") or not principal.state:
        raise Forbidden("law-enforcement requests are seen by operating units and central access points")
    r = _get(ctx, request_id)
    if r.state != principal.state:
        raise Forbidden(f"this request is {r.state}'s")
    return _result(ctx, r, principal)


def list_requests(ctx: Context, principal: Principal, *, limit: int = 100, offset: int = 0) -> list[RequestOut]:
    """The operating unit's Member State's requests, newest first (without data)."""
    state = _acting_state(principal, "law_enforcement")
    stmt = (select(LawEnforcementRequest).where(LawEnforcementRequest.state == state)
            .order_by(LawEnforcementRequest.submitted_at.desc(), LawEnforcementRequest.id)
            .limit(limit).offset(offset))
    today = ctx.now().date()
    return [request_out(r, today) for r in ctx.session.scalars(stmt)]


def queue(ctx: Context, principal: Principal, overdue_only: bool = False, *, limit: int = 100,
          offset: int = 0) -> list[RequestOut]:
    """The CAP's work: requests waiting for verification, and urgent ones waiting for the ex post
    verification (`overdue`: past the 7 working days), oldest first."""
    state = _acting_state(principal, "central_access_point")
    stmt = (select(LawEnforcementRequest)
            .where(LawEnforcementRequest.state == state, LawEnforcementRequest.status.in_(OPEN_STATUSES))
            .order_by(LawEnforcementRequest.submitted_at, LawEnforcementRequest.id))
    if overdue_only:
        stmt = stmt.where(LawEnforcementRequest.status == "released_urgent")
    today = ctx.now().date()
    out = [request_out(r, today) for r in ctx.session.scalars(stmt)]
    if overdue_only:
        out = [r for r in out if r.overdue]
    return out[offset:offset + limit]
