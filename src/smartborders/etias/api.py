"""ETIAS over HTTP: the applicant's side (Art. 15-19, 31)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from smartborders.api.app import run_use_case
from smartborders.core import clients
from smartborders.core.errors import Forbidden
from smartborders.etias import lists, manual, retention, screening_rules, service, statistics
from smartborders.etias import schemas as S

router = APIRouter(prefix="/api/v1/etias")

PROBLEMS = {
    404: {"description": "Not found (problem+json)"},
    409: {"description": "Conflict with the recorded state (problem+json)"},
    422: {"description": "Invalid input or not admissible (problem+json)"},
}


@router.post("/applications", tags=["etias"], status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def submit(body: S.ApplicationIn, request: Request) -> S.ApplicationOut:
    """Submit an application (Art. 17): admissibility and the fee are checked, the application file is
    created with its number (Art. 19). Idempotent by `client_id`."""
    ip = request.client.host if request.client else None
    return await run_use_case(request, lambda ctx: service.submit(ctx, body, ip_address=ip))


@router.get("/applications/{number}", tags=["etias"], responses=PROBLEMS)
async def get(request: Request,
              number: str = Path(min_length=18, max_length=18, pattern=r"^E[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}$")
              ) -> S.ApplicationOut:
    """The application's status by its number (the Art. 31 verification tool)."""
    return await run_use_case(request, lambda ctx: service.get(ctx, number), readonly=True)


_bearer = HTTPBearer(auto_error=False, description="a carrier's key: sbk_<client id>_<secret>")


@router.post("/carrier-checks", tags=["etias", "carriers"], responses={
    **PROBLEMS, 401: {"description": "No valid carrier key (problem+json)"},
    403: {"description": "The key is another carrier's, or not a carrier's (problem+json)"}})
async def carrier_check(body: S.CarrierCheckIn, request: Request,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None
                        ) -> S.CarrierCheckOut:
    """Art. 45: before boarding, does the passenger hold a valid travel authorisation? OK / NOT OK only;
    not a decision on entry. Each carrier authenticates with its own key; every query is logged."""
    header = f"Bearer {credentials.credentials}" if credentials else None

    def use_case(ctx):  # type: ignore[no-untyped-def]
        client = clients.authenticate(ctx.session, header, "carrier")
        if client.code != body.carrier:
            raise Forbidden(f"this key is carrier {client.code}'s, not {body.carrier}'s")
        return service.carrier_check(ctx, body)

    return await run_use_case(request, use_case)


@router.get("/central-unit/queue", tags=["etias", "central unit"], responses=PROBLEMS)
async def central_unit_queue(request: Request, limit: int = Query(100, ge=1, le=1000)) -> list[S.CaseOut]:
    """Files awaiting the Central Unit's verification, the most urgent first, with their hits (Art. 22)."""
    return await run_use_case(request, lambda ctx: service.central_unit_queue(ctx, limit), readonly=True)


@router.get("/cases/{number}", tags=["etias", "central unit", "national unit"], responses=PROBLEMS)
async def case(request: Request,
               number: str = Path(min_length=18, max_length=18, pattern=r"^E[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}$")
               ) -> S.CaseOut:
    """One file as the ETIAS units see it: identity, hits, deadline, the Member State responsible."""
    return await run_use_case(request, lambda ctx: service.case(ctx, number), readonly=True)


@router.post("/applications/{number}/verification", tags=["etias", "central unit"], responses=PROBLEMS)
async def verify(body: S.VerificationIn, request: Request,
                 number: str = Path(min_length=18, max_length=18,
                                    pattern=r"^E[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}$")) -> S.CaseOut:
    """Art. 22: the Central Unit's verdict on every hit: all false issues the authorisation; any
    confirmed or doubtful sends the file to the national unit of the Member State responsible (Art. 25)."""
    return await run_use_case(request, lambda ctx: service.verify(ctx, number, body))


