"""An ETIAS application over real HTTP, on both databases."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from tests.etias.factory import application


def test_an_application_over_http(server):
    server.clock.set(datetime(2026, 12, 20, 10, 0, tzinfo=timezone.utc))
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
    server.clock.set(datetime(2026, 12, 20, 10, 0, tzinfo=timezone.utc))
    body = application(document={"number": "K55556666"})
    assert server.http.post("/api/v1/etias/applications", json=body).json()["status"] == "issued"
    q = {"carrier": "LH", "document_number": "K55556666", "issuing_country": "USA", "nationality": "USA",
         "travel_date": "2028-01-15", "entry_state": "DEU"}
    r = server.http.post("/api/v1/etias/carrier-checks", json=q)
    assert r.status_code == 200 and r.json()["answer"] == "OK" and r.json()["obligation_applies"]
    assert server.http.post("/api/v1/etias/carrier-checks", json={**q, "document_number": "K00000000"}).json()[
        "answer"] == "NOT_OK"
    bad = server.http.post("/api/v1/etias/carrier-checks", json={**q, "entry_state": "IRL"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
