"""The EES over real HTTP: whole journeys, and a precise problem+json for every kind of bad input."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from smartborders.travel.mrz import generate_td3

from datetime import date


def cid() -> str:
    return uuid.uuid4().hex


def traveller(n: int = 1, nationality: str = "USA") -> dict:
    return {
        "document": {"document_type": "P", "number": f"E2E{n:06d}", "issuing_state": nationality,
                     "expiry_date": "2031-01-01"},
        "identity": {"surname": "DOE", "given_names": f"JAN {chr(64 + n)}", "birth_date": "1985-05-05", "sex": "F",
                     "nationality": nationality},
    }


def entry(t: dict, **kw) -> dict:
    return {"client_id": cid(), "bcp": "NL-AMS", "authority": "NL-KMAR", **t, **kw}


def exit_(t: dict, **kw) -> dict:
    return {"client_id": cid(), "bcp": "FR-CDG", "authority": "FR-PAF", "document": t["document"], **kw}


def assert_problem(r, status: int, slug: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == f"/problems/{slug}" and body["status"] == status and body["detail"]
    return body


def test_a_travellers_year(server):
    """Three trips in one year, the clock moved by the test; the third breaks the rule."""
    http, clock, t = server.http, server.clock, traveller(1)
    r = http.post("/api/v1/border/entries", json=entry(t))
    assert r.status_code == 201, r.text
    assert r.json()["authorised_until"] == "2026-07-08" and r.json()["file_created"]
    clock.advance(timedelta(days=44))
    assert http.post("/api/v1/border/exits", json=exit_(t)).json()["overstay"] is False
    clock.advance(timedelta(days=30))
    second = http.post("/api/v1/border/entries", json=entry(t)).json()
    assert second["max_stay_days"] == 45 and not second["file_created"]
    clock.advance(timedelta(days=44))
    http.post("/api/v1/border/exits", json=exit_(t))
    clock.advance(timedelta(days=10))
    check = http.post("/api/v1/border/checks", json={"direction": "entry", "bcp": "DE-FRA",
                                                     "document": t["document"]}).json()
    assert check["stay"]["max_stay_days"] == 0
    assert [f["code"] for f in check["findings"]] == ["no-authorised-stay"]
    assert check["findings"][0]["refusal_reason"] == "F"
    body = assert_problem(http.post("/api/v1/border/entries", json=entry(t, bcp="DE-FRA")), 409, "no-authorised-stay")
    assert body["refusal_reason"] == "F"
    refused = http.post("/api/v1/border/refusals", json={"client_id": cid(), "bcp": "DE-FRA", "authority": "DE-BPOL",
                                                          "document": t["document"], "reasons": ["F"]})
    assert refused.status_code == 201 and refused.json()["biometrics_stored"] is False
    file = http.get(f"/api/v1/files/{second['file_id']}").json()
    assert len(file["records"]) == 2 and file["refusals"][0]["reasons"] == ["F"]
    stats = http.get("/api/v1/statistics", params={"date_from": "2026-01-01", "date_to": "2026-12-31",
                                                   "group_by": ["bcp"]}).json()
    by_bcp = {row["bcp"]: row for row in stats["rows"]}
    assert by_bcp["NL-AMS"]["entries"] == 2 and by_bcp["FR-CDG"]["exits"] == 2
    assert by_bcp["DE-FRA"]["refusals_by_reason"] == {"F": 1}


def test_entry_by_mrz(server):
    zone = generate_td3(document_type="P", issuing_state="CAN", surname="Tremblay", given_names="Marie Ève",
                        document_number="AB1234567", nationality="CAN", birth_date=date(1990, 2, 3), sex="F",
                        expiry_date=date(2030, 1, 1))
    r = server.http.post("/api/v1/border/entries", json={"client_id": cid(), "bcp": "NL-AMS", "authority": "NL-KMAR",
                                                         "mrz": zone})
    assert r.status_code == 201, r.text
    found = server.http.post("/api/v1/border/searches", json={"document": {
        "document_type": "P", "number": "AB1234567", "issuing_state": "CAN"}}).json()
    assert found["found"] and found["file"]["given_names"] == "MARIE EVE"
    tampered = zone[:-2] + ("1" if zone[-2] != "1" else "2") + zone[-1]
    body = assert_problem(server.http.post("/api/v1/border/entries", json={
        "client_id": cid(), "bcp": "NL-AMS", "authority": "NL-KMAR", "mrz": tampered}), 422, "invalid-mrz")
    assert "composite" in body["errors"]


def test_replay_returns_the_first_answer(server):
    t = traveller(2)
    body = entry(t)
    first = server.http.post("/api/v1/border/entries", json=body)
    server.clock.advance(timedelta(minutes=3))
    again = server.http.post("/api/v1/border/entries", json=body)
    assert again.status_code == 201 and again.json() == first.json()


@pytest.mark.parametrize(
    "path, payload, status, slug",
    [
        ("/api/v1/border/exits", lambda t: exit_(t), 404, "unknown-document"),
        ("/api/v1/border/entries", lambda t: entry(t, bcp="XX-NOWHERE"), 422, "unknown-crossing-point"),
        ("/api/v1/border/entries", lambda t: entry(t, at="2027-01-01T00:00:00Z"), 422, "time-in-the-future"),
        ("/api/v1/border/entries", lambda t: entry(t, at="2026-04-10T10:00:00"), 422, "invalid-input"),
        ("/api/v1/border/entries", lambda t: {**entry(t), "document": {**t["document"], "expiry_date": 20300101}},
         422, "invalid-input"),
        ("/api/v1/border/entries", lambda t: {**entry(t), "identity": {**t["identity"], "nationality": "DEU"}},
         422, "outside-ees-scope"),
        ("/api/v1/border/entries", lambda t: {**entry(t), "identity": {**t["identity"], "nationality": "ZZZ"}},
         422, "invalid-input"),
        ("/api/v1/border/entries", lambda t: {"client_id": cid(), "bcp": "NL-AMS", "authority": "X",
                                              "mrz": "P<UTO" + "<" * 60}, 422, "invalid-input"),
        ("/api/v1/border/entries", lambda t: {"client_id": cid(), "bcp": "NL-AMS", "authority": "NLK",
                                              "mrz": "X" * 44 + "\n" + "Y" * 44}, 422, "invalid-mrz"),
        ("/api/v1/border/refusals", lambda t: {**entry(t), "reasons": ["Z"]}, 422, "invalid-input"),
        ("/api/v1/border/entries", lambda t: {**entry(t, visa=None), "identity": {**t["identity"],
                                                                                  "nationality": "IND"}},
         422, "visa-required"),
    ],
    ids=["exit-unknown-document", "unknown-bcp", "future", "naive-time", "integer-date", "eu-national",
         "unknown-country", "short-mrz", "mrz-garbage", "bad-reason", "visa-required"],
)
def test_bad_input_gets_a_precise_problem_and_writes_nothing(server, path, payload, status, slug):
    t = traveller(3)
    r = server.http.post(path, json=payload(t))
    assert_problem(r, status, slug)
    found = server.http.post("/api/v1/border/searches", json={"document": t["document"]}).json()
    assert found["found"] is False


def test_entry_while_inside_and_exit_without_entry(server):
    t = traveller(4)
    server.http.post("/api/v1/border/entries", json=entry(t))
    assert_problem(server.http.post("/api/v1/border/entries", json=entry(t)), 409, "already-inside")
    server.http.post("/api/v1/border/exits", json=exit_(t))
    assert_problem(server.http.post("/api/v1/border/exits", json=exit_(t)), 409, "exit-without-entry")


def test_unparsable_json_and_unknown_route(server):
    r = server.http.post("/api/v1/border/entries", content=b"{not json", headers={"content-type": "application/json"})
    assert_problem(r, 422, "invalid-input")
    assert_problem(server.http.get("/api/v1/nothing-here"), 404, "not-found")


def test_health_metrics_openapi(server):
    assert server.http.get("/health").json()["status"] == "ok"
    import time

    deadline = time.monotonic() + 10  # the sBMS face index is built on a thread at start
    while not server.http.get("/health").json().get("face_index", "").startswith("ready"):
        assert time.monotonic() < deadline, server.http.get("/health").json()
        time.sleep(0.1)
    server.http.get("/api/v1/files/00000000-0000-0000-0000-000000000000")
    text = server.http.get("/metrics").text
    # Counted per route template and status, with the latency histogram beside it.
    assert 'smartborders_http_requests_total{method="GET",route="/health",status="200"}' in text
    assert 'route="/api/v1/files/{file_id}",status="404"' in text
    assert 'smartborders_http_request_seconds_count{method="GET",route="/health"}' in text
    spec = server.http.get("/openapi.json").json()
    assert "/api/v1/border/entries" in spec["paths"]


def test_web_service_for_travellers_and_carriers(server):
    http, t = server.http, traveller(5)
    ok = http.post("/api/v1/traveller/stay-queries", json={"document": t["document"],
                                                           "intended_entry": "2026-05-01"}).json()
    assert ok["answer"] == "OK" and ok["remaining_days"] == 90
    http.post("/api/v1/border/entries", json=entry(t))
    server.clock.advance(timedelta(days=10))
    leaving = http.post("/api/v1/traveller/stay-queries", json={"document": t["document"],
                                                                "intended_exit": "2026-07-08"}).json()
    assert leaving["answer"] == "OK" and leaving["latest_exit"] == "2026-07-08"
    late = http.post("/api/v1/traveller/stay-queries", json={"document": t["document"],
                                                             "intended_exit": "2026-07-09"}).json()
    assert late["answer"] == "NOT OK"


def test_biometrics_over_http(server):
    """A face and a print enrolled at entry; at exit another person's face is a 409 with the check;
    a blurred face a 422 with the gate's reasons; nothing written by either."""
    from tests.specimens import b64, face_png, four_fingers

    t = traveller(25)
    bio = {"face": b64(face_png(5)), "fingerprints": four_fingers(61)}
    r = server.http.post("/api/v1/border/entries", json=entry(t, biometrics=bio))
    assert r.status_code == 201, r.text
    assert r.json()["biometrics"]["enrolled"] is True
    body = assert_problem(server.http.post("/api/v1/border/exits", json=exit_(t, biometrics={
        "face": b64(face_png(6))})), 409, "biometric-mismatch")
    assert body["check"]["face_match"] is False and body["file_id"] == r.json()["file_id"]
    body = assert_problem(server.http.post("/api/v1/border/exits", json=exit_(t, biometrics={
        "fingerprints": {"right_index": b64(face_png(6))}})), 422, "fingerprint-quality")
    assert "no fingerprint found" in body["detail"]
    ok = server.http.post("/api/v1/border/exits", json=exit_(t, biometrics={
        "face": b64(face_png(5)), "fingerprints": {"right_index": four_fingers(61, 2)["right_index"]}}))
    assert ok.status_code == 201, ok.text
    assert ok.json()["biometrics"]["face_match"] is True and ok.json()["biometrics"]["fingers_matched"] == 1


