"""ETIAS API shapes: the application form of Reg. 2018/1240 Art. 17, strict as the EES's are.

Names are entered in Latin characters (Art. 17(7)) [K], letters with their diacritics allowed: the
screening compares them with lists in any script (etias/watchlist.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from smartborders.ees.schemas import ClientId, CountryCode, IsoDate, Out, Strict
from smartborders.etias.rules import ETIAS_COUNTRIES

LatinName = Annotated[str, Field(min_length=1, max_length=100,
                                 pattern=r"^[A-Za-zÀ-ÖØ-öø-ɏ][A-Za-zÀ-ÖØ-öø-ɏ '\-.]*$")]
LatinNames = Annotated[str, Field(max_length=200, pattern=r"^[A-Za-zÀ-ÖØ-öø-ɏ '\-.]*$")]
Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, Field(min_length=5, max_length=20, pattern=r"^\+?[0-9 ()-]{5,20}$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]


def _etias_country(value: str) -> str:
    if value not in ETIAS_COUNTRIES:
        raise ValueError(f"{value} is not one of the 30 countries where ETIAS applies")
    return value


EtiasCountry = Annotated[str, Field(pattern=r"^[A-Z]{3}$"), AfterValidator(_etias_country)]

# Delegated Reg. (EU) 2021/916: the job groups, at ISCO-08 sub-major (2-digit) level at least [K: codes].
JOB_GROUPS = {
    "01": "Commissioned armed forces officers", "11": "Chief executives, senior officials and legislators",
    "12": "Administrative and commercial managers", "13": "Production and specialised services managers",
    "14": "Hospitality, retail and other services managers", "21": "Science and engineering professionals",
    "22": "Health professionals", "23": "Teaching professionals", "24": "Business and administration professionals",
    "25": "Information and communications technology professionals",
    "26": "Legal, social and cultural professionals", "31": "Science and engineering associate professionals",
    "32": "Health associate professionals", "33": "Business and administration associate professionals",
    "34": "Legal, social, cultural and related associate professionals",
    "35": "Information and communications technicians", "41": "General and keyboard clerks",
    "42": "Customer services clerks", "43": "Numerical and material recording clerks",
    "44": "Other clerical support workers", "51": "Personal services workers", "52": "Sales workers",
    "53": "Personal care workers", "54": "Protective services workers",
    "61": "Market-oriented skilled agricultural workers", "62": "Market-oriented skilled forestry, fishery and "
    "hunting workers", "63": "Subsistence farmers, fishers, hunters and gatherers",
    "71": "Building and related trades workers", "72": "Metal, machinery and related trades workers",
    "73": "Handicraft and printing workers", "74": "Electrical and electronic trades workers",
    "75": "Food processing, wood working, garment and other craft and related trades workers",
    "81": "Stationary plant and machine operators", "82": "Assemblers", "83": "Drivers and mobile plant operators",
    "91": "Cleaners and helpers", "92": "Agricultural, forestry and fishery labourers",
    "93": "Labourers in mining, construction, manufacturing and transport", "94": "Food preparation assistants",
    "95": "Street and related sales and service workers", "96": "Refuse workers and other elementary workers",
    "S": "Student", "R": "Retired", "U": "Unemployed", "H": "Homemaker",
}


def _job_group(value: str) -> str:
    if value not in JOB_GROUPS:
        raise ValueError(f"{value!r} is not a job group of the predetermined list (Delegated Reg. 2021/916)")
    return value


JobGroup = Annotated[str, Field(min_length=1, max_length=2), AfterValidator(_job_group)]


class PersonIn(Strict):
    """Art. 17(2)(a), (aa), (b), (c): who applies."""

    surname: LatinName
    given_names: LatinNames = ""
    surname_at_birth: LatinNames = ""
    birth_date: IsoDate
    birth_place: LatinName
    birth_country: CountryCode
    sex: Literal["M", "F", "X"]
    nationality: CountryCode
    parents_first_names: list[LatinName] = Field(min_length=1, max_length=2)
    other_names: list[LatinName] = Field(default_factory=list, max_length=5)
    other_nationalities: list[CountryCode] = Field(default_factory=list, max_length=5)


class TravelDocumentIn(Strict):
    """Art. 17(2)(d), (e)."""

    document_type: Literal["P", "PD", "PS", "PO"] = "P"
    number: str = Field(min_length=1, max_length=24, pattern=r"^[A-Z0-9]+$")
    issuing_country: CountryCode
    issued_on: IsoDate
    expires_on: IsoDate

    @model_validator(mode="after")
    def _dates(self) -> TravelDocumentIn:
        if self.expires_on <= self.issued_on:
            raise ValueError("the document expires before it was issued")
        return self


class ResidenceIn(Strict):
    """Art. 17(2)(f): home address, or if there is none, city and country of residence."""

    address: Text | None = None
    city: LatinName
    country: CountryCode


class ContactIn(Strict):
    """Art. 17(2)(g)."""

    email: Email
    phones: list[Phone] = Field(default_factory=list, max_length=3)


class GuardianIn(Strict):
    """Art. 17(2)(k): for a minor, the person with parental authority or the legal guardian."""

    surname: LatinName
    given_names: LatinNames = ""
    address: Text
    email: Email
    phone: Phone | None = None


class FamilyMemberIn(Strict):
    """Art. 17(2)(l): the Union citizen (or free-movement third-country national) and the relationship."""

    surname: LatinName
    given_names: LatinNames = ""
    birth_date: IsoDate
    nationality: CountryCode
    relationship: Literal["spouse", "partner", "child", "parent", "grandchild", "grandparent", "other"]


class FilledByIn(Strict):
    """Art. 17(2)(m): someone else filled in the form."""

    surname: LatinName
    given_names: LatinNames = ""
    organisation: Text | None = None
    email: Email
    address: Text
    phone: Phone | None = None
    relationship: Text
    representation_declaration: Literal[True]


class ConvictionIn(Strict):
    """Art. 17(4)(a): a conviction for an Annex offence in the last 10 years (terrorism: 20)."""

    answer: bool
    when: IsoDate | None = None
    country: CountryCode | None = None


class ConflictZoneIn(Strict):
    """Art. 17(4)(b): a stay in a specific war or conflict zone in the last 10 years."""

    answer: bool
    zone: Text | None = None
    reasons: Text | None = None


class RemovalIn(Strict):
    """Art. 17(4)(c): a decision to leave a Member State or an Annex II country, or a return decision,
    in the last 10 years. Family members under Art. 2(1)(c) are not asked (Art. 24(2)(a))."""

    answer: bool
    when: IsoDate | None = None
    country: CountryCode | None = None


class BackgroundIn(Strict):
    """Art. 17(4): the three questions; a "yes" needs its follow-up answers (Art. 17(6))."""

    conviction: ConvictionIn
    conflict_zone: ConflictZoneIn
    removal: RemovalIn | None = None

    @model_validator(mode="after")
    def _follow_ups(self) -> BackgroundIn:
        if self.conviction.answer and (self.conviction.when is None or self.conviction.country is None):
            raise ValueError("conviction: a yes needs when and in which country")
        if self.conflict_zone.answer and (self.conflict_zone.zone is None or self.conflict_zone.reasons is None):
            raise ValueError("conflict_zone: a yes needs the zone and the reasons for the stay")
        if self.removal is not None and self.removal.answer and (self.removal.when is None
                                                                  or self.removal.country is None):
            raise ValueError("removal: a yes needs when and which country")
        return self


class DeclarationsIn(Strict):
    """Art. 17(1): both must be made (a minor's form is signed by the guardian)."""

    data_true_and_complete: Literal[True]
    aware_of_entry_conditions: Literal[True]


class PaymentIn(Strict):
    """Art. 18-19: the payment's confirmation, from the payment provider."""

    reference: str = Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    amount_eur: str = Field(pattern=r"^\d{1,4}\.\d{2}$")


class ApplicationIn(Strict):
    """One ETIAS application (Art. 17), as the public website or app submits it."""

    client_id: ClientId
    person: PersonIn
    document: TravelDocumentIn
    residence: ResidenceIn
    contact: ContactIn
    education: Literal["none", "primary", "secondary", "higher"]
    job_group: JobGroup
    job_title: Text | None = None
    first_member_state: EtiasCountry
    first_stay_address: Text | None = None
    background: BackgroundIn
    declarations: DeclarationsIn
    guardian: GuardianIn | None = None
    family_member: FamilyMemberIn | None = None
    filled_by: FilledByIn | None = None
    payment: PaymentIn | None = None


class ApplicationOut(Out):
    number: str
    status: str
    submitted_at: datetime
    fee_eur: str
    fee_reason: str
    linked_to: list[str]
    valid_until: date | None = None
    decision_due: datetime | None = None
    notices: list[str]
    open_requests: list[RequestOut] = []  # what the applicant is asked for, to answer by due_at (Art. 27)
    ltvs: list[LtvOut] = []


class CarrierCheckIn(Strict):
    """Art. 45(2): what a carrier sends before boarding: the passenger's MRZ data and the Member State of
    entry (the carrier itself is authenticated by the gateway: issue 7)."""

    carrier: str = Field(min_length=2, max_length=16, pattern=r"^[A-Z0-9-]+$")
    document_number: str = Field(min_length=1, max_length=24, pattern=r"^[A-Z0-9]+$")
    issuing_country: CountryCode
    nationality: CountryCode
    travel_date: IsoDate
    entry_state: EtiasCountry
    airport_transit: bool = False


class CarrierCheckOut(Out):
    answer: Literal["OK", "NOT_OK"]
    subject_to_etias: bool
    obligation_applies: bool  # false in the optional period of Art. 83(1)
    period: str
    reason: str
    ltv_states: list[str] | None = None  # Art. 45(2): where a limited-territorial-validity authorisation is valid


class HitOut(Out):
    id: str
    article: str
    source: str
    reference: str
    score: float | None
    explanation: str
    supplied_by: str | None
    status: str
    phase: str = "application"


class CaseOut(Out):
    """An application as the ETIAS units see it: the file's identity, the hits and the deadline."""

    number: str
    status: str
    submitted_at: datetime
    due_at: datetime | None
    overdue: bool
    responsible_state: str | None
    surname: str
    given_names: str
    birth_date: date
    nationality: str
    document: str
    linked_to: list[str]
    flags: list[str] = []
    decision_grounds: list[str] = []
    hits: list[HitOut]
    waiting_on: str | None = None  # applicant, consultation, central_unit, national_unit
    review_state: str | None = None  # a valid authorisation hit by a new alert waits on this state (Art. 41)
    ended_grounds: list[str] = []
    requests: list[RequestOut] = []
    consultations: list[ConsultationOut] = []
    ltvs: list[LtvOut] = []
    appeals: list[AppealOut] = []


class HitDecisionIn(Strict):
    id: str = Field(min_length=36, max_length=36)
    outcome: Literal["discarded", "confirmed", "doubt"]
    reason: Text


class VerificationIn(Strict):
    """Art. 22: the Central Unit's verification of every hit of one file."""

    officer: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    hits: list[HitDecisionIn] = Field(min_length=1, max_length=100)


Ground = Literal["37(1)(a)", "37(1)(b)", "37(1)(c)", "37(1)(d)", "37(1)(e)", "37(1)(f)", "37(1)(g)", "37(2)"]
GROUNDS = {
    "37(1)(a)": "used a travel document reported in SIS as lost, stolen, misappropriated or invalidated",
    "37(1)(b)": "poses a security risk",
    "37(1)(c)": "poses an illegal immigration risk",
    "37(1)(d)": "poses a high epidemic risk",
    "37(1)(e)": "is the subject of an alert in SIS for the purpose of refusing entry and stay",
    "37(1)(f)": "did not reply to a request for additional information or documentation within the deadline",
    "37(1)(g)": "did not attend an interview",
    "37(2)": "reasonable and serious doubts about the authenticity of the data, the reliability of the statements, "
             "the supporting documents or the veracity of their content",
}


class DecisionIn(Strict):
    """Art. 26(2): the national unit of the Member State responsible issues or refuses."""

    officer: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    state: EtiasCountry
    decision: Literal["issue", "refuse"]
    grounds: list[Ground] = Field(default_factory=list, max_length=8)
    reason: Text
    second_line_check: bool = Field(False, description="Art. 36(2): flag for the border (doubt, not a refusal)")

    @model_validator(mode="after")
    def _grounds(self) -> DecisionIn:
        if self.decision == "refuse" and not self.grounds:
            raise ValueError("a refusal states its grounds (Art. 37)")
        if self.decision == "issue" and self.grounds:
            raise ValueError("grounds are for a refusal")
        if self.decision == "refuse" and self.second_line_check:
            raise ValueError("a second-line check flag goes with an issued authorisation")
        return self


# ---- manual processing (Art. 27-29), LTV (Art. 44), annulment and revocation (Art. 40-43), appeals --

Officer = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
LongText = Annotated[str, Field(min_length=1, max_length=2000)]
Consulted = Annotated[str, Field(pattern=r"^([A-Z]{3}|EUROPOL)$")]


class InfoRequestIn(Strict):
    """Art. 27: the national unit of the Member State responsible asks for more information or
    documents (reply within 10 days), or, exceptionally and as a last resort, invites to an interview."""

    officer: Officer
    state: EtiasCountry
    kind: Literal["information", "interview"]
    text: LongText = Field(description="what is needed, clearly (Art. 27(2))")
    languages: list[Annotated[str, Field(pattern=r"^[a-z]{2}$")]] = Field(
        default_factory=lambda: ["en", "fr", "de"], min_length=1, max_length=24,
        description="languages the answer may be given in: at least English, French or German [K]")
    interview_at: datetime | None = None
    place: Annotated[str, Field(min_length=2, max_length=200)] | None = Field(
        None, description="the consulate in the country of residence, or 'remote' (audio/video)")

    @model_validator(mode="after")
    def _interview(self) -> InfoRequestIn:
        if self.kind == "interview" and (self.interview_at is None or self.place is None):
            raise ValueError("an interview needs interview_at and place")
        if self.kind == "information" and (self.interview_at is not None or self.place is not None):
            raise ValueError("interview_at and place are for an interview")
        if self.interview_at is not None and self.interview_at.tzinfo is None:
            raise ValueError("interview_at: give the UTC offset")
        return self


class DocumentIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f]+$")]
    media_type: Literal["application/pdf", "image/jpeg", "image/png"]
    content_base64: Annotated[str, Field(min_length=4, max_length=2_800_000)]


