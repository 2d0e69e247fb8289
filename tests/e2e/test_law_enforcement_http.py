"""Law-enforcement access over HTTP, on both databases (EES Art. 29-32): an operating unit's reasoned
request reaches data only after its Member State's central access point approved it; the access point
never sees the data; an urgent request is answered at once and verified afterwards; the audit log names
each step's principal. Signed in with real accounts and tokens."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from smartborders.audit.models import AuditEvent
from smartborders.core import auth
from smartborders.core.db import unit_of_work
from tests.ees.factory import Traveller, client_id

TEXT = "the suspect is believed to have entered the Schengen area through Schiphol in May"


def _tokens(server) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    now, out = server.clock.now(), {}
    with unit_of_work(server.engine) as s:
        for user, role, state in (("unit.nl", "law_enforcement", "NLD"), ("cap.nl", "central_access_point", "NLD"),
                                  ("cap.de", "central_access_point", "DEU"), ("guard.nl", "border_guard", None)):
            acc, _ = auth.create_account(s, user, user, [role], now, state=state,
                                         bcp="NL-AMS" if role == "border_guard" else None)
            out[user] = {"Authorization": "Bearer " + auth.issue_token(acc.principal("token"), now)[0]}
    return out


def _request(t: Traveller, urgent: bool = False) -> dict:
    body = {"client_id": client_id(), "case_reference": "ZAAK-2026/0042",
            "offence": {"category": "drug_trafficking", "max_custodial_years": 12}, "reasons": TEXT,
            "specific_case": "case 2026/0042: cocaine import via Rotterdam, one suspect named",
            "contribution_grounds": "the suspect is a third-country national who travels on a US passport",
            "purpose": "consult_known",
            "criteria": {"document": {"number": t.document.number, "issuing_state": t.document.issuing_state}}}
    if urgent:
        body.update(urgent=True, urgency_grounds="an imminent danger to life: a hostage situation reported at 04:10")
    return body


def test_through_the_central_access_point_only(server):
    tok = _tokens(server)
    t = Traveller("USA")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.post("/api/v1/border/entries", headers=tok["guard.nl"],
                         json=t.entry().model_dump(mode="json", exclude_none=True)).status_code == 201
        # The operating unit cannot search the EES itself, only ask.
        assert http.post("/api/v1/border/searches", headers=tok["unit.nl"], json={}).status_code == 403
        r = http.post("/api/v1/law-enforcement/requests", headers=tok["unit.nl"], json=_request(t))
        assert r.status_code == 201, r.text
        rid = r.json()["request"]["id"]
        assert r.json()["data"] in (None, [])  # nothing before approval
        # Another state's access point may not decide; the guard may not even look.
        assert http.get(f"/api/v1/law-enforcement/requests/{rid}", headers=tok["guard.nl"]).status_code == 403
        verdict = {"outcome": "approved", "findings": {"necessary_for_offence": True,
                                                       "necessary_and_proportionate": True,
                                                       "substantial_contribution": True}}
        assert http.post(f"/api/v1/law-enforcement/requests/{rid}/verification", headers=tok["cap.de"],
                         json=verdict).status_code == 403
        queue = http.get("/api/v1/law-enforcement/requests", headers=tok["cap.nl"]).json()
        assert [q["id"] for q in queue] == [rid]
        r = http.post(f"/api/v1/law-enforcement/requests/{rid}/verification", headers=tok["cap.nl"], json=verdict)
        assert r.status_code == 200, r.text
        assert r.json()["request"]["status"] == "released" and not r.json()["data"]  # the CAP sees no data
        r = http.get(f"/api/v1/law-enforcement/requests/{rid}", headers=tok["unit.nl"])
        assert r.status_code == 200 and r.json()["data"], r.text  # the unit gets the file now
        # Urgent: answered at once, verified afterwards; not justified -> the data must be erased.
        u = http.post("/api/v1/law-enforcement/requests", headers=tok["unit.nl"], json=_request(t, urgent=True))
        assert u.status_code == 201 and u.json()["data"], u.text
        uid = u.json()["request"]["id"]
        r = http.post(f"/api/v1/law-enforcement/requests/{uid}/verification", headers=tok["cap.nl"],
                      json={"outcome": "not_justified", "reasons": "no danger to life was shown in the file at all",
                            "findings": {"necessary_for_offence": True, "necessary_and_proportionate": True,
                                         "substantial_contribution": True, "urgency": False}})
        assert r.status_code == 200 and r.json()["request"]["status"] == "erasure_required", r.text
        r = http.post(f"/api/v1/law-enforcement/requests/{uid}/erasure", headers=tok["unit.nl"])
        assert r.status_code == 200 and r.json()["request"]["status"] == "erased", r.text
    with unit_of_work(server.engine, readonly=True) as s:
        rows = [(e.route, e.principal, e.role, e.status, e.purpose) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.route.like("/api/v1/law-enforcement/%")).order_by(AuditEvent.id))]
    assert ("/api/v1/law-enforcement/requests/{request_id}/verification", "cap.nl", "central_access_point", 200) \
        in [r[:4] for r in rows]
    assert all("Art. 3" in r[4] or "law" in r[4].lower() for r in rows), rows
    assert t.document.number not in repr(rows) and "ZAAK" not in repr(rows)
