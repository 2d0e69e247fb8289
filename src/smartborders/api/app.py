"""The FastAPI application: routers per audience, RFC 9457 problem+json for every error, /health, /metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import Engine, text
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from smartborders import __version__
from smartborders.core.clock import Clock, SystemClock
from smartborders.core.errors import PROBLEM_BASE, Problem
from smartborders.core.logging import get_logger

PROBLEM_JSON = "application/problem+json"
T = TypeVar("T")
log = get_logger("smartborders.api")


@dataclass
class AppState:
    engine: Engine
    clock: Clock
    status: dict[str, Any] = field(default_factory=dict)  # e.g. demo data loading
    border_limiter: anyio.CapacityLimiter | None = None


async def run_use_case(request: Request, use_case: Callable[[Any], T], *, readonly: bool = False,
                       border: bool = False) -> T:
    """Run a use case in a worker thread: the border path on its own few threads, the rest on the
    default pool. One transaction per call (`ees.service.run`)."""
    from smartborders.ees.service import run

    state: AppState = request.app.state.sb
    if border and state.border_limiter is None:
        from smartborders.core.settings import get_settings

        # The border path gets few threads per process: its use cases hold the GIL between short
        # database round trips, and many threads fighting for it cost more than they overlap
        # (measured, 32 clients on 2 cores, 2 processes: 40 threads 173 req/s; 1 thread won on a
        # 100k-file database, 2 threads on 1M files / 8.5M records, where the round trips are longer:
        # 254 vs 310 crossings/s, p95 at an offered 250/s 2.3 s vs 0.18 s).
        # Reports and administration keep the default pool, so they never hold up a border check.
        state.border_limiter = anyio.CapacityLimiter(get_settings().border_threads)
    hook = None if readonly or not request.url.path.startswith("/api/") else \
        (request.scope.get("state") or {}).get("audit")
    if hook is not None and hook.claimed:
        hook = None  # one row per request: a second write in the same request leaves it to the middleware
    if hook is not None:
        hook.claimed = True
        # The audit row rides in the write's own transaction (audit/middleware.py InTransaction), with the
        # status the route answers on success.
        status = getattr(request.scope.get("route"), "status_code", None) or 200
        inner, inserted = use_case, []

        def use_case(ctx):  # type: ignore[no-untyped-def]
            result = inner(ctx)
            # A use case may hand back an error to raise after its commit (a counted failed sign-in).
            inserted.append(not isinstance(result, BaseException) and hook.insert(ctx.session, status))
            return result

    result = await anyio.to_thread.run_sync(
        partial(run, state.engine, state.clock, use_case, readonly=readonly),
        limiter=state.border_limiter if border else None,
    )
    if hook is not None and inserted and inserted[-1]:
        hook.written = True  # committed: the middleware does not write it again
    return result


class _Metrics:
    """Request count and latency per route, as a plain ASGI middleware: Starlette's `BaseHTTPMiddleware`
    runs each request through an extra task and stream, which cost about a tenth of a border check's
    CPU (measured with py-spy)."""

    def __init__(self, app: Any, requests: Counter, latency: Histogram) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.requests.labels(scope["method"], path, str(status)).inc()
            self.latency.labels(scope["method"], path).observe(time.perf_counter() - start)


def _warm_on_thread(app: FastAPI, key: str, busy: str, warm: Callable[[], str], failed: str) -> None:
    """Load something slow on a thread as the server starts, so that no request waits for it; /health
    shows its state under `key`. On failure it is loaded by the first request that needs it."""
    import threading

    state: AppState = app.state.sb

    def run() -> None:
        try:
            state.status[key] = f"ready: {warm()}"
        except Exception as exc:  # noqa: BLE001 - loaded on first use instead
            state.status[key] = f"{failed}: {type(exc).__name__}"

    state.status[key] = busy
    threading.Thread(target=run, name=f"warm-{key}", daemon=True).start()


def _warm(app: FastAPI, engine: Engine) -> None:
    """The sBMS face index (millions of faces, interop/sbms.py) and the ETIAS name lists with the
    matcher's name data (about 10 s, etias/screening.py)."""
    from smartborders.etias.screening import warm as warm_screening
    from smartborders.interop.sbms import service_for

    _warm_on_thread(app, "face_index", "building", lambda: f"{service_for(engine).warm()} faces", "not built")
    _warm_on_thread(app, "etias_screening", "loading", lambda: f"{warm_screening(engine)} list entries",
                    "not loaded")