class AnswerIn(Strict):
    """The applicant's answer, through the secure account (Art. 27(2)); the travel document number of
    the application proves it is theirs."""

    request_id: Annotated[str, Field(min_length=36, max_length=36)]
    document_number: str = Field(min_length=1, max_length=24, pattern=r"^[A-Z0-9]+$")
    answer: Annotated[str, Field(min_length=1, max_length=4000)]
    documents: list[DocumentIn] = Field(default_factory=list, max_length=5)


class InterviewOutcomeIn(Strict):
    officer: Officer
    state: EtiasCountry
    attended: bool
    note: LongText


class RequestOut(Out):
    id: str
    kind: str
    asked_by: str
    on_behalf_of: str | None
    text: str
    languages: list[str]
    asked_at: datetime
    due_at: datetime
    place: str | None
    status: str  # open, answered, lapsed, attended, missed
    answered_at: datetime | None
    answer: str | None
    documents: list[str] = []


class ConsultIn(Strict):
    """Art. 28(5)-29(5): the unit responsible consults other Member States or Europol itself."""

    officer: Officer
    state: EtiasCountry
    consulted: list[Consulted] = Field(min_length=1, max_length=30)
    why: Text


class OpinionIn(Strict):
    """A consulted Member State's national unit, or Europol, gives a reasoned opinion (Art. 28(3), 29(4))."""

    officer: Officer
    consulted: Consulted
    opinion: Literal["positive", "negative"]
    reason: LongText
    second_line_check: bool = Field(False, description="ask for the Art. 36(2) flag if issued")
    request_information: LongText | None = Field(
        None, description="information the unit responsible must ask the applicant for (Art. 27(1))")


