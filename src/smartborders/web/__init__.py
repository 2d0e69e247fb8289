"""The consoles: server-rendered pages (Jinja2 + htmx 2, vendored in static/) over the same use cases
as the API. Border guard (/border), ETIAS officers (/etias), traveller (/traveller), analyst
(/analyst); a demo login (/login) until issue 7."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

STATIC = Path(__file__).parent / "static"

# Content Security Policy of the pages: scripts and styles from this site only (htmx is vendored; no
# inline script), images also as data: and blob: (captured faces and fingerprints), no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'")


class SafeHeaders:
    """Headers on every response; the CSP on HTML pages (a plain ASGI middleware)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
                         (b"x-frame-options", b"DENY")]
                ctype = {k.lower(): v for k, v in headers}.get(b"content-type", b"")
                if ctype.startswith(b"text/html") and scope.get("path", "") not in ("/docs", "/redoc"):
                    extra.append((b"content-security-policy", CSP.encode()))
                headers += [(k, v) for k, v in extra if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def mount(app: Any) -> None:
    """Add the consoles to the API's app: sessions, static files, the pages."""
    from fastapi.staticfiles import StaticFiles
    from starlette.middleware.sessions import SessionMiddleware

    from smartborders.core.settings import get_settings
    from smartborders.web import analyst, border, etias, pages, traveller
    from smartborders.web.common import install_handlers

    key = get_settings().secret_key or secrets.token_urlsafe(48)
    app.add_middleware(SessionMiddleware, secret_key=key, session_cookie="sb_session", max_age=12 * 3600,
                       same_site="strict", https_only=False)
    app.add_middleware(SafeHeaders)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    install_handlers(app)
    for module in (pages, border, etias, traveller, analyst):
        app.include_router(module.router)
    from smartborders.web.simulate import router as simulate_router
    app.include_router(simulate_router)
