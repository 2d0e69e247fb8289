"""Signing in over the API: a person's user name and password for an access token (core/auth.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from smartborders.api.app import run_use_case
from smartborders.core import auth

router = APIRouter(prefix="/api/v1/auth", tags=["authentication"])


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    username: Annotated[str, Field(min_length=2, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="seconds")
    roles: list[str]


class PrincipalOut(BaseModel):
    subject: str
    kind: str
    name: str
    roles: list[str]
    authority: str | None
    state: str | None
    bcp: str | None
    via: str


@router.post("/token", responses={401: {"description": "Wrong user name or password, or the account is locked "
                                                        "or disabled (problem+json)"},
                                   422: {"description": "Invalid input (problem+json)"}})
async def token(body: TokenIn, request: Request) -> TokenOut:
    """Sign in: an access token for `Authorization: Bearer` (an hour). Five wrong passwords in a row lock the
    account for 15 minutes; the answer never says whether the name or the password was wrong."""
    def use_case(ctx):  # type: ignore[no-untyped-def]
        return auth.sign_in(ctx.session, body.username, body.password, ctx.clock.now())

    # A failed sign-in is committed (the failure count), then answered with 401.
    principal = await run_use_case(request, _commit_failures(use_case))
    if isinstance(principal, Exception):
        raise principal
    now = request.app.state.sb.clock.now()
    tok, _ = auth.issue_token(principal, now)
    return TokenOut(access_token=tok, expires_in=auth.TOKEN_MINUTES * 60, roles=sorted(principal.roles))


def _commit_failures(use_case):  # type: ignore[no-untyped-def]
    def run(ctx):  # type: ignore[no-untyped-def]
        try:
            return use_case(ctx)
        except auth.Unauthenticated as exc:
            return exc
    return run


@router.get("/me")
async def me(request: Request) -> PrincipalOut:
    """Who these credentials are: subject, roles, authority, Member State and crossing point."""
    p = auth.current_principal(request)
    return PrincipalOut(subject=p.subject, kind=p.kind, name=p.name, roles=sorted(p.roles), authority=p.authority,
                        state=p.state, bcp=p.bcp, via=p.via)
