"""The fall-back client against a scripted central system (httpx.MockTransport): the durable queue, what
counts as "unreachable", ordering per traveller, conflicts, the uploader, and the CLI's contract."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from smartborders.cli import app
from smartborders.fallback import FallbackClient, Queue, Rejected
from smartborders.fallback.client import traveller_key
from smartborders.travel.mrz import generate_td3
from tests.ees.factory import START, Traveller, clock


class Centre:
    """A scripted central EES: `answers` is consumed one per request; afterwards, 201 with an echo."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.seen: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.seen.append(body)
        answer = self.answers.pop(0) if self.answers else 201
        if isinstance(answer, Exception):
            raise answer
        if answer == 201:
            return httpx.Response(201, json={"record_id": "r-" + body["client_id"], "file_id": "f"})
        slug = {409: "already-inside", 422: "invalid-input", 401: "unauthenticated"}.get(answer, "unavailable")
        return httpx.Response(answer, json={"type": f"/problems/{slug}", "status": answer, "detail": slug},
                              headers={"content-type": "application/problem+json"})


def client(path: Path, centre: Callable, **kw) -> FallbackClient:
    http = httpx.Client(base_url="http://centre.test", transport=httpx.MockTransport(centre))
    return FallbackClient("http://centre.test", path, clock=clock(), http=http, **kw)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def test_queue_file_is_wal_with_full_sync_and_survives_reopening(tmp_path: Path):
    q = tmp_path / "q"
    with client(q, refused) as c:
        r = c.record_entry(Traveller().entry())
    assert r.status == "queued" and r.fallback and r.at.startswith("2026-04-10T09:00")
    raw = sqlite3.connect(q)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    [(body,)] = raw.execute("SELECT body FROM queued").fetchall()
    assert json.loads(body)["fallback"] is True
    raw.close()
    with Queue(q) as again:
        assert again._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: fsync on every commit
        assert [i.client_id for i in again.items()] == [r.client_id]


@pytest.mark.parametrize("failure", [
    httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.ReadTimeout("no answer"),
    httpx.RemoteProtocolError("reset"), 502, 503, 504,
], ids=["refused", "connect-timeout", "read-timeout", "reset", "502", "503", "504"])
def test_unreachable_means_queued(tmp_path: Path, failure):
    centre = Centre(failure)
    with client(tmp_path / "q", centre) as c:
        r = c.record_entry(Traveller().entry())
        assert r.status == "queued"
        [item] = c.queue.items()
        ambiguous = not isinstance(failure, (httpx.ConnectError, httpx.ConnectTimeout))  # else never sent
        assert (item.online_body is not None) == ambiguous
        assert c.flush().replayed if ambiguous else c.flush().uploaded


def test_a_refusal_by_the_centre_is_raised_not_queued(tmp_path: Path):
    with client(tmp_path / "q", Centre(409)) as c:
        with pytest.raises(Rejected) as exc:
            c.record_entry(Traveller().entry())
        assert exc.value.status == 409 and exc.value.problem["type"] == "/problems/already-inside"
        assert c.status()["queued"] == 0


def test_recorded_online_and_replayed_locally(tmp_path: Path):
    centre = Centre()
    t = Traveller()
    with client(tmp_path / "q", centre) as c:
        r = c.record_entry(t.entry())
        assert r.status == "recorded" and r.result["record_id"] == "r-" + r.client_id and r.fallback is False
    with client(tmp_path / "q", refused) as c:
        cmd = t.entry()
        assert c.record_entry(cmd).status == "queued"
        assert c.record_entry(cmd).reason == "already queued"  # the same client id is queued once
        assert c.status()["queued"] == 1


def test_flush_stops_when_the_link_drops_again_and_keeps_the_order(tmp_path: Path):
    q = tmp_path / "q"
    with client(q, refused) as c:
        ids = [c.record_entry(Traveller().entry()).client_id for _ in range(4)]
    centre = Centre(201, httpx.ConnectError("down again"))
    with client(q, centre) as c:
        report = c.flush()
        assert [u["client_id"] for u in report.uploaded] == ids[:1]
        assert report.stopped.startswith("link down") and report.remaining == 3
        assert [i.client_id for i in c.queue.items()] == ids[1:]
        report = c.flush()
        assert [u["client_id"] for u in report.replayed] == ids[1:2]  # sent once before: maybe committed
        assert [u["client_id"] for u in report.uploaded] == ids[2:]


def test_not_authorised_keeps_the_queue(tmp_path: Path):
    q = tmp_path / "q"
    with client(q, refused) as c:
        c.record_entry(Traveller().entry())
    with client(q, Centre(401), token="k") as c:
        report = c.flush()
        assert "not authorised" in report.stopped and report.remaining == 1 and c.status()["conflicts"] == 0


