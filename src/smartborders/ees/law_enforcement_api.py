"""Law-enforcement access to the EES (Arts. 29-33) over HTTP: each route translates to one use case in
`ees.law_enforcement`. The caller is the authenticated principal; the use cases check its role and Member
State again (defence in depth beside the routes' access check)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from smartborders.api.app import run_use_case
from smartborders.core.auth import current_principal
from smartborders.ees import law_enforcement as le

router = APIRouter(prefix="/api/v1/law-enforcement", tags=["law enforcement"])

PROBLEMS = {
    401: {"description": "Not authenticated (problem+json)"},
    403: {"description": "Not an operating unit or central access point of the request's Member State, or the "
                         "requester verifying their own request (problem+json)"},
    404: {"description": "Not found (problem+json)"},
    409: {"description": "Wrong step, or a reused client id (problem+json)"},
    422: {"description": "Invalid input, or the conditions of Art. 32 are not met (problem+json)"},
}


@router.post("/requests", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def submit(body: le.SubmitIn, request: Request) -> le.ResultOut:
    """Art. 31(1)-(2): an operating unit's reasoned request to its central access point. Not urgent: it
    waits for verification (no data). Urgent: processed at once, the data are in the answer, and the
    central access point verifies ex post within 7 working days. Idempotent by `client_id`."""
    principal = current_principal(request)
    return await run_use_case(request, lambda ctx: le.submit(ctx, principal, body))


@router.get("/requests", responses=PROBLEMS)
async def list_requests(
    request: Request,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[le.RequestOut]:
    """A central access point: its queue (requests to verify, urgent ones awaiting the ex post verification;
    `overdue`: past the 7 working days). An operating unit: its Member State's requests, newest first."""
    principal = current_principal(request)
    if principal.has("central_access_point"):
        return await run_use_case(request, lambda ctx: le.queue(ctx, principal, overdue, limit=limit,
                                                                offset=offset), readonly=True)
    return await run_use_case(request, lambda ctx: le.list_requests(ctx, principal, limit=limit, offset=offset),
                              readonly=True)


@router.get("/requests/{request_id}", responses=PROBLEMS)
async def get_request(request_id: uuid.UUID, request: Request) -> le.ResultOut:
    """One request with its verification and trail; for the operating unit, the data once released."""
    principal = current_principal(request)
    return await run_use_case(request, lambda ctx: le.get(ctx, principal, request_id), readonly=True)


@router.post("/requests/{request_id}/verification", responses=PROBLEMS)
async def verify(request_id: uuid.UUID, body: le.VerifyIn, request: Request) -> le.ResultOut:
    """Art. 29(3), 31, 32: the central access point's verification: approved (the search runs and the data
    go to the operating unit) or rejected; for an urgent request, justified or not_justified (then the data
    must be erased)."""
    principal = current_principal(request)
    return await run_use_case(request, lambda ctx: le.verify(ctx, principal, request_id, body))


@router.post("/requests/{request_id}/erasure", responses=PROBLEMS)
async def confirm_erasure(request_id: uuid.UUID, request: Request) -> le.ResultOut:
    """Art. 31(3): the operating unit confirms the erasure of data whose urgent access was not justified."""
    principal = current_principal(request)
    return await run_use_case(request, lambda ctx: le.confirm_erasure(ctx, principal, request_id))
