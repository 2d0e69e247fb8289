"""The traveller console (issue 6), being built."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from smartborders.web.auth import User
from smartborders.web.common import _, render, require

router = APIRouter(include_in_schema=False)


@router.get("/traveller")
async def index(request: Request, user: User = Depends(require("traveller","border_guard","analyst","etias_central_unit","etias_national_unit"))):  # type: ignore[no-untyped-def]  # noqa: B008
    return render(request, "placeholder.html", title=_(request, "Traveller"))
