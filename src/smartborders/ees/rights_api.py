"""Data-subject requests (EES Art. 52) over HTTP: each route translates to one use case in `ees.rights`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from smartborders.api.app import run_use_case
from smartborders.ees import rights

router = APIRouter(prefix="/api/v1/data-subject-requests", tags=["data-subject rights"])

PROBLEMS = {
    404: {"description": "Not found (problem+json)"},
    409: {"description": "Wrong step, wrong Member State, or a reused client id (problem+json)"},
    422: {"description": "Invalid input, or the identity is not confirmed (problem+json)"},
}


@router.post("", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def receive(body: rights.RequestIn, request: Request) -> rights.ReceiptOut:
    """Art. 52(1)-(3), (6): receive a request; answers the written confirmation of receipt with the
    deadlines. Idempotent by `client_id`."""
    return await run_use_case(request, lambda ctx: rights.receive(ctx, body))


@router.get("", responses=PROBLEMS)
async def list_requests(
    request: Request,
    state: rights.StateCode | None = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[rights.RequestOut]:
    """Requests received by, or to be answered by, a Member State, by due date; `overdue`: past a deadline."""
    return await run_use_case(request, lambda ctx: rights.list_requests(
        ctx, state=state, only_overdue=overdue, limit=limit, offset=offset), readonly=True)


@router.get("/{request_id}", responses=PROBLEMS)
async def get_request(request_id: uuid.UUID, request: Request) -> rights.RequestOut:
    """One request with its deadlines, what is overdue, and its trail."""
    return await run_use_case(request, lambda ctx: rights.get_request(ctx, request_id), readonly=True)


@router.post("/{request_id}/forwarding", responses=PROBLEMS)
async def forward(request_id: uuid.UUID, body: rights.ForwardIn, request: Request) -> rights.RequestOut:
    """Art. 35(3), 52(5): the receiving state contacts the responsible one (within 7 days)."""
    return await run_use_case(request, lambda ctx: rights.forward(ctx, request_id, body))


@router.post("/{request_id}/answer", responses=PROBLEMS)
async def answer(request_id: uuid.UUID, body: rights.AnswerIn, request: Request) -> rights.AnswerOut:
    """Art. 52(3)-(6), 35: grant (and carry out) or reject with reasons; answers the written confirmation."""
    return await run_use_case(request, lambda ctx: rights.answer(ctx, request_id, body))
