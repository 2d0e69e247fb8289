"""The MID over HTTP: the manual-verification queue of yellow links, one link with its history, and
the verification (Reg. 2019/817 Art. 29)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from smartborders.api.app import run_use_case
from smartborders.core.errors import NotFound
from smartborders.interop import mid
from smartborders.interop import schemas as S
from smartborders.interop.models import MidLink

router = APIRouter(prefix="/api/v1/mid", tags=["interoperability"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not found (problem+json)"},
    409: {"description": "The link is already verified (problem+json)"},
    422: {"description": "Invalid input (problem+json)"},
}


def _out(ctx: Any, row: Any, with_history: bool = False) -> S.LinkOut:
    return S.LinkOut(
        id=str(row.id), colour=row.colour, a=f"{row.a_system}:{row.a_reference}", b=f"{row.b_system}:{row.b_reference}",
        identity=row.identity, same_biometrics=row.same_biometrics, same_document=row.same_document,
        responsible=row.responsible, created_at=row.created_at,
        history=[S.LinkEventOut(at=h["at"], colour_from=h["from"], colour_to=h["to"], by=h["by"], reason=h["reason"])
                 for h in mid.history(ctx.session, row.id)] if with_history else [],
    )


@router.get("/links", responses=PROBLEMS)
async def links(request: Request, colour: Literal["white", "yellow", "green", "red"] = "yellow",
                system: Annotated[str | None, Query(pattern=r"^[A-Z]{2,8}$")] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[S.LinkOut]:
    """Links of a colour, oldest first: with `yellow`, the manual-verification queue (of one system's
    authority with `system`)."""
    t = MidLink.__table__

    def use_case(ctx: Any) -> list[S.LinkOut]:
        q = select(t).where(t.c.colour == colour).order_by(t.c.created_at).limit(limit)
        if system is not None:
            q = q.where(t.c.a_system == system)
        return [_out(ctx, r) for r in ctx.session.execute(q).all()]

    return await run_use_case(request, use_case, readonly=True)


@router.get("/links/{link_id}", responses=PROBLEMS)
async def link(link_id: uuid.UUID, request: Request) -> S.LinkOut:
    """One link (the identity confirmation file, Art. 34) with every change of its colour."""
    t = MidLink.__table__

    def use_case(ctx: Any) -> S.LinkOut:
        row = ctx.session.execute(select(t).where(t.c.id == link_id)).first()
        if row is None:
            raise NotFound(f"no MID link {link_id}")
        return _out(ctx, row, with_history=True)

    return await run_use_case(request, use_case, readonly=True)


@router.post("/links/{link_id}/verification", responses=PROBLEMS)
async def verify(link_id: uuid.UUID, body: S.LinkVerification, request: Request) -> S.LinkOut:
    """Art. 29: the responsible authority's decision on a yellow link, with its reason."""
    t = MidLink.__table__

    def use_case(ctx: Any) -> S.LinkOut:
        mid.verify(ctx.session, link_id, body.colour, by=body.authority, reason=body.reason, at=ctx.now())
        return _out(ctx, ctx.session.execute(select(t).where(t.c.id == link_id)).one(), with_history=True)

    return await run_use_case(request, use_case)
