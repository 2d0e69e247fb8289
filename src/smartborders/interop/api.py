"""The MID over HTTP: the manual-verification queue of yellow links, one link with its history, and
the verification (Reg. 2019/817 Art. 29)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from smartborders.api.app import run_use_case
from smartborders.interop import mid
from smartborders.interop import schemas as S

router = APIRouter(prefix="/api/v1/mid", tags=["interoperability"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not found (problem+json)"},
    409: {"description": "The link is already verified (problem+json)"},
    422: {"description": "Invalid input (problem+json)"},
}


def _out(link: dict[str, Any]) -> S.LinkOut:
    history = [S.LinkEventOut(at=h["at"], colour_from=h["from"], colour_to=h["to"], by=h["by"], reason=h["reason"])
               for h in link.get("history", [])]
    return S.LinkOut.model_validate(link | {"history": history})


@router.get("/links", responses=PROBLEMS)
async def links(request: Request, colour: Literal["white", "yellow", "green", "red"] = "yellow",
                system: Annotated[str | None, Query(pattern=r"^[A-Z]{2,8}$")] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[S.LinkOut]:
    """Links of a colour, oldest first: with `yellow`, the manual-verification queue (of one system's
    authority with `system`)."""
    return await run_use_case(request, lambda ctx: [_out(x) for x in mid.links(ctx.session, colour, system, limit)],
                              readonly=True)


@router.get("/links/{link_id}", responses=PROBLEMS)
async def link(link_id: uuid.UUID, request: Request) -> S.LinkOut:
    """One link (the identity confirmation file, Art. 34) with every change of its colour."""
    return await run_use_case(request, lambda ctx: _out(mid.identity_confirmation_file(ctx.session, link_id)),
                              readonly=True)


@router.post("/links/{link_id}/verification", responses=PROBLEMS)
async def verify(link_id: uuid.UUID, body: S.LinkVerification, request: Request) -> S.LinkOut:
    """Art. 29: the responsible authority's decision on a yellow link, with its reason."""

    def use_case(ctx: Any) -> S.LinkOut:
        mid.verify(ctx.session, link_id, body.colour, by=body.authority, reason=body.reason, at=ctx.now())
        return _out(mid.identity_confirmation_file(ctx.session, link_id))

    return await run_use_case(request, use_case)
