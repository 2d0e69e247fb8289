"""An ETIAS application over real HTTP, on both databases."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

from tests.etias.factory import application


def test_an_application_over_http(server):
    server.clock.set(datetime(2026, 12, 20, 10, 0, tzinfo=UTC))
    deadline = time.monotonic() + 90  # the name lists and the matcher's data load on a thread at start
    while not server.http.get("/health").json().get("etias_screening", "").startswith("ready"):
        assert time.monotonic() < deadline, server.http.get("/health").json()
        time.sleep(0.2)
    body = application()
    r = server.http.post("/api/v1/etias/applications", json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "issued" and out["fee_eur"] == "20.00"
    assert server.http.post("/api/v1/etias/applications", json=body).json() == out  # a replay
    got = server.http.get(f"/api/v1/etias/applications/{out['number']}")
    assert got.status_code == 200 and got.json() == out
    # A mistyped number is caught by its check character; an unknown one is a 404.
    n = out["number"]
    typo = n[:-1] + ("0" if n[-1] != "0" else "1")
    assert server.http.get(f"/api/v1/etias/applications/{typo}").status_code == 422
    unpaid = application(payment=None)
    r = server.http.post("/api/v1/etias/applications", json=unpaid)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/problems/etias-fee-not-paid") and r.json()["fee_eur"] == "20.00"
    r = server.http.post("/api/v1/etias/applications", json=application(person={"nationality": "IND"}))
    assert r.status_code == 422 and r.json()["ground"] == "visa_required"


def test_a_carrier_asks_before_boarding(server):
    server.clock.set(datetime(2026, 12, 20, 10, 0, tzinfo=UTC))
    _ready(server)
    body = application(document={"number": "K55556666"})
    assert server.http.post("/api/v1/etias/applications", json=body).json()["status"] == "issued"
    q = {"carrier": "LH", "document_number": "K55556666", "issuing_country": "USA", "nationality": "USA",
         "travel_date": "2028-01-15", "entry_state": "DEU"}
    # Each carrier authenticates with its own key (Art. 45(2)); without one, or with another's, no answer.
    assert server.http.post("/api/v1/etias/carrier-checks", json=q).status_code == 401
    kl = carrier_key(server, "KL")
    r = server.http.post("/api/v1/etias/carrier-checks", json=q, headers=kl)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    lh = carrier_key(server, "LH")
    r = server.http.post("/api/v1/etias/carrier-checks", json=q, headers=lh)
    assert r.status_code == 200 and r.json()["answer"] == "OK" and r.json()["obligation_applies"]
    assert server.http.post("/api/v1/etias/carrier-checks", json={**q, "document_number": "K00000000"},
                            headers=lh).json()["answer"] == "NOT_OK"
    forged = {"Authorization": lh["Authorization"][:-4] + "AAAA"}
    assert server.http.post("/api/v1/etias/carrier-checks", json=q, headers=forged).status_code == 401
    bad = server.http.post("/api/v1/etias/carrier-checks", json={**q, "entry_state": "IRL"}, headers=lh)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


def carrier_key(server, code="KL"):
    from smartborders.core import clients
    from smartborders.core.db import unit_of_work

    with unit_of_work(server.engine) as s:
        return {"Authorization": f"Bearer {clients.create(s, 'carrier', code, code + ' airline', datetime.now(UTC))[1]}"}


def _ready(server):
    deadline = time.monotonic() + 90
    while not server.http.get("/health").json().get("etias_screening", "").startswith("ready"):
        assert time.monotonic() < deadline, server.http.get("/health").json()
        time.sleep(0.2)


def test_the_12_and_96_hour_deadlines_pass_and_a_file_goes_through_manual_processing(server):
    """A hit from a watchlist entry entered over HTTP; the Central Unit's 12 hours and the 96 hours of the
    decision pass on the server's clock; a request for information is answered by the applicant; Europol's
    silence for 60 hours counts as a positive opinion; the national unit decides; carriers see it."""
    from datetime import timedelta

    t0 = datetime(2026, 12, 21, 8, 0, tzinfo=UTC)
    server.clock.set(t0)
    _ready(server)
    h = server.http
    r = h.post("/api/v1/etias/lists/watchlist/entries", json={
        "reference": "WL-EU-77", "supplied_by": "EUROPOL", "name": "Иван Петренко", "birth_date": "1984",
        "reason": "serious criminal offence investigation"})
    assert r.status_code == 201, r.text
    assert r.json()["impact"]["would_hit"] == 0
    body = application(person={"surname": "Petrenko", "given_names": "Ivan", "birth_date": "1984-09-09"},
                       document={"number": "P77007700"})
    out = h.post("/api/v1/etias/applications", json=body).json()
    n = out["number"]
    assert out["status"] == "central_unit_verification"
    [c] = h.get("/api/v1/etias/central-unit/queue").json()
    assert c["number"] == n and not c["overdue"] and c["waiting_on"] == "central_unit"
    server.clock.set(t0 + timedelta(hours=12, minutes=1))
    [c] = h.get("/api/v1/etias/central-unit/queue").json()
    assert c["overdue"]  # the 12 hours of Art. 22(6) have passed
    r = h.post(f"/api/v1/etias/applications/{n}/verification", json={"officer": "cu.7", "hits": [
        {"id": c["hits"][0]["id"], "outcome": "doubt", "reason": "same name and year of birth"}]})
    assert r.status_code == 200, r.text
    case = r.json()
    # Europol's data: the Member State of first intended stay is responsible, and Europol is consulted.
    assert case["responsible_state"] == "NLD" and [x["consulted"] for x in case["consultations"]] == ["EUROPOL"]
    [q] = h.get("/api/v1/etias/national-units/NLD/queue").json()
    assert q["number"] == n and q["waiting_on"] == "consultation"
    r = h.post(f"/api/v1/etias/applications/{n}/requests", json={
        "officer": "nl.enu.3", "state": "NLD", "kind": "information", "text": "the purpose of the journey"})
    assert r.status_code == 200, r.text
    req = r.json()["requests"][0]
    mine = h.get(f"/api/v1/etias/applications/{n}").json()
    assert mine["open_requests"][0]["id"] == req["id"]
    server.clock.set(t0 + timedelta(hours=40))
    pdf = base64.b64encode(b"%PDF-1.4 synthetic invitation letter").decode()
    r = h.post(f"/api/v1/etias/applications/{n}/answers", json={
        "request_id": req["id"], "document_number": "P77007700", "answer": "a conference",
        "documents": [{"name": "invitation.pdf", "media_type": "application/pdf", "content_base64": pdf}]})
    assert r.status_code == 200, r.text
    assert r.json()["decision_due"].startswith("2026-12-27T00:00")  # 96 hours from the answer
    # Europol stays silent for 60 hours: a positive opinion.
    server.clock.set(t0 + timedelta(hours=12, minutes=1, seconds=1) + timedelta(hours=60))
    case = h.get(f"/api/v1/etias/cases/{n}").json()
    assert case["consultations"][0]["status"] == "deemed_positive" and case["waiting_on"] == "national_unit"
    # The 96 hours run past; the unit decides late, which the statistics show.
    server.clock.set(t0 + timedelta(hours=40 + 97))
    assert h.get("/api/v1/etias/national-units/NLD/queue").json()[0]["overdue"]
    r = h.post(f"/api/v1/etias/applications/{n}/decision", json={
        "officer": "nl.enu.3", "state": "NLD", "decision": "issue", "reason": "a namesake; answers consistent"})
    assert r.status_code == 200 and r.json()["status"] == "issued" and r.json()["flags"] == ["hit_assessed"]
    kl = carrier_key(server, "KL")
    carrier = h.post("/api/v1/etias/carrier-checks", headers=kl, json={
        "carrier": "KL", "document_number": "P77007700", "issuing_country": "USA", "nationality": "USA",
        "travel_date": "2027-01-10", "entry_state": "NLD"}).json()
    assert carrier["answer"] == "OK"
    stats = h.get("/api/v1/etias/statistics", params={"from": "2026-12-01", "to": "2026-12-31"})
    assert stats.status_code == 200
    f = stats.json()["figures"]
    assert f["deadlines"]["central_unit_missed"] == 1 and f["deadlines"]["decision_missed"] == 1
    bad = h.get("/api/v1/etias/statistics", params={"from": "2026-12-31", "to": "2026-12-01"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    # Revoked over HTTP: the carrier's answer turns.
    r = h.post(f"/api/v1/etias/applications/{n}/revocation", json={
        "officer": "nl.enu.3", "state": "NLD", "grounds": ["37(1)(b)"], "reason": "new information"})
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert h.post("/api/v1/etias/carrier-checks", headers=kl, json={
        "carrier": "KL", "document_number": "P77007700", "issuing_country": "USA", "nationality": "USA",
        "travel_date": "2027-01-10", "entry_state": "NLD"}).json()["answer"] == "NOT_OK"


def test_a_revoked_carrier_key_is_refused_and_every_query_is_logged(server):
    from sqlalchemy import select

    from smartborders.core import clients
    from smartborders.core.db import unit_of_work
    from smartborders.etias.models import Log

    server.clock.set(datetime(2026, 12, 20, 10, 0, tzinfo=UTC))
    key = carrier_key(server, "U2")
    q = {"carrier": "U2", "document_number": "K12121212", "issuing_country": "USA", "nationality": "USA",
         "travel_date": "2027-08-01", "entry_state": "FRA"}
    assert server.http.post("/api/v1/etias/carrier-checks", json=q, headers=key).json()["answer"] == "NOT_OK"
    with unit_of_work(server.engine) as s:
        clients.revoke(s, "U2", datetime.now(UTC))
    r = server.http.post("/api/v1/etias/carrier-checks", json=q, headers=key)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    with unit_of_work(server.engine, readonly=True) as s:
        logged = s.execute(select(Log.authority, Log.purpose, Log.detail).where(Log.operation == "carrier_check")).all()
    assert [(a, p, d["answer"]) for a, p, d in logged] == [("carrier:U2", "ETIAS Art. 45", "NOT_OK")]