@router.post("/applications/{number}/decision", tags=["etias", "national unit"], responses=PROBLEMS)
async def decide(body: S.DecisionIn, request: Request,
                 number: str = Path(min_length=18, max_length=18,
                                    pattern=r"^E[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}$")) -> S.CaseOut:
    """Art. 26: the national unit of the Member State responsible issues (possibly flagged for a
    second-line check) or refuses on the grounds of Art. 37."""
    return await run_use_case(request, lambda ctx: service.decide(ctx, number, body))


# ---- manual processing, LTV, annulment and revocation, appeals, lists, statistics -------------------

Number = Path(min_length=18, max_length=18, pattern=r"^E[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}$")
Id = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]
ListName = Path(pattern=r"^(sis_document|sltd|sis_refusal|sis_arrest|watchlist)$")
Reference = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


@router.get("/national-units/{state}/queue", tags=["etias", "national unit"], responses=PROBLEMS)
async def national_unit_queue(request: Request, state: str = Path(pattern=r"^[A-Z]{3}$"),
                              limit: int = Query(100, ge=1, le=1000)) -> list[S.CaseOut]:
    """What waits on one Member State's national unit, the earliest deadline first: manual processing
    (Art. 26) and valid authorisations a new alert of its own hit (Art. 41)."""
    return await run_use_case(request, lambda ctx: service.national_unit_queue(ctx, state, limit), readonly=True)


@router.post("/applications/{number}/requests", tags=["etias", "national unit"], responses=PROBLEMS)
async def request_information(body: S.InfoRequestIn, request: Request, number: str = Number) -> S.CaseOut:
    """Art. 27: ask the applicant for information or documents (10 days to answer), or invite to an
    interview (last resort)."""
    return await run_use_case(request, lambda ctx: manual.request_information(ctx, number, body))


@router.post("/applications/{number}/answers", tags=["etias", "applicants"], responses=PROBLEMS)
async def answer(body: S.AnswerIn, request: Request, number: str = Number) -> S.ApplicationOut:
    """The applicant answers a request, with electronic copies of documents (Art. 27(2))."""
    return await run_use_case(request, lambda ctx: manual.answer(ctx, number, body))


@router.post("/applications/{number}/requests/{request_id}/interview", tags=["etias", "national unit"],
             responses=PROBLEMS)
async def interview(body: S.InterviewOutcomeIn, request: Request, request_id: Id,
                    number: str = Number) -> S.CaseOut:
    """Whether the applicant attended the interview (not attending: refusal, Art. 37(1)(g))."""
    return await run_use_case(request, lambda ctx: manual.interview_outcome(ctx, number, request_id, body))


@router.post("/applications/{number}/consultations", tags=["etias", "national unit"], responses=PROBLEMS)
async def consult(body: S.ConsultIn, request: Request, number: str = Number) -> S.CaseOut:
    """Art. 28-29: consult other Member States' units or Europol (60 hours; silence is a positive opinion)."""
    return await run_use_case(request, lambda ctx: manual.consult(ctx, number, body))


@router.post("/applications/{number}/consultations/{consultation_id}/opinion", tags=["etias", "national unit"],
             responses=PROBLEMS)
async def opinion(body: S.OpinionIn, request: Request, consultation_id: Id, number: str = Number
                  ) -> S.CaseOut:
    """A consulted unit's, or Europol's, reasoned opinion (Art. 28(3), 29(4))."""
    return await run_use_case(request, lambda ctx: manual.opinion(ctx, number, consultation_id, body))


@router.post("/applications/{number}/ltv", tags=["etias", "national unit"], responses=PROBLEMS)
async def ltv(body: S.LtvIn, request: Request, number: str = Number) -> S.CaseOut:
    """Art. 44: a travel authorisation with limited territorial validity."""
    return await run_use_case(request, lambda ctx: manual.issue_ltv(ctx, number, body))


