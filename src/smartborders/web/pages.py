"""The pages every console shares: the demo login, sign out, the language, the home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from smartborders.etias.rules import ETIAS_COUNTRIES
from smartborders.web import auth, i18n
from smartborders.web.common import _, csrf, render

router = APIRouter(include_in_schema=False)


def _safe_next(value: str | None) -> str | None:
    """Only a path on this site (no //host, no scheme): an open redirect is refused."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return None


@router.get("/")
async def home(request: Request):  # type: ignore[no-untyped-def]
    user = auth.current(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "home.html", title=_(request, "smartborders"))


@router.get("/login")
async def login_page(request: Request, next: str | None = None):  # type: ignore[no-untyped-def]
    from smartborders.reference.bcps import crossing_points

    return render(request, "login.html", title=_(request, "Sign in"), next=_safe_next(next) or "",
                  states=sorted(ETIAS_COUNTRIES), bcps=sorted(crossing_points().values(), key=lambda b: b.code), error=None)


@router.post("/login", dependencies=[Depends(csrf)])
async def login(request: Request, name: Annotated[str, Form(min_length=1, max_length=64)],  # type: ignore[no-untyped-def]
                role: Annotated[str, Form()], state: Annotated[str | None, Form()] = None,
                bcp: Annotated[str | None, Form()] = None, next: Annotated[str | None, Form()] = None):
    from smartborders.reference.bcps import crossing_points

    codes = set(crossing_points())
    error = None
    if role not in auth.ROLES:
        error = _(request, "Choose a role.")
    elif role == "etias_national_unit" and state not in ETIAS_COUNTRIES:
        error = _(request, "A national unit officer works for a Member State: choose it.")
    elif role == "border_guard" and bcp not in codes:
        error = _(request, "A border guard works at a crossing point: choose it.")
    if error:
        return render(request, "login.html", status_code=422, title=_(request, "Sign in"), next=_safe_next(next) or "",
                      states=sorted(ETIAS_COUNTRIES), bcps=sorted(crossing_points().values(), key=lambda b: b.code), error=error)
    user = auth.User(name=name.strip(), role=role, state=state if role == "etias_national_unit" else None,
                     bcp=bcp if role == "border_guard" else None)
    auth.sign_in(request, user)
    return RedirectResponse(_safe_next(next) or auth.HOME[role], status_code=303)


@router.post("/logout", dependencies=[Depends(csrf)])
async def logout(request: Request):  # type: ignore[no-untyped-def]
    auth.sign_out(request)
    return RedirectResponse("/login", status_code=303)


@router.post("/language", dependencies=[Depends(csrf)])
async def language(request: Request, lang: Annotated[str, Form()],  # type: ignore[no-untyped-def]
                   back: Annotated[str | None, Form()] = None):
    if lang in i18n.languages():
        request.session["lang"] = lang
    return RedirectResponse(_safe_next(back) or "/", status_code=303)