def _route(request: Request) -> str:
    """The route's template, never the raw path: a path can carry an application number or a document."""
    return getattr(request.scope.get("route"), "path", None) or "unmatched"


def problem_response(status: int, slug: str, title: str, detail: str, instance: str, **ext: Any) -> JSONResponse:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail, "instance": instance}
    body.update(ext)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def create_app(engine: Engine, clock: Clock | None = None) -> FastAPI:
    from smartborders.ees.api import router as ees_router

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _warm(app, engine)
        yield

    from smartborders.core.access import authorize

    app = FastAPI(
        lifespan=lifespan,
        dependencies=[Depends(authorize)],  # who may call what: core/access.py
        title="smartborders",
        version=__version__,
        description="The EU Entry/Exit System, ETIAS and their interoperability components, in the open. "
        "Errors are RFC 9457 problem+json documents with a stable `type`.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.sb = AppState(engine=engine, clock=clock or SystemClock())


    registry = CollectorRegistry()
    requests = Counter("smartborders_http_requests", "HTTP requests", ["method", "route", "status"],
                       registry=registry)
    latency = Histogram("smartborders_http_request_seconds", "HTTP request latency", ["method", "route"],
                        registry=registry, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))

    app.add_middleware(_Metrics, requests=requests, latency=latency)
    from smartborders.audit.middleware import AuditMiddleware

    # Added before mount(): it runs inside the consoles' session middleware, so it sees the signed-in user.
    app.add_middleware(AuditMiddleware, engine=engine)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):  # type: ignore[no-untyped-def]
        headers = {"WWW-Authenticate": 'Bearer realm="smartborders"'} if exc.status == 401 else None
        return JSONResponse(exc.to_dict(instance=request.url.path), status_code=exc.status, media_type=PROBLEM_JSON,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):  # type: ignore[no-untyped-def]
        errors = [
            {"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:5])
        return problem_response(422, "invalid-input", "The input is not valid", detail, request.url.path,
                                errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):  # type: ignore[no-untyped-def]
        if exc.status_code == 400:
            # A body that is not JSON (or not UTF-8) is bad input like any other: 422, documented.
            return problem_response(422, "invalid-input", "The input is not valid",
                                    f"the request body cannot be read: {exc.detail}", request.url.path)
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem_response(exc.status_code, slug, str(exc.detail), str(exc.detail), request.url.path)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_down(request: Request, exc: Exception):  # type: ignore[no-untyped-def]
        # The database went away (restarted, network, SQLite busy past its timeout): the transaction was
        # rolled back, so nothing was recorded and the same request (same client_id) can simply be sent
        # again. One log line, no traceback: during an outage there are hundreds.
        log.warning("database unavailable", route=_route(request), error=type(exc).__name__)
        resp = problem_response(503, "database-unavailable", "The database cannot be reached",
                                "nothing was recorded; retry in a few seconds (writes are idempotent)",
                                request.url.path)
        resp.headers["Retry-After"] = "2"
        return resp

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):  # type: ignore[no-untyped-def]
        log.error("unhandled error", route=_route(request), error=type(exc).__name__, exc_info=exc)
        return problem_response(500, "internal-error", "Internal error",
                                "the request failed inside smartborders; nothing was recorded", request.url.path)

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, Any]:
        state: AppState = app.state.sb
        with state.engine.connect() as conn:
            conn.execute(text("select 1"))
        return {"status": "ok", "version": __version__, **state.status}

    @app.get("/metrics", tags=["operations"], response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


    app.include_router(ees_router)
    from smartborders.interop.api import router as interop_router

    app.include_router(interop_router)
    from smartborders.etias.api import router as etias_router

    app.include_router(etias_router)
    from smartborders.ees.rights_api import router as rights_router

    app.include_router(rights_router)
    from smartborders.api.auth_api import router as auth_router
    from smartborders.ees.law_enforcement_api import router as law_enforcement_router

    app.include_router(law_enforcement_router)

    app.include_router(auth_router)
    from smartborders.web import mount

    mount(app)  # the consoles
    from smartborders.api import guards
    from smartborders.core.settings import get_settings as _settings

    if _settings().rate_limits:
        app.add_middleware(guards.RateLimit, storage=_settings().rate_limit_storage)
    app.add_middleware(guards.BodyLimit)  # outermost: a body too large is refused before anything reads it
    guards.document(app)
    return app