@router.post("/applications/{number}/annulment", tags=["etias", "national unit"], responses=PROBLEMS)
async def annul(body: S.WithdrawalIn, request: Request, number: str = Number) -> S.CaseOut:
    """Art. 40: the conditions for issuing were not met when it was issued."""
    return await run_use_case(request, lambda ctx: manual.withdraw(ctx, number, body, "annulled"))


@router.post("/applications/{number}/revocation", tags=["etias", "national unit"], responses=PROBLEMS)
async def revoke(body: S.WithdrawalIn, request: Request, number: str = Number) -> S.CaseOut:
    """Art. 41: the conditions for issuing are no longer met."""
    return await run_use_case(request, lambda ctx: manual.withdraw(ctx, number, body, "revoked"))


@router.post("/applications/{number}/revocation-request", tags=["etias", "applicants"], responses=PROBLEMS)
async def revoke_own(body: S.OwnRevocationIn, request: Request, number: str = Number) -> S.ApplicationOut:
    """Art. 41(8): the holder asks for revocation."""
    return await run_use_case(request, lambda ctx: manual.revoke_on_request(ctx, number, body))


@router.post("/applications/{number}/review", tags=["etias", "national unit"], responses=PROBLEMS)
async def keep(body: S.ReviewIn, request: Request, number: str = Number) -> S.CaseOut:
    """Keep a valid authorisation after assessing the hits of a new alert or watchlist entry (Art. 41)."""
    return await run_use_case(request, lambda ctx: manual.keep(ctx, number, body))


@router.post("/applications/{number}/appeals", tags=["etias", "national unit"], responses=PROBLEMS)
async def appeal(body: S.AppealIn, request: Request, number: str = Number) -> S.CaseOut:
    """Record an appeal lodged in the deciding Member State (Art. 37(3), 40(3), 41(7))."""
    return await run_use_case(request, lambda ctx: manual.record_appeal(ctx, number, body))


@router.post("/applications/{number}/appeals/{appeal_id}/outcome", tags=["etias", "national unit"],
             responses=PROBLEMS)
async def appeal_outcome(body: S.AppealOutcomeIn, request: Request, appeal_id: Id, number: str = Number
                         ) -> S.CaseOut:
    """The appeal's outcome; upheld sends a refusal back to manual processing, or restores an authorisation."""
    return await run_use_case(request, lambda ctx: manual.appeal_outcome(ctx, number, appeal_id, body))


@router.post("/applications/{number}/retention-consent", tags=["etias", "applicants"], responses=PROBLEMS)
async def give_consent(body: S.ConsentIn, request: Request, number: str = Number) -> S.ApplicationOut:
    """Art. 54(2): keep the file up to 3 years after the authorisation ends."""
    return await run_use_case(request, lambda ctx: retention.consent(ctx, number, body, True))


@router.post("/applications/{number}/retention-consent/withdrawal", tags=["etias", "applicants"],
             responses=PROBLEMS)
async def withdraw_consent(body: S.OwnRevocationIn, request: Request, number: str = Number) -> S.ApplicationOut:
    return await run_use_case(request, lambda ctx: retention.consent(ctx, number, body, False))


@router.post("/lists/{list_name}/entries", tags=["etias", "lists"], status_code=status.HTTP_201_CREATED,
             responses=PROBLEMS)
async def add_entry(body: S.ListEntryIn, request: Request, list_name: str = ListName) -> S.ListEntryOut:
    """Add an entry to a list (Art. 34-35 for the watchlist: refused if it corresponds to a SIS alert; the
    answer carries its impact on manual processing and the valid authorisations it hits)."""
    return await run_use_case(request, lambda ctx: lists.add(ctx, list_name, body))


@router.delete("/lists/{list_name}/entries/{reference}", tags=["etias", "lists"], responses=PROBLEMS)
async def remove_entry(request: Request, list_name: str = ListName, reference: str = Reference) -> S.ListEntryOut:
    return await run_use_case(request, lambda ctx: lists.remove(ctx, list_name, reference))


