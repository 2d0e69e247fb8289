"""Who may call what: one rule per API route (EES Art. 9(2), 23-33; ETIAS Art. 13, 45; Reg. 2019/817
Art. 29). A route with no rule is refused (deny by default), and `tests/e2e/test_access_matrix.py` calls
every route as every role over HTTP and compares the answers with its own table of what the law allows.

A rule names the roles that may call the route, and whether a caller needs no credentials at all (the
traveller's and applicant's public routes, where the person proves who they are with their document data
in the request itself, rate-limited in api/guards.py). On top of the role, the scope: a national unit acts
for its own Member State, a border guard or crossing-point system at its own crossing point, an officer
under their own name; a request that claims another is refused with 403, before anything is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import Engine

from smartborders.core.auth import (
    ANONYMOUS,
    BCP_ROLES,
    Principal,
    account_active,
    account_active_cached,
    read_token,
    state_of_bcp,
)
from smartborders.core.errors import Forbidden, Unauthenticated
from smartborders.reference.bcps import crossing_points


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    public: bool = False  # anyone, no credentials (the caller may still send some)
    authenticated: bool = False  # any signed-in person or client


def _r(*roles: str) -> Rule:
    return Rule(frozenset(roles))


PUBLIC = Rule(frozenset(), public=True)
ANY_SIGNED_IN = Rule(frozenset(), authenticated=True)
BORDER = ("border_guard", "bcp")
NU = ("etias_national_unit",)
CU = ("etias_central_unit",)
DSR = ("supervisor", "immigration_authority", "border_guard")  # the authorities that handle Art. 52 requests

# (method, route template) -> rule. The comment is the article that gives the access.
POLICY: dict[tuple[str, str], Rule] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,  # signing in
    ("GET", "/api/v1/auth/me"): ANY_SIGNED_IN,
    # EES: border authorities (Art. 23), visa (Art. 24) and immigration authorities (Art. 26-27)
    ("POST", "/api/v1/border/checks"): _r(*BORDER),
    ("POST", "/api/v1/border/searches"): _r(*BORDER, "visa_authority", "immigration_authority"),
    ("POST", "/api/v1/border/entries"): _r(*BORDER),
    ("POST", "/api/v1/border/exits"): _r(*BORDER),
    ("POST", "/api/v1/border/refusals"): _r(*BORDER),
    ("GET", "/api/v1/files/{file_id}"): _r(*BORDER, "visa_authority", "immigration_authority"),
    ("DELETE", "/api/v1/files/{file_id}"): _r("immigration_authority", "supervisor"),  # Art. 35(4)-(6)
    ("POST", "/api/v1/records/{record_id}/amendments"): _r("border_guard", "immigration_authority",
                                                            "supervisor"),  # Art. 35
    ("POST", "/api/v1/rebuttals"): _r("border_guard", "immigration_authority"),  # Art. 22(2)
    ("GET", "/api/v1/overstayers"): _r("immigration_authority", "supervisor"),  # Art. 12(3)
    ("POST", "/api/v1/overstays/sweeps"): _r("operator"),  # Art. 12
    ("POST", "/api/v1/retention/purges"): _r("operator"),  # Art. 34-35
    ("POST", "/api/v1/traveller/stay-queries"): PUBLIC,  # Art. 13(1)
    ("POST", "/api/v1/calculator"): PUBLIC,  # Art. 11
    ("POST", "/api/v1/carrier/visa-checks"): _r("carrier"),  # Art. 13(3)
    ("GET", "/api/v1/statistics"): _r("analyst", "supervisor", "operator"),  # Art. 63
    ("GET", "/api/v1/bcps/{code}/modes"): _r(*BORDER, "supervisor"),  # Reg. 2025/1534
    ("POST", "/api/v1/bcps/{code}/modes"): _r("supervisor"),
    ("POST", "/api/v1/bcps/{code}/modes/{mode_id}/end"): _r("supervisor"),
    # Interoperability: manual verification of identity links (Reg. 2019/817 Art. 29)
    ("GET", "/api/v1/mid/links"): _r("etias_central_unit", "border_guard", "immigration_authority"),
    ("GET", "/api/v1/mid/links/{link_id}"): _r("etias_central_unit", "border_guard", "immigration_authority"),
    ("POST", "/api/v1/mid/links/{link_id}/verification"): _r("etias_central_unit", "border_guard",
                                                             "immigration_authority"),
    # ETIAS: the applicant (Art. 17, 27, 31, 41(8), 54), carriers (Art. 45), the units (Art. 22, 26-44)
    ("POST", "/api/v1/etias/applications"): PUBLIC,
    ("GET", "/api/v1/etias/applications/{number}"): PUBLIC,  # Art. 31 verification tool
    ("POST", "/api/v1/etias/applications/{number}/answers"): PUBLIC,
    ("POST", "/api/v1/etias/applications/{number}/revocation-request"): PUBLIC,
    ("POST", "/api/v1/etias/applications/{number}/retention-consent"): PUBLIC,
    ("POST", "/api/v1/etias/applications/{number}/retention-consent/withdrawal"): PUBLIC,
    ("POST", "/api/v1/etias/carrier-checks"): _r("carrier"),
    ("GET", "/api/v1/etias/central-unit/queue"): _r(*CU),
    ("GET", "/api/v1/etias/cases/{number}"): _r(*CU, *NU),
    ("POST", "/api/v1/etias/applications/{number}/verification"): _r(*CU),
    ("POST", "/api/v1/etias/applications/{number}/decision"): _r(*NU),
    ("GET", "/api/v1/etias/national-units/{state}/queue"): _r(*NU),
    ("POST", "/api/v1/etias/applications/{number}/requests"): _r(*NU),
    ("POST", "/api/v1/etias/applications/{number}/requests/{request_id}/interview"): _r(*NU),
    ("POST", "/api/v1/etias/applications/{number}/consultations"): _r(*NU),
    ("POST", "/api/v1/etias/applications/{number}/consultations/{consultation_id}/opinion"): _r(*NU),
    ("POST", "/api/v1/etias/applications/{number}/ltv"): _r(*NU),
    ("POST", "/api/v1/etias/applications/{number}/annulment"): _r(*NU),
    ("POST", "/api/v1/etias/applications/{number}/revocation"): _r(*NU),
    ("POST", "/api/v1/etias/applications/{number}/review"): _r(*NU),
    ("POST", "/api/v1/etias/applications/{number}/appeals"): _r(*NU),
    ("POST", "/api/v1/etias/applications/{number}/appeals/{appeal_id}/outcome"): _r(*NU),
    ("POST", "/api/v1/etias/lists/{list_name}/entries"): _r(*CU, *NU),  # Art. 34-35
    ("DELETE", "/api/v1/etias/lists/{list_name}/entries/{reference}"): _r(*CU, *NU),
    ("POST", "/api/v1/etias/lists/watchlist/entries/{reference}/review"): _r(*CU, *NU),
    ("GET", "/api/v1/etias/lists/watchlist/review-due"): _r(*CU, *NU),
    ("GET", "/api/v1/etias/statistics"): _r("analyst", "supervisor", *CU),  # Art. 84
    ("GET", "/api/v1/etias/screening-rules"): _r(*CU),  # Art. 33
    ("POST", "/api/v1/etias/screening-rules"): _r(*CU),
    ("POST", "/api/v1/etias/screening-rules/{rule_id}/{version}/activation"): _r(*CU),
    ("POST", "/api/v1/etias/screening-rules/{rule_id}/{version}/retirement"): _r(*CU),
    ("GET", "/api/v1/etias/fairness-report"): _r(*CU, "analyst"),
    # Data-subject requests (EES Art. 52): the authority that receives or answers them
    ("POST", "/api/v1/data-subject-requests"): _r(*DSR),
    ("GET", "/api/v1/data-subject-requests"): _r(*DSR),
    ("GET", "/api/v1/data-subject-requests/{request_id}"): _r(*DSR),
    ("POST", "/api/v1/data-subject-requests/{request_id}/forwarding"): _r(*DSR),
    ("POST", "/api/v1/data-subject-requests/{request_id}/answer"): _r(*DSR),
    # Designated law-enforcement authorities, only through the central access point (EES Art. 29-32)
    ("POST", "/api/v1/law-enforcement/requests"): _r("law_enforcement"),
    ("GET", "/api/v1/law-enforcement/requests"): _r("law_enforcement", "central_access_point"),
    ("GET", "/api/v1/law-enforcement/requests/{request_id}"): _r("law_enforcement", "central_access_point"),
    ("POST", "/api/v1/law-enforcement/requests/{request_id}/verification"): _r("central_access_point"),
    ("POST", "/api/v1/law-enforcement/requests/{request_id}/erasure"): _r("law_enforcement"),
}
# Not the API: the description of it, and the consoles (they check their own sessions, web/auth.py).
UNGUARDED_PREFIXES = ("/openapi.json", "/docs", "/static/")


def rule_for(method: str, route: str) -> Rule | None:
    return POLICY.get((method, route))


_SLOW = object()  # the principal needs the database: find it on a worker thread


def _principal_fast(header: str | None, engine: Engine, now: Any) -> Principal | None | object:
    """The principal without touching the database (a token, or a key or account checked moments ago),
    or _SLOW. Runs on the event loop: the border path then pays no extra thread hop for its credentials."""
    if not header:
        return None
    if header.startswith("Bearer sbk_"):
        from smartborders.core import clients

        return clients.cached_principal(header) or _SLOW
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("give a bearer token: Authorization: Bearer <token>")
    p = read_token(token.strip(), now)
    if p.via != "token":
        return p
    active = account_active_cached(engine, p.subject)
    if active is None:
        return _SLOW
    if not active:
        raise Unauthenticated("the account is disabled")
    return p


def _principal_slow(header: str, engine: Engine, now: Any) -> Principal:
    if header.startswith("Bearer sbk_"):
        from smartborders.core import clients
        from smartborders.core.db import unit_of_work

        with unit_of_work(engine, readonly=True) as session:
            principal = clients.authenticate(session, header, None).principal()
        clients.remember(header, principal)
        return principal
    p = read_token(header.partition(" ")[2].strip(), now)
    if not account_active(engine, p.subject):
        raise Unauthenticated("the account is disabled")
    return p


async def _body(request: Request) -> dict[str, Any]:
    if request.method not in ("POST", "PUT", "PATCH"):
        return {}
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}  # the route's own validation answers 422
    return data if isinstance(data, dict) else {}


def _in_scope(p: Principal, role: str, template: str, params: dict[str, Any], body: dict[str, Any]) -> str | None:
    """Why this principal may not act here under this role, or None."""
    # A crossing point that does not exist is not another's: the route answers that it is unknown.
    named = [(where, v) for where, v in (("bcp", body.get("bcp")), ("code", params.get("code")))
             if isinstance(v, str) and v in crossing_points()]
    if role in BCP_ROLES:
        for where, value in named:
            if value != p.bcp:
                return f"you work at {p.bcp}, not at {value} ({where})"
    if role == "supervisor":
        for where, value in named:
            if (p.bcp and value != p.bcp) or state_of_bcp(value) != p.state:
                return f"you supervise {p.bcp or p.state}, not {value} ({where})"
    if role == "etias_national_unit":
        for where, value in (("state", params.get("state")), ("state", body.get("state"))):
            if value is not None and value != p.state:
                return f"you act for {p.state}, not for {value} ({where})"
    if template.startswith("/api/v1/data-subject-requests"):
        for where in ("received_by", "state"):
            value = body.get(where)
            if isinstance(value, str) and value != p.state:
                return f"you act for {p.state}, not for {value} ({where})"
    for key in ("officer", "supervisor"):
        officer = body.get(key)
        if p.kind == "person" and officer is not None and officer != p.subject:
            return f"you are signed in as {p.subject}: act under your own name, not {officer} ({key})"
    return None


async def authorize(request: Request) -> None:
    """The app-wide dependency: find who is asking, then apply the route's rule and scope."""
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    if template is None or request.url.path.startswith(UNGUARDED_PREFIXES) or not template.startswith(
            ("/api/", "/health", "/metrics")):
        return
    state = request.app.state.sb
    rule = rule_for(request.method if request.method != "HEAD" else "GET", template)
    if rule is None:
        raise Forbidden(f"no access rule for {request.method} {template}: refused (deny by default)")
    header, now = request.headers.get("authorization"), state.clock.now()
    principal = _principal_fast(header, state.engine, now)
    if principal is _SLOW:
        import anyio

        principal = await anyio.to_thread.run_sync(_principal_slow, header, state.engine, now)
    assert principal is None or isinstance(principal, Principal)
    request.state.principal = principal or ANONYMOUS
    if rule.public:
        return
    if principal is None:
        raise Unauthenticated("this needs credentials: Authorization: Bearer <token or client key>")
    if rule.authenticated:
        return
    granting = sorted(principal.roles & rule.roles)
    if not granting:
        raise Forbidden(f"{principal.subject} ({', '.join(sorted(principal.roles)) or 'no role'}) may not "
                        f"{request.method} {template}")
    body = await _body(request)
    params = dict(request.path_params)
    reasons = [_in_scope(principal, role, template, params, body) for role in granting]
    if all(reasons):
        raise Forbidden(reasons[0] or "out of scope")
