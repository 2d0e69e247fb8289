"""The pages every console shares: sign in (an account, or the demo sign-in), sign out, the language, the home."""

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


def _login_page(request: Request, next: str | None, error: str | None = None, status_code: int = 200):  # type: ignore[no-untyped-def]
    from smartborders.core.settings import get_settings
    from smartborders.reference.bcps import crossing_points

    return render(request, "login.html", status_code=status_code, title=_(request, "Sign in"),
                  next=_safe_next(next) or "", demo=get_settings().demo_login, demo_roles=auth.DEMO_ROLES,
                  states=sorted(ETIAS_COUNTRIES), bcps=sorted(crossing_points().values(), key=lambda b: b.code),
                  error=error)


@router.get("/login")
async def login_page(request: Request, next: str | None = None):  # type: ignore[no-untyped-def]
    return _login_page(request, next)


@router.post("/login", dependencies=[Depends(csrf)])
async def login(request: Request, username: Annotated[str | None, Form(max_length=64)] = None,  # type: ignore[no-untyped-def]
                password: Annotated[str | None, Form(max_length=256)] = None,
                act_as: Annotated[str | None, Form()] = None,
                name: Annotated[str | None, Form(max_length=64)] = None, role: Annotated[str | None, Form()] = None,
                state: Annotated[str | None, Form()] = None, bcp: Annotated[str | None, Form()] = None,
                next: Annotated[str | None, Form()] = None):
    if password is not None or username is not None:
        return await _password_login(request, (username or "").strip().lower(), password or "", act_as, next)
    return _demo_login(request, name, role, state, bcp, next)


async def _password_login(request: Request, username: str, password: str, act_as: str | None,  # type: ignore[no-untyped-def]
                          next: str | None):
    import anyio

    from smartborders.core import auth as core_auth
    from smartborders.core.db import unit_of_work
    from smartborders.core.errors import Unauthenticated

    sb = request.app.state.sb

    def check() -> core_auth.Principal | None:
        with unit_of_work(sb.engine) as session:  # a failure is counted (and committed) too
            try:
                return core_auth.sign_in(session, username, password, sb.clock.now(), via="session")
            except Unauthenticated:
                return None

    principal = await anyio.to_thread.run_sync(check)
    if principal is None:
        return _login_page(request, next, _(request, "The user name or password is wrong, or the account is "
                                                      "locked or disabled."), status_code=401)
    roles = auth.console_roles(principal.roles)
    if not roles:
        return _login_page(request, next, _(request, "Your account has no console: use the API."), status_code=403)
    role = act_as if act_as in roles else roles[0]
    auth.sign_in(request, auth.User(name=principal.name, role=role, state=principal.state, bcp=principal.bcp,
                                    username=principal.subject))
    return RedirectResponse(_safe_next(next) or auth.HOME[role], status_code=303)


def _demo_login(request: Request, name: str | None, role: str | None, state: str | None, bcp: str | None,  # type: ignore[no-untyped-def]
                next: str | None):
    from smartborders.core.settings import get_settings
    from smartborders.reference.bcps import crossing_points

    if not get_settings().demo_login:
        return _login_page(request, next, _(request, "Sign in with your user name and password."), status_code=422)
    codes = set(crossing_points())
    error = None
    if not name or not name.strip():
        error = _(request, "Give your name.")
    elif role not in auth.DEMO_ROLES:
        error = _(request, "Choose a role.")
    elif role == "etias_national_unit" and state not in ETIAS_COUNTRIES:
        error = _(request, "A national unit officer works for a Member State: choose it.")
    elif role == "border_guard" and bcp not in codes:
        error = _(request, "A border guard works at a crossing point: choose it.")
    if error or name is None or role is None:
        return _login_page(request, next, error, status_code=422)
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
