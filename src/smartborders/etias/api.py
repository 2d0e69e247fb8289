"""ETIAS over HTTP: the applicant's side (Art. 15-19, 31)."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request, status

from smartborders.api.app import run_use_case
from smartborders.etias import schemas as S
from smartborders.etias import service

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


@router.post("/carrier-checks", tags=["etias", "carriers"], responses=PROBLEMS)
async def carrier_check(body: S.CarrierCheckIn, request: Request) -> S.CarrierCheckOut:
    """Art. 45: before boarding, does the passenger hold a valid travel authorisation? OK / NOT OK only;
    not a decision on entry."""
    return await run_use_case(request, lambda ctx: service.carrier_check(ctx, body), readonly=True)


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
