"""What every console page uses: the templates (with the message catalogue), the user and their role,
the CSRF check on every form, and running a use case in its own transaction from a page.

A page handler:

    @router.get("/border")
    async def page(request: Request, user: User = Depends(require("border_guard"))):
        return render(request, "border/check.html", title=_("Border check"))

    @router.post("/border/check", dependencies=[Depends(csrf)])
    async def check(request: Request, user: User = Depends(require("border_guard"))): ...

`htmx` requests (header HX-Request) get the fragment template alone; the same URL without JavaScript
gets the whole page, so every screen works with plain forms too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context

from smartborders.core.errors import Problem
from smartborders.web import auth, i18n
from smartborders.web.auth import User

T = TypeVar("T")
TEMPLATES = Path(__file__).parent / "templates"


@pass_context
def _gettext(ctx: Any, message: str, **variables: Any) -> str:
    text = i18n.catalogue(ctx.get("lang", i18n.DEFAULT)).gettext(message)
    return text % variables if variables else text


@pass_context
def _ngettext(ctx: Any, singular: str, plural: str, n: int, **variables: Any) -> str:
    text = i18n.catalogue(ctx.get("lang", i18n.DEFAULT)).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                                            extensions=["jinja2.ext.i18n"]))
templates.env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
templates.env.globals["ROLES"] = auth.ROLES


def lang_of(request: Request) -> str:
    return i18n.negotiate(request.headers.get("accept-language"), request.session.get("lang"))


def _(request: Request, message: str, **variables: Any) -> str:
    """A message in the request's language, for code (templates use `_()` directly)."""
    text = i18n.catalogue(lang_of(request)).gettext(message)
    return text % variables if variables else text


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    user = auth.current(request)
    base = {
        "user": user, "nav": auth.nav(user), "lang": lang_of(request), "languages": i18n.languages(),
        "csrf": auth.csrf_token(request), "htmx": is_htmx(request), "path": request.url.path,
    }
    return templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)


class NeedsLogin(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class NotAllowed(Exception):
    def __init__(self, user: User, path: str) -> None:
        self.user, self.path = user, path


def require(*roles: str) -> Callable[[Request], User]:
    """A dependency: the signed-in user, if their role is one of `roles` (any role when none given)."""

    def dependency(request: Request) -> User:
        user = auth.current(request)
        if user is None:
            raise NeedsLogin(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""))
        if roles and user.role not in roles:
            raise NotAllowed(user, request.url.path)
        return user

    return dependency


class BadCsrf(Exception):
    pass


async def csrf(request: Request) -> None:
    """Every console form carries the session's token (field `csrf`, or header X-CSRF-Token from htmx)."""
    given = request.headers.get("x-csrf-token")
    if given is None:
        form = await request.form()
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    if not auth.csrf_ok(request, given):
        raise BadCsrf()


async def call(request: Request, use_case: Callable[[Any], T], *, readonly: bool = False, border: bool = False) -> T:
    """Run a use case in its own transaction, as the API does."""
    from smartborders.api.app import run_use_case

    return await run_use_case(request, use_case, readonly=readonly, border=border)


async def attempt(request: Request, use_case: Callable[[Any], T], *, readonly: bool = False,
                  border: bool = False) -> tuple[T | None, Problem | None]:
    """Like `call`, but a refusal (a Problem) comes back to show on the page instead of raising."""
    try:
        return await call(request, use_case, readonly=readonly, border=border), None
    except Problem as p:
        return None, p


def install_handlers(app: Any) -> None:
    @app.exception_handler(NeedsLogin)
    async def _login(request: Request, exc: NeedsLogin) -> Any:
        from urllib.parse import quote

        if is_htmx(request):
            return HTMLResponse("", status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)

    @app.exception_handler(NotAllowed)
    async def _forbidden(request: Request, exc: NotAllowed) -> Any:
        return render(request, "error.html", status_code=403, title="Not allowed",
                      message=f"As {exc.user.role_label} you may not open {exc.path}.")

    @app.exception_handler(BadCsrf)
    async def _csrf(request: Request, exc: BadCsrf) -> Any:
        return render(request, "error.html", status_code=403, title="Form expired",
                      message="The form is no longer valid (signed out, or opened in another session). "
                              "Reload the page and try again.")
