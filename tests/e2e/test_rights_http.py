"""Data-subject requests (EES Art. 52) over real HTTP, the clock moved past the 7/30/45-day deadlines."""

from __future__ import annotations

import uuid
from datetime import timedelta

BASE = "/api/v1/data-subject-requests"
DAY = timedelta(days=1)


def cid() -> str:
    return uuid.uuid4().hex


def enrol(http, n: int, bcp: str = "NL-AMS") -> dict:
    t = {"document": {"document_type": "P", "number": f"DSR{n:06d}", "issuing_state": "USA"},
         "identity": {"surname": "ROE", "given_names": "SAM", "birth_date": "1979-03-04", "sex": "M",
                      "nationality": "USA"}}
    r = http.post("/api/v1/border/entries", json={"client_id": cid(), "bcp": bcp, "authority": "NL-KMAR", **t})
    assert r.status_code == 201, r.text
    return t


def request(t: dict, kind: str = "access", by: str = "NLD", **kw) -> dict:
    person = {"document": t["document"], "surname": t["identity"]["surname"],
              "birth_date": t["identity"]["birth_date"]}
    return {"client_id": kw.pop("client_id", cid()), "kind": kind, "received_by": by, "authority": "DPO-DESK",
            "person": kw.pop("person", person), **kw}


def assert_problem(r, status: int, slug: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == f"/problems/{slug}" and body["status"] == status
    return body


def test_access_with_confirmations_and_trail(server):
    http = server.http
    t = enrol(http, 1)
    body = request(t)
    r = http.post(BASE, json=body)
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["request"]["answer_due"] == "2026-05-25"  # 10 April + 45 days
    assert "by 2026-05-25" in receipt["confirmation"] and "supervisory authority" in receipt["confirmation"]
    again = http.post(BASE, json=body)
    assert again.status_code == 201 and again.json() == receipt
    rid = receipt["request"]["id"]
    a = http.post(f"{BASE}/{rid}/answer", json={"state": "NLD", "authority": "DPO-DESK", "decision": "granted"})
    assert a.status_code == 200, a.text
    out = a.json()
    assert out["data"]["surname"] == "ROE" and len(out["data"]["records"]) == 1
    assert [e["step"] for e in out["request"]["trail"]] == ["received", "answered"]
    assert http.get(f"{BASE}/{rid}").json()["status"] == "answered"
    assert_problem(http.post(f"{BASE}/{rid}/answer", json={"state": "NLD", "authority": "DPO-DESK",
                                                          "decision": "granted"}), 409,
                   "data-subject-request-wrong-step")


def test_identity_not_proven_looks_the_same_for_a_mismatch_and_an_unknown_document(server):
    http = server.http
    t = enrol(http, 2)
    wrong = request(t, person={"document": t["document"], "surname": "NOTROE", "birth_date": "1979-03-04"})
    unknown = request(t, person={"document": {"document_type": "P", "number": "NOSUCH1", "issuing_state": "USA"},
                                 "surname": "ROE", "birth_date": "1979-03-04"})
    a = assert_problem(http.post(BASE, json=wrong), 422, "identity-not-proven")
    b = assert_problem(http.post(BASE, json=unknown), 422, "identity-not-proven")
    assert a == b


def test_bad_input_and_unknown_requests_are_problems(server):
    http = server.http
    t = enrol(http, 3)
    assert_problem(http.post(BASE, json=request(t, by="GBR")), 422, "invalid-input")
    assert_problem(http.post(BASE, json=request(t, kind="rectification")), 422, "invalid-input")
    assert_problem(http.get(f"{BASE}/{uuid.uuid4()}"), 404, "not-found")
    assert_problem(http.post(f"{BASE}/{uuid.uuid4()}/forwarding", json={"state": "DEU", "authority": "X1"}), 404,
                   "not-found")


def test_forwarded_rectification_and_the_deadlines(server):
    http, clock = server.http, server.clock
    t = enrol(http, 4, bcp="NL-AMS")
    r = http.post(BASE, json=request(t, kind="rectification", by="DEU", changes={"given_names": "SAMUEL"})).json()
    rid, req = r["request"]["id"], r["request"]
    assert (req["responsible_state"], req["contact_due"], req["check_due"]) == ("NLD", "2026-04-17", "2026-05-10")
    clock.advance(7 * DAY)
    f = http.post(f"{BASE}/{rid}/forwarding", json={"state": "DEU", "authority": "BFDI-DESK"})
    assert f.status_code == 200, f.text
    assert f.json()["forwarded_check_due"] == "2026-05-17"
    assert_problem(http.post(f"{BASE}/{rid}/answer", json={"state": "DEU", "authority": "X1", "decision": "granted"}),
                   409, "data-subject-request-wrong-member-state")
    clock.advance(31 * DAY)
    assert http.get(f"{BASE}/{rid}").json()["overdue"] == ["responsible_check"]
    late = http.get(BASE, params={"overdue": "true", "state": "NLD"}).json()
    assert [x["id"] for x in late] == [rid]
    a = http.post(f"{BASE}/{rid}/answer", json={"state": "NLD", "authority": "AP-DESK", "decision": "granted"}).json()
    assert a["changed"] == ["given_names"] and a["request"]["outcome"] == "rectified"
    search = http.post("/api/v1/border/searches", json={"document": t["document"]}).json()
    assert search["file"]["given_names"] == "SAMUEL"


def test_overdue_after_45_days_then_erasure_erases(server):
    http, clock = server.http, server.clock
    t = enrol(http, 5)
    rid = http.post(BASE, json=request(t, kind="erasure")).json()["request"]["id"]
    clock.advance(46 * DAY)
    assert http.get(f"{BASE}/{rid}").json()["overdue"] == ["answer"]
    a = http.post(f"{BASE}/{rid}/answer", json={"state": "NLD", "authority": "AP-DESK", "decision": "granted",
                                               "erasure_basis": "nationality"})
    assert a.status_code == 200, a.text
    assert "erased" in a.json()["confirmation"]
    assert http.post("/api/v1/border/searches", json={"document": t["document"]}).json()["found"] is False
    trail = http.get(f"{BASE}/{rid}").json()["trail"]
    assert [e["step"] for e in trail] == ["received", "answered"] and trail[-1]["note"].endswith("late: answer")


def test_rejection_with_reasons(server):
    http = server.http
    t = enrol(http, 6)
    rid = http.post(BASE, json=request(t, kind="restriction")).json()["request"]["id"]
    assert_problem(http.post(f"{BASE}/{rid}/answer", json={"state": "NLD", "authority": "AP", "decision": "rejected"}),
                   422, "invalid-input")
    a = http.post(f"{BASE}/{rid}/answer", json={"state": "NLD", "authority": "AP", "decision": "rejected",
                                               "reasons": "The data are accurate."}).json()
    assert a["request"]["status"] == "rejected" and "The data are accurate." in a["confirmation"]
    assert "complaint" in a["confirmation"]
