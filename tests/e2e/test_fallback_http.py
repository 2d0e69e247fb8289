"""EES Art. 21 fall-back over real HTTP: a crossing point records while the link is down, uploads when it
returns; nothing lost (not even on SIGKILL), nothing doubled (not even on a crash after the centre's commit),
conflicts reported without blocking other travellers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from smartborders.fallback import FallbackClient, Queue
from smartborders.fallback import queue as queue_mod
from tests.e2e.conftest import free_port
from tests.ees.factory import START, Traveller


@pytest.fixture
def down() -> str:
    """A loopback port nobody listens on: connection refused, the link is down."""
    return f"http://127.0.0.1:{free_port()}"


def records(server, file_id: str) -> list[dict]:
    r = server.http.get(f"/api/v1/files/{file_id}")
    assert r.status_code == 200, r.text
    return r.json()["records"]


def same_instant(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


def test_link_down_queue_then_upload_once(server, down, tmp_path: Path):
    """Queued while down (durable across a new client object), uploaded with fallback=True and the
    crossing times as recorded, and a second flush doubles nothing."""
    qfile = tmp_path / "bcp.queue"
    a, b = Traveller(), Traveller()
    with FallbackClient(down, qfile, clock=server.clock, token=server.bcp_key(), timeout=2) as offline:
        ra = offline.record_entry(a.entry())
        server.clock.advance(timedelta(minutes=7))
        rb = offline.record_entry(b.entry())
        server.clock.advance(timedelta(hours=2))
        rx = offline.record_exit(a.exit())
    assert [r.status for r in (ra, rb, rx)] == ["queued"] * 3 and all(r.fallback for r in (ra, rb, rx))
    assert same_instant(ra.at, START.isoformat()) and same_instant(rx.at, (START + timedelta(minutes=127)).isoformat())

    server.clock.advance(timedelta(hours=5))  # uploaded hours after the crossings
    with FallbackClient(server.url, qfile, clock=server.clock, token=server.bcp_key()) as online:  # a new object: read from the file
        assert online.status()["queued"] == 3
        report = online.flush()
        assert [u["client_id"] for u in report.uploaded] == [ra.client_id, rb.client_id, rx.client_id]
        assert not report.conflicted and not report.replayed and report.remaining == 0 and report.stopped is None
        file_a = report.uploaded[0]["result"]["file_id"]
        [rec] = records(server, file_a)
        assert rec["fallback"] is True and same_instant(rec["entry_at"], ra.at) and same_instant(rec["exit_at"], rx.at)
        [rec_b] = records(server, report.uploaded[1]["result"]["file_id"])
        assert rec_b["fallback"] is True and same_instant(rec_b["entry_at"], rb.at) and rec_b["exit_at"] is None

        again = online.flush()
        assert again.uploaded == again.replayed == again.conflicted == [] and again.remaining == 0
        # the crossing point replays its own write: still one record
        assert online.record_entry(a.entry(client_id=ra.client_id)).status == "recorded"
        assert len(records(server, file_a)) == 1
        assert online.status() | {"oldest_queued_at": None} == {"queued": 0, "conflicts": 0, "uploaded": 3,
                                                                 "held": 0, "oldest_queued_at": None}


def test_online_when_up_and_queued_behind_own_queue(server, down, tmp_path: Path):
    qfile = tmp_path / "q"
    t = Traveller()
    with FallbackClient(server.url, qfile, clock=server.clock, token=server.bcp_key()) as c:
        r = c.record_entry(t.entry())
        assert r.status == "recorded" and r.fallback is False and r.result["file_created"]
    u = Traveller()
    with FallbackClient(down, qfile, clock=server.clock, token=server.bcp_key()) as c:
        assert c.record_entry(u.entry()).status == "queued"
    server.clock.advance(timedelta(hours=1))
    with FallbackClient(server.url, qfile, clock=server.clock, token=server.bcp_key()) as c:
        # the link is up, but u's entry is still queued: u's exit must not overtake it
        behind = c.record_exit(u.exit())
        assert behind.status == "queued" and "behind" in behind.reason
        report = c.flush()
        assert [x["kind"] for x in report.uploaded] == ["entry", "exit"]
        [rec] = records(server, report.uploaded[0]["result"]["file_id"])
        assert rec["exit_at"] is not None and rec["fallback"] is True


def test_crash_after_central_commit_replays_and_doubles_nothing(server, down, tmp_path: Path, monkeypatch):
    qfile = tmp_path / "q"
    t = Traveller()
    with FallbackClient(down, qfile, clock=server.clock, token=server.bcp_key()) as c:
        r = c.record_entry(t.entry())
    real_delete = queue_mod.Queue._delete
    crashed = []

    def crash_once(self, db, seq):
        if not crashed:
            crashed.append(seq)
            raise OSError("simulated crash between the centre's commit and the local delete")
        return real_delete(self, db, seq)

    monkeypatch.setattr(queue_mod.Queue, "_delete", crash_once)
    with FallbackClient(server.url, qfile, clock=server.clock, token=server.bcp_key()) as c:
        with pytest.raises(OSError, match="simulated crash"):
            c.flush()
        assert c.status()["queued"] == 1 and c.status()["uploaded"] == 0  # the local transaction rolled back
    with FallbackClient(server.url, qfile, clock=server.clock, token=server.bcp_key()) as c:
        report = c.flush()
        assert report.uploaded == [] and [x["client_id"] for x in report.replayed] == [r.client_id]
    file_id = report.replayed[0]["result"]["file_id"]
    assert len(records(server, file_id)) == 1


class _LoseAnswer(httpx.BaseTransport):
    """Forwards the request to the real server, then loses its answer: the centre committed, the client
    timed out (the ambiguous case)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.inner.handle_request(request).read()
        raise httpx.ReadTimeout("answer lost", request=request)


