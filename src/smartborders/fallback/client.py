"""The crossing-point client of the EES in fall-back (Art. 21): online when it can, queued when it cannot.

`record_*` tries the central system first; when it cannot be reached (connection refused or reset,
timeout, 502/503/504) the crossing goes to the durable local queue, marked `fallback` with the real
crossing time, and the guard gets a receipt that says "queued". `flush` uploads the queue in order,
idempotently by client id (the centre answers a replayed id with its first answer), so a crash
between the centre's commit and the local delete doubles nothing.

Ordering, per traveller (issuing state + document number): a crossing is never sent before one of
the same traveller queued earlier. While a traveller has crossings queued, new ones queue behind
them even when the link is up; when one conflicts, the traveller's later ones are held in the queue
(reported as held, not sent) until an operator dismisses the conflict. Other travellers go on.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

import httpx
from pydantic import BaseModel

from smartborders.core.clock import Clock, SystemClock
from smartborders.ees import schemas as S
from smartborders.fallback.queue import Item, Queue

Kind = Literal["entry", "exit", "refusal"]
PATHS: dict[str, str] = {"entry": "/api/v1/border/entries", "exit": "/api/v1/border/exits",
                         "refusal": "/api/v1/border/refusals"}
COMMANDS: dict[str, type[S.Crossing]] = {"entry": S.EntryCommand, "exit": S.ExitCommand,
                                         "refusal": S.RefusalCommand}
# The centre did not answer this write: it may come back. 500 too (a restarting database), but only
# `max_failures` times per item, so a request that always breaks the centre cannot stall the queue.
UNAVAILABLE = frozenset({408, 429, 500, 502, 503, 504})
# Sent, and the answer lost: the centre may have committed it.
_AMBIGUOUS = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
CLIENT_ID_REUSED = "/problems/client-id-reused"


class Rejected(Exception):
    """The central system answered, and refused the crossing (problem+json): the guard must act on it."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(problem.get("detail") or problem.get("title") or f"HTTP {status}")
        self.status = status
        self.problem = problem


@dataclass(frozen=True)
class Receipt:
    """What the guard is told: recorded by the centre (with its answer), or queued locally."""

    status: Literal["recorded", "queued"]
    kind: str
    client_id: str
    fallback: bool
    at: str | None = None
    seq: int | None = None
    reason: str | None = None
    result: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        return out


@dataclass
class FlushReport:
    uploaded: list[dict[str, Any]] = field(default_factory=list)
    replayed: list[dict[str, Any]] = field(default_factory=list)
    conflicted: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    remaining: int = 0
    stopped: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def traveller_key(cmd: S.Crossing, clock: Clock) -> str:
    """The per-traveller ordering key: the travel document (issuing state and number)."""
    doc = getattr(cmd, "document", None)
    if doc is not None:
        return f"{doc.issuing_state}/{doc.number}"
    from smartborders.travel.mrz import MrzUnreadable, parse_mrz

    try:
        read = parse_mrz(cmd.mrz or "", today=clock.now().date())
        return f"{read.issuing_state}/{read.document_number}"
    except MrzUnreadable:
        return "mrz:" + hashlib.sha256("".join((cmd.mrz or "").split()).encode()).hexdigest()[:32]


def _problem(r: httpx.Response) -> dict[str, Any]:
    try:
        body = r.json()
        if isinstance(body, dict):
            return body
    except ValueError:
        pass
    return {"type": "about:blank", "status": r.status_code, "title": r.reason_phrase, "detail": r.text[:500]}