@router.post("/lists/watchlist/entries/{reference}/review", tags=["etias", "lists"], responses=PROBLEMS)
async def review_entry(request: Request, reference: str = Reference) -> S.ListEntryOut:
    """Art. 35(5) [K]: the entering party confirms the entry is still needed (at least once a year)."""
    return await run_use_case(request, lambda ctx: lists.review(ctx, reference))


@router.get("/lists/watchlist/review-due", tags=["etias", "lists"], responses=PROBLEMS)
async def review_due(request: Request) -> list[S.ListEntryOut]:
    return await run_use_case(request, lambda ctx: lists.review_due(ctx), readonly=True)


@router.get("/statistics", tags=["etias", "statistics"], responses=PROBLEMS)
async def stats(request: Request, period_from: Annotated[date, Query(alias="from")],
                period_to: Annotated[date, Query(alias="to")]) -> S.StatisticsOut:
    """Art. 84: figures without identification (small counts suppressed)."""
    if period_to < period_from or (period_to - period_from).days > 3660:
        from smartborders.core.errors import InvalidInput

        raise InvalidInput("from..to: in order, at most ten years")
    return await run_use_case(request, lambda ctx: statistics.report(ctx, period_from, period_to), readonly=True)


@router.post("/screening-rules", tags=["etias", "screening rules"], status_code=status.HTTP_201_CREATED,
             responses=PROBLEMS)
async def propose_rule(body: S.RuleProposalIn, request: Request) -> S.ScreeningRuleOut:
    """Art. 33: propose a screening rule; refused if it uses anything but the attributes of Art. 33(4),
    a protected characteristic (Art. 14; GDPR Art. 9), or sex or age alone (Art. 33(5))."""
    return await run_use_case(request, lambda ctx: screening_rules.propose(ctx, body))


@router.get("/screening-rules", tags=["etias", "screening rules"], responses=PROBLEMS)
async def list_rules(request: Request) -> list[S.ScreeningRuleOut]:
    """Every version of every rule, with who proposed, activated and retired it."""
    return await run_use_case(request, lambda ctx: screening_rules.listing(ctx), readonly=True)


RuleId = Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
Version = Path(ge=1, le=10_000)


@router.post("/screening-rules/{rule_id}/{version}/activation", tags=["etias", "screening rules"],
             responses=PROBLEMS)
async def activate_rule(body: S.RuleActivationIn, request: Request, rule_id: str = RuleId,
                        version: int = Version) -> S.ScreeningRuleOut:
    """Put a version in use after the Screening Board was consulted (another officer than the author)."""
    return await run_use_case(request, lambda ctx: screening_rules.activate(ctx, rule_id, version, body))


@router.post("/screening-rules/{rule_id}/{version}/retirement", tags=["etias", "screening rules"],
             responses=PROBLEMS)
async def retire_rule(body: S.RuleRetirementIn, request: Request, rule_id: str = RuleId,
                      version: int = Version) -> S.ScreeningRuleOut:
    return await run_use_case(request, lambda ctx: screening_rules.retire(ctx, rule_id, version, body))


@router.get("/fairness-report", tags=["etias", "screening rules"], responses=PROBLEMS)
async def fairness_report(request: Request, period_from: Annotated[date, Query(alias="from")],
                          period_to: Annotated[date, Query(alias="to")],
                          min_group: Annotated[int, Query(ge=1, le=100_000)] = 30) -> dict:
    """Hit and manual-referral rates by nationality, sex and age band, overall and per rule, with the
    groups outside the four-fifths band flagged (for the Fundamental Rights Guidance Board)."""
    if period_to < period_from:
        from smartborders.core.errors import InvalidInput

        raise InvalidInput("from..to: in order")
    return await run_use_case(
        request, lambda ctx: screening_rules.fairness(ctx, period_from, period_to, min_group=min_group).as_dict(),
        readonly=True)
