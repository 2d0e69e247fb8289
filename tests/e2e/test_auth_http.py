"""Signing in and acting within one's scope, over real HTTP on both databases: argon2 passwords and
tokens, lock-out, disabled accounts, expiry on the service's clock, an OIDC provider's tokens, crossing-point
keys, and the scope checks (own Member State, own crossing point, own name). The audit log names who."""

from __future__ import annotations

import functools
import http.server
import json
import threading
import uuid
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from smartborders.audit.models import AuditEvent
from smartborders.core import auth
from smartborders.core.db import unit_of_work
from smartborders.core.settings import get_settings
from tests.ees.factory import Traveller

PASSWORD = "correct horse battery staple"


def _account(server: Any, username: str, roles: list[str], **kw: Any) -> None:
    with unit_of_work(server.engine) as s:
        auth.create_account(s, username, username.title(), roles, server.clock.now(), password=PASSWORD, **kw)


def _token(http: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    return http.post("/api/v1/auth/token", json={"username": username, "password": password})


def _bearer(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def raw(server):  # type: ignore[no-untyped-def]
    """A client that sends only the headers a test gives it (no automatic sign-in)."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def test_password_token_expiry_lockout_and_disabling(server, raw):
    _account(server, "jan.guard", ["border_guard"], bcp="NL-AMS", authority="KMar Schiphol")
    h = _bearer(_token(raw, "jan.guard"))
    me = raw.get("/api/v1/auth/me", headers=h).json()
    assert (me["subject"], me["roles"], me["state"], me["bcp"], me["via"]) == (
        "jan.guard", ["border_guard"], "NLD", "NL-AMS", "token")
    assert raw.post("/api/v1/border/checks", headers=h, json={}).status_code == 422  # past the door
    # One answer for every failure: a wrong password, an unknown name.
    wrong, unknown = _token(raw, "jan.guard", "not the password"), _token(raw, "nobody.here", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401 and wrong.json()["detail"] == unknown.json()["detail"]
    # Expiry is on the service's clock: an hour later the token is refused.
    server.clock.advance(timedelta(minutes=61))
    r = raw.get("/api/v1/auth/me", headers=h)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    # Five wrong passwords in a row lock the account for 15 minutes, even for the right password.
    for _ in range(auth.MAX_FAILURES):
        assert _token(raw, "jan.guard", "guessing 123456").status_code == 401
    assert _token(raw, "jan.guard").status_code == 401
    server.clock.advance(timedelta(minutes=auth.LOCK_MINUTES + 1))
    h = _bearer(_token(raw, "jan.guard"))
    # Disabled: the password no longer works, and the token issued before stops working too.
    with unit_of_work(server.engine) as s:
        auth.disable_account(s, "jan.guard", server.clock.now())
    assert _token(raw, "jan.guard").status_code == 401
    assert raw.get("/api/v1/auth/me", headers=h).status_code == 401
    # A forged token (our claims, another key) and a token with alg "none" are refused.
    forged = jwt.encode({"sub": "jan.guard", "iss": "smartborders", "aud": "smartborders", "roles": ["operator"],
                         "exp": int((server.clock.now() + timedelta(hours=1)).timestamp())}, "x" * 48, "HS256")
    none = jwt.encode({"sub": "x", "roles": ["operator"]}, None, algorithm="none")
    for t in (forged, none, "not.a.token"):
        assert raw.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {t}"}).status_code == 401
    # Nothing secret in the log: no password, no token.
    with unit_of_work(server.engine, readonly=True) as s:
        rows = [{c: getattr(e, c) for c in ("route", "params", "principal", "authority", "purpose")}
                for e in s.scalars(select(AuditEvent))]
    assert PASSWORD not in repr(rows) and h["Authorization"][7:] not in repr(rows)


def test_scope_own_state_own_crossing_point_own_name(server, raw):
    _account(server, "nu.nld", ["etias_national_unit"], state="NLD")
    _account(server, "sup.ams", ["supervisor"], bcp="NL-AMS")
    _account(server, "bo.guard", ["border_guard", "supervisor"], bcp="NL-AMS")
    nu, sup, guard = (_bearer(_token(raw, u)) for u in ("nu.nld", "sup.ams", "bo.guard"))
    assert raw.get("/api/v1/etias/national-units/NLD/queue", headers=nu).status_code == 200
    r = raw.get("/api/v1/etias/national-units/DEU/queue", headers=nu)
    assert r.status_code == 403 and "NLD" in r.json()["detail"]
    r = raw.post("/api/v1/etias/applications/E00000-00000-00000/decision", headers=nu,
                 json={"officer": "nu.nld", "state": "FRA", "decision": "issue"})
    assert r.status_code == 403  # a decision in France's name
    r = raw.post("/api/v1/etias/applications/E00000-00000-00000/decision", headers=nu,
                 json={"officer": "someone.else", "state": "NLD", "decision": "issue"})
    assert r.status_code == 403 and "own name" in r.json()["detail"]
    # A supervisor sets modes at their crossing point only, under their own name.
    body = {"supervisor": "sup.ams", "mode": "no_biometrics", "minutes": 30, "reason": "queue past 45 min"}
    assert raw.post("/api/v1/bcps/DE-FRA/modes", headers=sup, json=body).status_code == 403
    assert raw.post("/api/v1/bcps/NL-AMS/modes", headers=sup, json={**body, "supervisor": "x.y"}).status_code == 403
    assert raw.post("/api/v1/bcps/NL-AMS/modes", headers=guard, json=body).status_code == 403  # not bo.guard
    # A guard records at their own crossing point, not at another.
    t = Traveller("USA")
    assert raw.post("/api/v1/border/entries", headers=guard,
                    json=t.entry(bcp="DE-FRA").model_dump(mode="json", exclude_none=True)).status_code == 403
    assert raw.post("/api/v1/border/entries", headers=guard,
                    json=t.entry().model_dump(mode="json", exclude_none=True)).status_code == 201


def test_crossing_point_key_records_there_only_and_the_log_names_it(server, raw):
    key = {"Authorization": f"Bearer {server.bcp_key('NL-AMS')}"}
    t, u = Traveller("USA"), Traveller("USA")
    assert raw.post("/api/v1/border/entries", headers=key,
                    json=t.entry().model_dump(mode="json", exclude_none=True)).status_code == 201
    assert raw.post("/api/v1/border/entries", headers=key,
                    json=u.entry(bcp="DE-FRA").model_dump(mode="json", exclude_none=True)).status_code == 403
    assert raw.get("/api/v1/overstayers", headers=key).status_code == 403  # a machine of the border, not immigration
    with unit_of_work(server.engine, readonly=True) as s:
        rows = [(r.principal_kind, r.role, r.status, r.authority) for r in s.scalars(
            select(AuditEvent).where(AuditEvent.route == "/api/v1/border/entries").order_by(AuditEvent.id))]
    assert [r[:3] for r in rows] == [("bcp", "bcp", 201), ("bcp", "bcp", 403)]
    assert rows[0][3].startswith("crossing point NL-AMS")


def test_an_oidc_providers_tokens(server, raw, tmp_path, monkeypatch):
    """A deployment with its own identity provider: RS256 tokens checked against the provider's published
    keys (a JWKS document served on a loopback port, as the provider serves it), roles from the configured
    claim."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    idp = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=idp.serve_forever, daemon=True).start()
    s = get_settings()
    monkeypatch.setattr(s, "oidc_issuer", "https://idp.example.eu/realms/border")
    monkeypatch.setattr(s, "oidc_jwks_url", f"http://127.0.0.1:{idp.server_port}/jwks.json")
    monkeypatch.setattr(s, "oidc_audience", "smartborders-api")
    monkeypatch.setattr(s, "oidc_roles_claim", "smartborders_roles")
    _account(server, "oidc.analyst", ["analyst"])  # the provider's users are known here too

    def token(**over: Any) -> dict[str, str]:
        now = server.clock.now()
        claims = {"iss": "https://idp.example.eu/realms/border", "sub": "oidc.analyst", "aud": "smartborders-api",
                  "exp": int((now + timedelta(minutes=5)).timestamp()), "name": "Ana Lyst",
                  "smartborders_roles": ["analyst"], **over}
        return {"Authorization": "Bearer " + jwt.encode(claims, key, "RS256", headers={"kid": "k1"})}

    me = raw.get("/api/v1/auth/me", headers=token()).json()
    assert "subject" in me, me
    assert (me["subject"], me["roles"], me["via"]) == ("oidc.analyst", ["analyst"], "oidc")
    assert raw.get("/api/v1/statistics", headers=token()).status_code != 403
    assert raw.get("/api/v1/overstayers", headers=token()).status_code == 403
    # Another issuer, another audience, an unknown role, expired: refused or worthless.
    assert raw.get("/api/v1/auth/me", headers=token(iss="https://evil.example")).status_code == 401
    assert raw.get("/api/v1/auth/me", headers=token(aud="other")).status_code == 401
    assert raw.get("/api/v1/statistics", headers=token(smartborders_roles=["god"])).status_code == 403
    assert raw.get("/api/v1/auth/me", headers=token(exp=int(server.clock.now().timestamp()) - 1)).status_code == 401
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"iss": "https://idp.example.eu/realms/border", "sub": "x", "aud": "smartborders-api",
                         "exp": int((server.clock.now() + timedelta(minutes=5)).timestamp()),
                         "smartborders_roles": ["operator"]}, other, "RS256", headers={"kid": "k1"})
    assert raw.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    idp.shutdown()


def test_bad_sign_in_input_is_a_problem(server, raw):
    for body in ({}, {"username": "a"}, {"username": 5, "password": "x"}, {"username": "a" * 65, "password": "x"},
                 {"username": "jan", "password": "x" * 257}):
        r = raw.post("/api/v1/auth/token", json=body)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), body
    r = raw.get("/api/v1/auth/me", headers={"Authorization": "Basic amFuOnB3"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert raw.get("/api/v1/auth/me", headers={"Authorization": f"Bearer sbk_{uuid.uuid4().hex}_{'A' * 43}"}
                   ).status_code == 401
