"""A supervisor switches a crossing point's mode over HTTP; a crossing during a suspension is a 409."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.ees.factory import Traveller


def test_a_suspension_over_http(server):
    server.clock.set(datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
    r = server.http.post("/api/v1/bcps/NL-AMS/modes", json={"supervisor": "sup.7", "mode": "suspended",
                                                             "minutes": 45, "reason": "system slow, queue 2 h"})
    assert r.status_code == 201, r.text
    mode_id = r.json()["id"]
    assert server.http.get("/api/v1/bcps/NL-AMS/modes").json()["current"] == "suspended"
    entry = Traveller("USA").entry().model_dump(mode="json", exclude_none=True)
    r = server.http.post("/api/v1/border/entries", json=entry)
    assert r.status_code == 409 and r.json()["type"].endswith("/problems/ees-suspended")
    r = server.http.post(f"/api/v1/bcps/NL-AMS/modes/{mode_id}/end", json={"supervisor": "sup.7"})
    assert r.status_code == 200 and not r.json()["active"]
    assert server.http.post("/api/v1/border/entries", json=entry).status_code == 201
    assert server.http.get("/api/v1/bcps/XX-NOPE/modes").status_code == 404
    server.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    r = server.http.post("/api/v1/bcps/NL-AMS/modes", json={"supervisor": "sup.7", "mode": "no_biometrics",
                                                             "minutes": 30, "reason": "after the window"})
    assert r.status_code == 409 and r.json()["type"].endswith("/problems/ees-derogation-not-in-force")