def test_a_request_that_always_breaks_the_centre_becomes_a_conflict(tmp_path: Path):
    q = tmp_path / "q"
    with client(q, refused) as c:
        bad, good = (c.record_entry(Traveller().entry()).client_id for _ in range(2))
    with client(q, Centre(500, 500, 500), max_failures=3) as c:
        for _ in range(2):
            assert c.flush().stopped.startswith("central system answered 500")
        report = c.flush()
        assert [x["client_id"] for x in report.conflicted] == [bad]
        assert [x["client_id"] for x in report.uploaded] == [good]


def test_conflict_holds_only_that_travellers_later_crossings(tmp_path: Path):
    q = tmp_path / "q"
    a, b = Traveller(), Traveller()
    with client(q, refused) as c:
        entry_a = c.record_entry(a.entry())
        entry_b = c.record_entry(b.entry())
        exit_a = c.record_exit(a.exit())
        exit_b = c.record_exit(b.exit())
    with client(q, Centre(409)) as c:
        report = c.flush()
        assert [x["client_id"] for x in report.conflicted] == [entry_a.client_id]
        assert [x["client_id"] for x in report.uploaded] == [entry_b.client_id, exit_b.client_id]
        assert [x["client_id"] for x in report.held] == [exit_a.client_id]
        [conflict] = c.queue.conflicts()
        assert conflict["problem"]["type"] == "/problems/already-inside" and conflict["command"]["fallback"]


def test_traveller_key_is_the_document_whether_typed_or_read_from_the_mrz():
    mrz = generate_td3(document_type="P", issuing_state="CAN", surname="Tremblay", given_names="Marie",
                       document_number="AB1234567", nationality="CAN", birth_date=date(1990, 2, 3), sex="F",
                       expiry_date=date(2030, 1, 1))
    t = Traveller("CAN")
    by_mrz = t.exit().model_copy(update={"document": None, "mrz": mrz})
    by_doc = t.exit().model_copy(update={"document": t.document.model_copy(update={"number": "AB1234567"})})
    assert traveller_key(by_mrz, clock()) == traveller_key(by_doc, clock()) == "CAN/AB1234567"


def test_background_uploader_backs_off_then_drains(tmp_path: Path):
    q = tmp_path / "q"
    with client(q, refused) as c:
        for _ in range(3):
            c.record_entry(Traveller().entry())
    centre = Centre(httpx.ConnectError("down"), httpx.ConnectError("down"))
    with client(q, centre) as c:
        c.start_uploader(interval=0.02, max_backoff=0.1)
        deadline = time.monotonic() + 10
        while c.status()["queued"] and time.monotonic() < deadline:
            time.sleep(0.02)
        c.stop_uploader()
        assert c.status()["queued"] == 0 and c.status()["uploaded"] == 3


def test_cli_bad_input_exits_2(tmp_path: Path):
    runner = CliRunner()
    q = str(tmp_path / "q")
    for stdin in ["not json", "{}", json.dumps({"client_id": "x", "bcp": "NL-AMS", "authority": "NL-KMAR"})]:
        r = runner.invoke(app, ["fallback", "record-entry", "--queue", q, "--url", "http://127.0.0.1:9"], input=stdin)
        assert r.exit_code == 2, r.output
    r = runner.invoke(app, ["fallback", "status", "--queue", str(tmp_path / "absent")])
    assert r.exit_code == 2 and "no fall-back queue" in r.output


def test_cli_status_and_conflicts(tmp_path: Path):
    q = tmp_path / "q"
    with client(q, refused) as c:
        cid = c.record_entry(Traveller().entry()).client_id
    with client(q, Centre(409)) as c:
        c.flush()
    runner = CliRunner()
    status = json.loads(runner.invoke(app, ["fallback", "status", "--queue", str(q)]).stdout)
    assert status["conflicts"] == 1 and status["queued"] == 0
    with client(q, refused) as c, pytest.raises(Rejected):  # replaying a conflicted id answers its problem
        c.record_entry(json.loads(json.dumps(c.queue.conflicts()[0]["command"])) | {"fallback": False})
    listed = json.loads(runner.invoke(app, ["fallback", "conflicts", "--queue", str(q)]).stdout)
    assert [x["client_id"] for x in listed["conflicts"]] == [cid]
    assert runner.invoke(app, ["fallback", "conflicts", "--queue", str(q), "--dismiss", cid]).exit_code == 0
    assert runner.invoke(app, ["fallback", "conflicts", "--queue", str(q), "--dismiss", cid]).exit_code == 2


def test_crossing_time_is_the_clock_at_recording(tmp_path: Path):
    with client(tmp_path / "q", refused) as c:
        r = c.record_entry(Traveller().entry(at=START))
    assert r.at.startswith("2026-04-10T09:00:00")