def test_mid_links_over_http(server, ees_url):
    """An ETIAS record in the CIR with the same passport under another identity: the entry answers a
    yellow link, the queue lists it, the border authority verifies it red, and it is not verified twice."""
    from datetime import UTC, datetime

    from smartborders.core.db import make_engine, unit_of_work
    from smartborders.interop import cir

    t = traveller(26)
    engine = make_engine(ees_url)
    with unit_of_work(engine) as s:
        cir.store(s, "ETIAS", "APP-9", cir.Identity("OTHER", "PERSON", None, "M", "USA", t["document"]["number"],
                                                    "USA"), datetime(2026, 1, 1, tzinfo=UTC))
    engine.dispose()
    r = server.http.post("/api/v1/border/entries", json=entry(t))
    assert r.status_code == 201, r.text
    [link] = r.json()["mid_links"]
    assert link["colour"] == "yellow" and link["system"] == "ETIAS"
    queue = server.http.get("/api/v1/mid/links", params={"colour": "yellow", "system": "EES"}).json()
    assert [q["id"] for q in queue] == [link["id"]]
    done = server.http.post(f"/api/v1/mid/links/{link['id']}/verification",
                            json={"colour": "red", "authority": "NL-KMAR", "reason": "the passport is not hers"})
    assert done.status_code == 200, done.text
    assert done.json()["colour"] == "red" and [h["colour_to"] for h in done.json()["history"]] == ["yellow", "red"]
    assert_problem(server.http.post(f"/api/v1/mid/links/{link['id']}/verification",
                                    json={"colour": "white", "authority": "NL-KMAR", "reason": "again"}),
                   409, "link-already-verified")
    assert_problem(server.http.get("/api/v1/mid/links/00000000-0000-0000-0000-000000000000"), 404, "not-found")