class FallbackClient:
    """One crossing point's link to the central EES, with its fall-back queue."""

    def __init__(self, url: str, queue: Queue | str | Path, *, token: str | None = None, clock: Clock | None = None,
                 timeout: float = 5.0, max_failures: int = 10, http: httpx.Client | None = None) -> None:
        self.queue = queue if isinstance(queue, Queue) else Queue(queue)
        self.clock = clock or SystemClock()
        self.max_failures = max_failures
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = http or httpx.Client(base_url=url, headers=headers,
                                         timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)))
        self.http.headers.update(headers)  # the crossing point's key (core/clients.py), on a given client too
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._uploader: threading.Thread | None = None

    def close(self) -> None:
        self.stop_uploader()
        self.http.close()
        self.queue.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- recording ---------------------------------------------------------------------------------

    def record_entry(self, cmd: S.EntryCommand | dict[str, Any]) -> Receipt:
        return self.record("entry", cmd)

    def record_exit(self, cmd: S.ExitCommand | dict[str, Any]) -> Receipt:
        return self.record("exit", cmd)

    def record_refusal(self, cmd: S.RefusalCommand | dict[str, Any]) -> Receipt:
        return self.record("refusal", cmd)

    def record(self, kind: Kind, cmd: BaseModel | dict[str, Any]) -> Receipt:
        """Record one crossing: online, else in the queue (durable when this returns). Raises `Rejected`
        when the centre refuses it, pydantic's ValidationError when the command is malformed."""
        model = COMMANDS[kind]
        command = cmd if isinstance(cmd, model) else model.model_validate(
            cmd.model_dump() if isinstance(cmd, BaseModel) else cmd)
        seen = self.queue.find(command.client_id)
        if seen is not None:  # the crossing point replays its own write: answer as the first time
            where, seq = seen
            if where == "conflict":
                first = next(c for c in self.queue.conflicts() if c["client_id"] == command.client_id)
                raise Rejected(first["status"] or 409, first["problem"])
            return Receipt("queued" if where == "queued" else "recorded", kind, command.client_id, True, seq=seq,
                           reason=f"already {where}")
        traveller = traveller_key(command, self.clock)
        if self.queue.blocked(traveller):
            return self._enqueue(kind, command, traveller, None, "behind this traveller's queued crossings")
        body = command.model_dump(mode="json")
        try:
            r = self.http.post(PATHS[kind], json=body)
        except _AMBIGUOUS as exc:
            return self._enqueue(kind, command, traveller, body, f"no answer: {type(exc).__name__}")
        except httpx.TransportError as exc:  # refused, unreachable, connect timeout: never sent
            return self._enqueue(kind, command, traveller, None, f"unreachable: {type(exc).__name__}")
        if r.status_code in UNAVAILABLE:
            return self._enqueue(kind, command, traveller, body, f"central system answered {r.status_code}")
        if r.status_code != 201:
            raise Rejected(r.status_code, _problem(r))
        return Receipt("recorded", kind, command.client_id, command.fallback,
                       at=command.at.isoformat() if command.at else None, result=r.json())

    def _enqueue(self, kind: str, command: S.Crossing, traveller: str, online_body: dict[str, Any] | None,
                 reason: str) -> Receipt:
        # Art. 21(3): the record says it was made in fall-back, at the time of the crossing, not of upload.
        marked = command.model_copy(update={"fallback": True, "at": command.at or self.clock.now()})
        body = marked.model_dump(mode="json")
        seq = self.queue.put(client_id=command.client_id, kind=kind, traveller=traveller, body=body,
                             online_body=online_body)
        return Receipt("queued", kind, command.client_id, True, at=body["at"], seq=seq, reason=reason)

    # ---- uploading ---------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        counts = self.queue.counts()
        held = self.queue.held_by()
        counts["held"] = sum(1 for i in self.queue.items() if i.traveller in held and i.seq > held[i.traveller])
        counts["oldest_queued_at"] = self.queue.oldest_queued_at()  # type: ignore[assignment]
        return counts

    def flush(self, max_items: int | None = None) -> FlushReport:
        """Upload the queue in order. Stops at the first sign the link is down again (the rest keeps its
        order for the next flush); a refused crossing goes to the conflicts table and is reported."""
        report = FlushReport()
        with self._flushing:
            held = self.queue.held_by()
            sent = 0
            for item in self.queue.items():
                if item.traveller in held and item.seq > held[item.traveller]:
                    report.held.append(self._line(item, held_behind=held[item.traveller]))
                    continue
                if max_items is not None and sent >= max_items:
                    break
                sent += 1
                outcome = self._upload(item, report)
                if outcome == "conflict":
                    held.setdefault(item.traveller, item.seq)
                elif outcome == "stop":
                    break
            report.remaining = self.queue.counts()["queued"]
        return report

    def _upload(self, item: Item, report: FlushReport) -> str:
        replay = item.sends > 0 or item.online_body is not None
        self.queue.mark_sent(item.seq)
        try:
            r = self.http.post(PATHS[item.kind], json=item.body)
            if (r.status_code == 409 and item.online_body is not None
                    and _problem(r).get("type") == CLIENT_ID_REUSED):
                # The online attempt reached the centre after all (its answer was lost): that first
                # request is the one recorded; replaying it exactly returns its answer.
                r = self.http.post(PATHS[item.kind], json=item.online_body)
        except httpx.TransportError as exc:
            self.queue.mark_failed(item.seq, f"{type(exc).__name__}: {exc}")
            report.stopped = f"link down at #{item.seq}: {type(exc).__name__}"
            return "stop"
        if r.status_code == 201:
            result = r.json()
            self.queue.done(item, result, replayed=replay)
            (report.replayed if replay else report.uploaded).append(self._line(item, result=result))
            return "ok"
        if r.status_code in (401, 403):  # configuration, not the crossing: keep it and say so
            self.queue.mark_failed(item.seq, f"HTTP {r.status_code}")
            report.stopped = f"not authorised (HTTP {r.status_code}): check the client key"
            return "stop"
        if r.status_code in UNAVAILABLE:
            failures = self.queue.mark_failed(item.seq, f"HTTP {r.status_code}")
            if r.status_code == 500 and failures >= self.max_failures:
                self._conflict(item, r.status_code, _problem(r), report)
                return "conflict"
            report.stopped = f"central system answered {r.status_code} at #{item.seq}"
            return "stop"
        self._conflict(item, r.status_code, _problem(r), report)
        return "conflict"

    def _conflict(self, item: Item, status: int, problem: dict[str, Any], report: FlushReport) -> None:
        self.queue.conflict(item, status, problem)
        report.conflicted.append(self._line(item, status=status, problem=problem))

    @staticmethod
    def _line(item: Item, **extra: Any) -> dict[str, Any]:
        return {"seq": item.seq, "client_id": item.client_id, "kind": item.kind, "at": item.body.get("at"), **extra}

    # ---- background uploader -------------------------------------------------------------------------

    def start_uploader(self, interval: float = 5.0, max_backoff: float = 300.0) -> None:
        """Flush every `interval` seconds while there is work; back off (doubling, up to `max_backoff`)
        while the link stays down."""
        if self._uploader is not None:
            return
        self._stop.clear()

        def run() -> None:
            wait = interval
            while not self._stop.wait(wait):
                try:
                    report = self.flush()
                except Exception:  # noqa: BLE001 - the uploader must outlive a bad moment; the queue keeps all
                    report = FlushReport(stopped="error")
                wait = min(wait * 2, max_backoff) if report.stopped else interval

        self._uploader = threading.Thread(target=run, name="fallback-uploader", daemon=True)
        self._uploader.start()

    def stop_uploader(self) -> None:
        if self._uploader is not None:
            self._stop.set()
            self._uploader.join(timeout=30)
            self._uploader = None