def test_online_attempt_committed_but_answer_lost(server, tmp_path: Path):
    """Queued with fallback=True after a timeout, though the centre had recorded the online attempt: the
    upload meets client-id-reused, replays the online request exactly, and gets its first answer."""
    qfile = tmp_path / "q"
    t = Traveller()
    lossy = httpx.Client(base_url=server.url, transport=_LoseAnswer())
    with FallbackClient(server.url, qfile, clock=server.clock, token=server.bcp_key(), http=lossy) as c:
        r = c.record_entry(t.entry())
        assert r.status == "queued" and r.reason.startswith("no answer")
    with FallbackClient(server.url, qfile, clock=server.clock, token=server.bcp_key()) as c:
        report = c.flush()
    assert [x["client_id"] for x in report.replayed] == [r.client_id] and not report.conflicted
    [rec] = records(server, report.replayed[0]["result"]["file_id"])
    assert rec["fallback"] is False  # recorded online, before the answer was lost: the centre's record stands


def test_conflict_reported_held_and_rest_uploads(server, down, tmp_path: Path):
    qfile = tmp_path / "q"
    inside, other = Traveller(), Traveller()
    assert server.http.post("/api/v1/border/entries",
                            json=inside.entry().model_dump(mode="json")).status_code == 201
    server.clock.advance(timedelta(hours=1))
    with FallbackClient(down, qfile, clock=server.clock, token=server.bcp_key()) as c:
        bad = c.record_entry(inside.entry())  # already inside: the centre will refuse it
        good = c.record_entry(other.entry())
        server.clock.advance(timedelta(hours=1))
        later = c.record_exit(inside.exit())  # after the conflicted entry: held, never sent before it
    with FallbackClient(server.url, qfile, clock=server.clock, token=server.bcp_key()) as c:
        report = c.flush()
        assert [x["client_id"] for x in report.conflicted] == [bad.client_id]
        assert report.conflicted[0]["status"] == 409
        assert report.conflicted[0]["problem"]["type"] == "/problems/already-inside"
        assert [x["client_id"] for x in report.uploaded] == [good.client_id]
        assert [x["client_id"] for x in report.held] == [later.client_id] and report.remaining == 1
        st = c.status()
        assert (st["queued"], st["held"], st["conflicts"], st["uploaded"]) == (1, 1, 1, 1)
        assert c.flush().conflicted == []  # never retried
        assert c.queue.dismiss(bad.client_id)  # an operator dealt with it
        released = c.flush()
        assert [x["client_id"] for x in released.uploaded] == [later.client_id]
    file_id = released.uploaded[0]["result"]["file_id"]
    [rec] = records(server, file_id)
    assert rec["exit_at"] is not None and rec["fallback"] is True and rec["entry_bcp"] == "NL-AMS"


def test_refusal_in_fallback(server, down, tmp_path: Path):
    qfile = tmp_path / "q"
    t = Traveller()
    cmd = {"client_id": "refusal-0001", "bcp": "NL-AMS", "authority": "NL-KMAR",
           "document": t.document.model_dump(mode="json"), "identity": t.identity.model_dump(mode="json"),
           "reasons": ["C"]}
    with FallbackClient(down, qfile, clock=server.clock, token=server.bcp_key()) as c:
        assert c.record_refusal(cmd).status == "queued"
    with FallbackClient(server.url, qfile, clock=server.clock, token=server.bcp_key()) as c:
        report = c.flush()
    [up] = report.uploaded
    refusals = server.http.get(f"/api/v1/files/{up['result']['file_id']}").json()["refusals"]
    assert len(refusals) == 1 and refusals[0]["reasons"] == ["C"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from smartborders.cli import app; app()", *args]


def test_sigkill_right_after_queued_loses_nothing(server, down, tmp_path: Path):
    """The CLI records while the link is down and is killed (SIGKILL) the moment it printed "queued"."""
    qfile = tmp_path / "bcp.queue"
    travellers = [Traveller() for _ in range(3)]
    ids = []
    for t in travellers:
        body = t.entry(at=START).model_dump_json()
        proc = subprocess.Popen(_cli("fallback", "record-entry", "--queue", str(qfile), "--url", down),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(body)
        proc.stdin.close()
        line = proc.stdout.readline()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        receipt = json.loads(line)
        assert receipt["status"] == "queued", (line, proc.stderr.read() if proc.stderr else "")
        ids.append(receipt["client_id"])
    with Queue(qfile) as q:
        assert [i.client_id for i in q.items()] == ids
    flushed = subprocess.run(_cli("fallback", "flush", "--queue", str(qfile), "--url", server.url,
                                  "--token", server.bcp_key()),
                             check=False, capture_output=True, text=True, timeout=60)
    assert flushed.returncode == 0, flushed.stderr
    report = json.loads(flushed.stdout)
    assert [u["client_id"] for u in report["uploaded"]] == ids
    for u in report["uploaded"]:
        [rec] = records(server, u["result"]["file_id"])
        assert rec["fallback"] is True and same_instant(rec["entry_at"], START.isoformat())
    status = subprocess.run(_cli("fallback", "status", "--queue", str(qfile)), check=True, capture_output=True,
                            text=True, timeout=60)
    assert json.loads(status.stdout)["uploaded"] == 3 and json.loads(status.stdout)["queued"] == 0
