"""The audit log over real HTTP: every request leaves a row before its answer arrives, with the route
template, status, principal and purpose, and nothing personal from the request."""

from __future__ import annotations

import re
import time

from sqlalchemy import select

from smartborders.audit.models import AuditEvent
from smartborders.audit.service import seal, verify
from tests.e2e.test_ees_http import cid
from tests.e2e.test_etias_http import carrier_key

DOC, SURNAME, GIVEN = "AUD987654", "ZYXWVUTSRQ", "QWERTYPOIU"


def audit_rows(server) -> list[dict]:
    t = AuditEvent.__table__
    with server.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(t).order_by(t.c.id)).mappings()]


def test_api_requests_are_logged_without_personal_data(server):
    http = server.http
    body = {"client_id": cid(), "bcp": "NL-AMS", "authority": "NL-KMAR",
            "document": {"document_type": "P", "number": DOC, "issuing_state": "USA", "expiry_date": "2031-01-01"},
            "identity": {"surname": SURNAME, "given_names": GIVEN, "birth_date": "1985-05-05", "sex": "F",
                         "nationality": "USA"}}
    r = http.post("/api/v1/border/entries", json=body)
    assert r.status_code == 201, r.text
    file_id = r.json()["file_id"]
    # The row is committed before the answer is sent: no waiting here.
    assert http.get(f"/api/v1/files/{file_id}", headers={"X-Purpose": "EES Art. 26 immigration check"}).status_code == 200
    assert http.post("/api/v1/border/checks", json={"direction": "entry", "bcp": "DE-FRA",
                                                     "document": body["document"]}).status_code == 200
    assert http.get("/api/v1/nowhere/" + DOC, params={"surname": SURNAME}).status_code == 404
    http.get("/health")
    http.get("/static/app.js")

    rows = audit_rows(server)
    got = [(r["method"], r["route"], r["status"], r["principal_kind"], r["purpose"], r["channel"]) for r in rows]
    assert got == [
        ("POST", "/api/v1/border/entries", 201, "person (token)", "EES Art. 23 border check", "api"),
        ("GET", "/api/v1/files/{file_id}", 200, "person (token)", "EES Art. 26 immigration check", "api"),
        ("POST", "/api/v1/border/checks", 200, "person (token)", "EES Art. 23 border check", "api"),
        ("GET", "unmatched", 404, "anonymous", "general access", "api"),
    ]
    assert file_id in rows[1]["params"] and rows[3]["params"] == '{"path": {}, "query": ["surname"]}'
    # Who: the signed-in officer (tests/e2e/conftest.py ActAs signs each request in), with role and authority.
    assert (rows[0]["principal"], rows[0]["role"], rows[0]["authority"]) == ("test-officer", "border_guard",
                                                                             "test authority")
    everything = repr(rows)
    for secret in (DOC, SURNAME, GIVEN, "1985-05-05"):
        assert secret not in everything


def test_carriers_and_console_users_are_named(server, monkeypatch):
    from smartborders.core.settings import get_settings

    monkeypatch.setattr(get_settings(), "demo_login", True)  # the console user signs in with the demo sign-in
    http = server.http
    lh = carrier_key(server, "LH")
    q = {"carrier": "LH", "document_number": DOC, "issuing_country": "USA", "nationality": "USA",
         "travel_date": "2028-01-15", "entry_state": "IRL"}  # invalid: answered 422 without screening
    http.post("/api/v1/etias/carrier-checks", json=q, headers=lh)
    http.post("/api/v1/etias/carrier-checks", json=q, headers={"Authorization": lh["Authorization"][:-4] + "AAAA"})

    page = http.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = http.post("/login", data={"csrf": token, "name": "Officer Kovacs", "role": "border_guard", "bcp": "NL-AMS"})
    assert r.status_code == 303, r.text
    assert http.get("/border").status_code == 200

    rows = audit_rows(server)
    carrier, forged = rows[0], rows[1]
    assert (carrier["principal_kind"], carrier["principal"], carrier["authority"]) == ("carrier", "LH", "carrier LH")
    assert carrier["purpose"] == "ETIAS Art. 45 carrier check" and carrier["route"] == "/api/v1/etias/carrier-checks"
    assert forged["principal_kind"] == "anonymous"
    console = [r for r in rows if r["channel"] == "console"]
    assert [(r["method"], r["route"]) for r in console] == [("GET", "/login"), ("POST", "/login"), ("GET", "/border")]
    assert console[0]["principal_kind"] == "anonymous"
    signed_in = console[2]
    assert (signed_in["principal_kind"], signed_in["principal"], signed_in["role"], signed_in["authority"]) == (
        "console", "Officer Kovacs", "border_guard", "border authority, BCP NL-AMS")
    assert signed_in["purpose"] == "EES Art. 23 border check"
    assert DOC not in repr(rows) and lh["Authorization"][7:] not in repr(rows)


def test_the_server_seals_and_the_chain_verifies(server):
    for _ in range(5):
        server.http.get("/api/v1/overstayers")
    deadline = time.monotonic() + 10
    while (v := verify(server.engine)).unsealed:  # the server's sealer runs every second
        assert time.monotonic() < deadline, v
        time.sleep(0.2)
    assert v.ok and v.sealed == 5
    assert seal(server.engine) == 0


def test_an_access_that_cannot_be_logged_fails_closed(server):
    with server.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_event RENAME TO audit_event_away")
    try:
        r = server.http.get("/api/v1/overstayers")
        assert r.status_code == 503 and r.json()["type"].endswith("/audit-unavailable")
        assert set(r.json()) == {"type", "title", "status", "detail", "instance"}  # the answer is withheld
    finally:
        with server.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_event_away RENAME TO audit_event")
    assert server.http.get("/api/v1/overstayers").status_code == 200
