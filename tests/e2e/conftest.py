"""A real server on a loopback port over a real database (both engines), with the clock in the test's hands."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from smartborders.api.app import create_app
from smartborders.core import access, auth
from smartborders.core.clock import FixedClock
from smartborders.core.db import make_engine, unit_of_work
from smartborders.reference.bcps import crossing_points
from tests.ees.factory import START

# The roles a test acts in when a route allows several, the most usual first.
_PREFERENCE = ("supervisor", "border_guard", "etias_national_unit", "etias_central_unit", "immigration_authority",
               "operator", "analyst", "visa_authority", "law_enforcement", "central_access_point")
_DEFAULT_BCP = "NL-AMS"


def _templates() -> list[tuple[str, re.Pattern[str], str]]:
    out = []
    for method, template in access.POLICY:
        pattern = re.compile("^" + re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")
        out.append((method, pattern, template))
    # The most literal template first: /lists/watchlist/review-due before /lists/{list_name}/...
    out.sort(key=lambda t: t[2].count("{"))
    return out


class ActAs(httpx.Auth):
    """Signs each request in as the officer the route is for, the way that officer's own client would:
    a token for a person with the route's role, at the crossing point or for the Member State the request
    names, under the officer name it carries. Public routes, machine-only routes (carriers) and requests
    that bring their own Authorization go as they are. What a role may NOT do is proven by
    tests/core/test_access_matrix.py, not here."""

    def __init__(self, clock: Any, engine: Any) -> None:
        self.clock, self.engine, self.templates, self.known = clock, engine, _templates(), set()

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        if "authorization" not in request.headers:
            token = self.token_for(request)
            if token:
                request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def token_for(self, request: httpx.Request) -> str | None:
        path = request.url.path
        match = next(((t, p) for m, p, t in self.templates if m == request.method and p.match(path)), None)
        if match is None:
            return None
        template, pattern = match
        params = pattern.match(path).groupdict()  # type: ignore[union-attr]
        rule = access.POLICY[(request.method, template)]
        role = next((r for r in _PREFERENCE if r in rule.roles), None)
        if rule.public or role is None:
            return None
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        named = body.get("bcp") or params.get("code")
        bcp = named if named in crossing_points() else _DEFAULT_BCP  # a guard works at a real crossing point
        state = next((v for v in (body.get("state"), body.get("received_by"), params.get("state"))
                      if isinstance(v, str) and len(v) == 3), None)
        if role == "border_guard" or (role == "supervisor" and state is None):
            state = auth.state_of_bcp(bcp)
        state = state or "NLD"
        officer = next((v for v in (body.get("officer"), body.get("supervisor")) if isinstance(v, str)), "test-officer")
        who = auth.Principal(subject=officer, kind="person", roles=frozenset({role}), name="Test Officer",
                             authority="test authority", state=state,
                             bcp=bcp if role == "border_guard" or (role == "supervisor" and named) else None)
        if officer not in self.known:  # our tokens are honoured only for an enabled account
            with unit_of_work(self.engine) as session:
                if session.scalar(select(auth.Account.id).where(auth.Account.username == officer)) is None:
                    auth.create_account(session, officer, who.name, [role], self.clock.now(), state=who.state,
                                        bcp=who.bcp if role == "border_guard" else None)
            self.known.add(officer)
        return auth.issue_token(who, self.clock.now())[0]


@dataclass
class Server:
    url: str
    clock: FixedClock
    http: httpx.Client
    engine: Any = None
    _keys: dict[str, str] = field(default_factory=dict)

    def bcp_key(self, bcp: str = "NL-AMS") -> str:
        """A crossing-point system's key (made once per crossing point), as the fall-back client sends it."""
        if bcp not in self._keys:
            self._keys[bcp] = make_bcp_key(self.engine, bcp)
        return self._keys[bcp]


def make_bcp_key(engine: Any, bcp: str = "NL-AMS") -> str:
    from datetime import UTC, datetime

    from smartborders.core import clients

    with unit_of_work(engine) as session:
        code = f"{bcp}-T{len(session.scalars(select(clients.ApiClient.id)).all())}"[:16]
        return clients.create(session, "bcp", code, f"{bcp} test system", datetime.now(UTC), bcp=bcp)[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(ees_url: str) -> Iterator[Server]:
    engine = make_engine(ees_url)
    clock = FixedClock(START)
    app = create_app(engine, clock)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    # 30 s: the server warms the ETIAS matcher on a thread as it starts, which can hold a first request for
    # seconds on a loaded machine.
    with httpx.Client(base_url=url, timeout=30, auth=ActAs(clock, engine)) as client:
        yield Server(url, clock, client, engine)
    srv.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