class ConsultationOut(Out):
    id: str
    consulted: str
    why: str
    requested_at: datetime
    due_at: datetime
    status: str  # pending, answered, deemed_positive
    opinion: str | None
    reason: str | None
    answered_by: str | None
    second_line_check: bool


class LtvConsent(Strict):
    state: EtiasCountry
    officer: Officer


class LtvIn(Strict):
    """Art. 44: an authorisation with limited territorial validity, exceptionally."""

    officer: Officer
    state: EtiasCountry
    ground: Literal["humanitarian", "national_interest", "international_obligations"]
    states: list[EtiasCountry] = Field(min_length=1, max_length=30,
                                       description="where it is valid: the issuing state, and others that consent")
    consents: list[LtvConsent] = Field(default_factory=list, max_length=29)
    valid_from: IsoDate
    valid_until: IsoDate
    reason: LongText


class LtvOut(Out):
    id: str
    issued_by: str
    ground: str
    states: list[str]
    valid_from: date
    valid_until: date
    issued_at: datetime


class WithdrawalIn(Strict):
    """Art. 40 (annulment: the conditions were not met when it was issued) or Art. 41 (revocation: they
    are no longer met), by the Member State holding the evidence."""

    officer: Officer
    state: EtiasCountry
    grounds: list[Ground] = Field(min_length=1, max_length=8)
    reason: LongText


