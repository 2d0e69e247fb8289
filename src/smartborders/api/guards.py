"""Guards in front of every route: a size limit on request bodies, and rate limits on the public
endpoints (travellers, carriers, applicants, the console sign-in), as plain ASGI middleware.

Sizes: 1 MiB for a body, 16 MiB where images travel (border crossings with a face and fingerprints, the
border console, ETIAS answers with documents). A body that says it is larger, or that grows larger
while it streams in, is refused with 413 before the route reads it.

Rates (moving windows, `limits`): per client address, or per carrier key where one is given, so that
one carrier cannot starve another. The counters live in this process's memory; several workers count
apart (set `SMARTBORDERS_RATE_LIMIT_STORAGE=redis://...` to share them). 429 carries Retry-After.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

MIB = 1024 * 1024
DEFAULT_BODY = 1 * MIB
LARGE_BODY = 16 * MIB
LARGE = re.compile(r"^/(api/v1/border/(entries|exits|refusals|checks|searches)|border(/.*)?|"
                   r"api/v1/etias/applications/[^/]+/answers|traveller/etias/.*|api/v1/biometrics/.*)$")


@dataclass(frozen=True)
class Rule:
    name: str
    methods: frozenset[str]
    pattern: re.Pattern[str]
    limit: RateLimitItem
    by_key: bool = False  # per Authorization key where one is sent


RULES = (
    Rule("traveller", frozenset({"GET", "POST"}), re.compile(r"^/api/v1/(traveller/|calculator$)"), parse("60/minute")),
    Rule("etias-applications", frozenset({"POST"}), re.compile(r"^/api/v1/etias/applications(/[^/]+/"
                                                               r"(answers|revocation-request|retention-consent.*))?$"),
         parse("20/minute")),
    Rule("carriers", frozenset({"POST"}), re.compile(r"^/api/v1/(etias/carrier-checks|carrier/)"), parse("600/minute"),
         by_key=True),
    Rule("sign-in", frozenset({"POST"}), re.compile(r"^/login$"), parse("10/minute")),
    Rule("sign-in-api", frozenset({"POST"}), re.compile(r"^/api/v1/auth/token$"), parse("20/minute")),
    Rule("traveller-console", frozenset({"POST"}), re.compile(r"^/traveller/"), parse("60/minute")),
)


def _problem(status: int, slug: str, title: str, detail: str, headers: list[tuple[bytes, bytes]] = ()) -> dict[str, Any]:
    from smartborders.core.errors import PROBLEM_BASE

    body = json.dumps({"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}).encode()
    return {"status": status, "body": body,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
                        *headers]}


async def _send_problem(send: Any, p: dict[str, Any]) -> None:
    await send({"type": "http.response.start", "status": p["status"], "headers": p["headers"]})
    await send({"type": "http.response.body", "body": p["body"]})


class BodyLimit:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = LARGE_BODY if LARGE.match(scope.get("path", "")) else DEFAULT_BODY
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        too_big = _problem(413, "payload-too-large", "The request body is too large",
                           f"at most {limit // MIB} MiB here")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_problem(send, too_big)
            return
        if declared is None:
            # No length given (a chunked upload): read it here, up to the limit, then hand it on whole.
            body, more = b"", True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > limit:
                    await _send_problem(send, too_big)
                    return
            sent = False

            async def replay() -> Any:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send)
            return
        await self.app(scope, receive, send)


class RateLimit:
    def __init__(self, app: Any, storage: str = "memory://", rules: tuple[Rule, ...] = RULES) -> None:
        self.app, self.rules = app, rules
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path, method = scope.get("path", ""), scope["method"]
            for rule in self.rules:
                if method in rule.methods and rule.pattern.match(path):
                    who = self._who(scope, rule)
                    if not self.limiter.hit(rule.limit, rule.name, who):
                        reset, _ = self.limiter.get_window_stats(rule.limit, rule.name, who)
                        wait = max(1, int(reset - time.time()) + 1)
                        await _send_problem(send, _problem(
                            429, "too-many-requests", "Too many requests",
                            f"at most {rule.limit} for {rule.name}; try again in {wait} s",
                            [(b"retry-after", str(wait).encode())]))
                        return
                    break
        await self.app(scope, receive, send)

    @staticmethod
    def _who(scope: Any, rule: Rule) -> str:
        if rule.by_key:
            auth = dict(scope.get("headers") or []).get(b"authorization")
            if auth:
                return "key:" + hashlib.sha256(auth).hexdigest()[:32]
        client = scope.get("client") or ("unknown", 0)
        return f"ip:{client[0]}"


def document(app: Any) -> None:
    """Put 401, 403, 413 and 429 in the OpenAPI description of the operations that can answer them, and
    the bearer scheme (a person's token or a client's key, core/access.py) on those that need it."""
    from smartborders.core.access import rule_for

    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = original()
        problem = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
        for path, ops in spec.get("paths", {}).items():
            concrete = re.sub(r"\{[^}]+\}", "x", path)
            for method, op in ops.items():
                m = method.upper()
                responses = op.setdefault("responses", {})
                rule = rule_for(m, path)
                if rule is None or not rule.public:
                    op["security"] = [{"bearer": []}]
                    responses.setdefault("401", {"description": "No valid credentials (problem+json)", **problem})
                    responses.setdefault("403", {"description": "These credentials do not allow this, or not "
                                                 "here (problem+json)", **problem})
                if path.startswith("/api/"):
                    responses.setdefault("503", {"description": "The database or the audit log cannot be reached; "
                                                 "nothing was recorded: retry (problem+json, Retry-After)", **problem})
                if m not in ("GET", "HEAD", "OPTIONS"):
                    responses.setdefault("413", {"description": "The request body is too large (problem+json)",
                                                 **problem})
                if any(m in rule.methods and rule.pattern.match(concrete) for rule in RULES):
                    responses.setdefault("429", {"description": "Too many requests (problem+json); see Retry-After",
                                                 **problem})
        spec.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http", "scheme": "bearer",
            "description": "A person's token (POST /api/v1/auth/token, or the OIDC provider's), or a machine "
                           "client's key sbk_<id>_<secret> (carriers, crossing points)."}
        app.openapi_schema = spec
        return spec

    app.openapi = openapi