class OwnRevocationIn(Strict):
    """Art. 41(8): the holder asks for the authorisation to be revoked."""

    document_number: str = Field(min_length=1, max_length=24, pattern=r"^[A-Z0-9]+$")


class ReviewIn(Strict):
    """The unit of the Member State that entered a new alert or watchlist entry keeps a valid
    authorisation after assessing the monitoring hits (Art. 41(3)-(5)); to end it, it revokes."""

    officer: Officer
    state: EtiasCountry
    reason: LongText


class AppealIn(Strict):
    officer: Officer
    state: EtiasCountry
    reference: Annotated[str, Field(min_length=1, max_length=64)]
    lodged_on: IsoDate


class AppealOutcomeIn(Strict):
    officer: Officer
    state: EtiasCountry
    outcome: Literal["dismissed", "upheld"]
    decided_on: IsoDate
    note: LongText


class AppealOut(Out):
    id: str
    against: str
    state: str
    reference: str
    lodged_on: date
    outcome: str
    outcome_on: date | None
    outcome_note: str | None


class ListEntryIn(Strict):
    """An entry of a list the automated processing compares against: a SIS or SLTD feed, or the ETIAS
    watchlist (Art. 34(4): identity and/or travel document; entered by a Member State or Europol)."""

    reference: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/-]+$")]
    supplied_by: Annotated[str, Field(pattern=r"^([A-Z]{2}|EUROPOL|INTERPOL)$")]
    name: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    birth_date: Annotated[str, Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")] | None = None
    nationality: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    document_number: str | None = Field(None, min_length=1, max_length=24, pattern=r"^[A-Z0-9]+$")
    document_country: CountryCode | None = None
    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class ListEntryOut(Out):
    list: str
    reference: str
    supplied_by: str
    added_at: datetime
    removed_at: datetime | None = None
    reviewed_at: datetime | None = None
    impact: dict[str, float | int] | None = None  # Art. 35(1)(b): the share of applications it would send to manual processing
    monitoring_hits: list[str] = []  # valid authorisations the new entry hit (Art. 41(3)-(5))


class StatisticsOut(Out):
    """Art. 84: figures only, no data that identify anyone; cells under the threshold are suppressed."""

    period_from: date
    period_to: date
    suppressed_below: int
    figures: dict[str, dict[str, int | float | None]]


class ConsentIn(Strict):
    """Art. 54(2): the applicant's explicit consent, by an electronically signed statement."""

    document_number: str = Field(min_length=1, max_length=24, pattern=r"^[A-Z0-9]+$")
    statement: Literal["I consent to my application file being kept for up to three years after my travel "
                       "authorisation ends, to make a new application easier."]
    signature: Annotated[str, Field(min_length=16, max_length=4000,
                                    description="the electronic signature over the statement (verified by the "
                                                "secure account service)")]


class RuleProposalIn(Strict):
    """Art. 33: a screening rule as data (etias/sri.py: the attributes of Art. 33(4) only)."""

    officer: Officer
    rule: dict[str, Any] = Field(description='e.g. {"id": "R-2027-001", "version": 1, "risk": "illegal_immigration", '
                                             '"basis": "33(2)(a)", "description": "...", "conditions": [{"attribute": '
                                             '"nationality", "op": "in", "value": ["XXA"]}, ...]}')


class RuleActivationIn(Strict):
    officer: Officer
    screening_board: LongText = Field(description="the ETIAS Screening Board's opinion (Art. 9(2)(a), 33(6))")


class RuleRetirementIn(Strict):
    officer: Officer
    reason: LongText


class ScreeningRuleOut(Out):
    rule_id: str
    version: int
    status: str
    definition: dict[str, Any]
    proposed_by: str
    proposed_at: datetime
    activated_by: str | None
    activated_at: datetime | None
    screening_board: str | None
    retired_by: str | None
    retired_at: datetime | None
    retired_reason: str | None


CaseOut.model_rebuild()
ApplicationOut.model_rebuild()
