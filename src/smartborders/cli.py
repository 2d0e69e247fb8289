"""The `smartborders` command for operators. Commands translate; the rules live in the packages.

Contracts other tools depend on (keep them exactly): `stay` and `mrz` read stdin and print one
JSON object on stdout; bad input prints a message on stderr and exits non-zero.
"""

from __future__ import annotations

import json
import re
import os
import sys
from datetime import date
from typing import Any, NoReturn

import typer

from smartborders.core.errors import InvalidInput, Problem

app = typer.Typer(
    name="smartborders",
    help="smartborders: the EU Entry/Exit System, ETIAS and their interoperability, in the open.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

EXIT_INVALID = 2


@app.callback()
def _setup() -> None:
    """Structured logs on stderr per SMARTBORDERS_LOG_LEVEL / SMARTBORDERS_LOG_JSON; stdout stays data."""
    from pydantic import ValidationError

    from smartborders.core.logging import configure_logging
    from smartborders.core.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"SMARTBORDERS_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        _fail(f"invalid configuration: {problems}")
    configure_logging(settings.log_level, json=settings.log_json)


def _fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _emit(obj: dict[str, Any], pretty: bool) -> None:
    typer.echo(json.dumps(obj, indent=2 if pretty else None, ensure_ascii=False))


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_iso_date(value: Any, where: str) -> date:
    """A calendar date written YYYY-MM-DD, nothing else (no integers, no week dates)."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise InvalidInput(f"{where}: expected a date as \"YYYY-MM-DD\", got {json.dumps(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{where}: {value} is not a calendar date") from None


def stay_request(payload: Any) -> dict[str, Any]:
    """Validate the `stay` contract's input and turn it into arguments of `travel.stay.assess`."""
    from smartborders.travel.stay import Visa

    if not isinstance(payload, dict):
        raise InvalidInput("expected one JSON object with keys stays, date and mode")
    allowed = {"stays", "date", "mode", "visa", "family_member"}
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise InvalidInput(f"unknown key(s) {', '.join(unknown)}; expected stays, date, mode (visa, family_member)")
    for key in ("stays", "date", "mode"):
        if key not in payload:
            raise InvalidInput(f"missing key {key!r}")
    raw = payload["stays"]
    if not isinstance(raw, list):
        raise InvalidInput("stays: expected a list of [entry, exit] pairs")
    stays = []
    for i, pair in enumerate(raw):
        if not isinstance(pair, list) or len(pair) != 2:
            raise InvalidInput(f"stays[{i}]: expected [\"YYYY-MM-DD\", \"YYYY-MM-DD\"], got {json.dumps(pair)}")
        stays.append((parse_iso_date(pair[0], f"stays[{i}][0]"), parse_iso_date(pair[1], f"stays[{i}][1]")))
    on = parse_iso_date(payload["date"], "date")
    mode = payload["mode"]
    if mode not in ("check", "plan"):
        raise InvalidInput(f"mode: expected \"check\" or \"plan\", got {json.dumps(mode)}")
    family = payload.get("family_member", False)
    if not isinstance(family, bool):
        raise InvalidInput("family_member: expected true or false")
    visa = None
    if payload.get("visa") is not None:
        v = payload["visa"]
        if not isinstance(v, dict):
            raise InvalidInput("visa: expected an object")
        keys = {"valid_from", "valid_until", "duration_days", "entries", "stays_on_visa"}
        if set(v) - keys or not {"valid_from", "valid_until", "duration_days"} <= set(v):
            raise InvalidInput("visa: expected keys valid_from, valid_until, duration_days (entries, stays_on_visa)")
        if not isinstance(v["duration_days"], int) or isinstance(v["duration_days"], bool):
            raise InvalidInput("visa.duration_days: expected an integer")
        entries = v.get("entries")
        if entries not in (1, 2, None) or isinstance(entries, bool):
            raise InvalidInput("visa.entries: expected 1, 2 or null (multiple entries)")
        on_visa = v.get("stays_on_visa")
        if on_visa is None:
            on_visa = list(range(len(stays)))
        if not isinstance(on_visa, list) or not all(
            isinstance(k, int) and not isinstance(k, bool) and 0 <= k < len(stays) for k in on_visa
        ):
            raise InvalidInput("visa.stays_on_visa: expected indexes into stays")
        visa = Visa(
            "visa",
            parse_iso_date(v["valid_from"], "visa.valid_from"),
            parse_iso_date(v["valid_until"], "visa.valid_until"),
            v["duration_days"],
            entries,
        )
        from smartborders.travel.stay import Stay

        stays = [Stay(a, b, visa="visa" if i in on_visa else None) for i, (a, b) in enumerate(stays)]
    return {"stays": stays, "on": on, "mode": mode, "visa": visa, "family_member": family}


def stay_response(result: Any) -> dict[str, Any]:
    iso = lambda d: d.isoformat() if d is not None else None  # noqa: E731
    out: dict[str, Any] = {
        "days_used": result.days_used,
        "overstay": result.overstay,
        "first_overstay_day": iso(result.first_overstay_day),
        "overstay_periods": [[iso(a), iso(b)] for a, b in result.overstay_periods],
        "days_over_limit": result.days_over_limit,
        "max_stay_days": result.max_stay_days,
        "latest_exit": iso(result.latest_exit),
        "next_entry": (
            {"date": iso(result.next_entry.date), "max_stay_days": result.next_entry.max_stay_days}
            if result.next_entry is not None
            else None
        ),
        "explanation": result.explanation(),
    }
    if result.visa is not None:
        v = result.visa
        out["visa"] = {
            "entries_used": v.entries_used,
            "entries_used_up": v.entries_used_up,
            "days_used": v.days_used,
            "days_remaining": v.days_remaining,
            "valid_on_date": v.valid_on_date,
            "max_stay_days": v.max_stay_days,
            "limited_by": result.limited_by,
        }
    return out


@app.command()
def stay(pretty: bool = typer.Option(False, "--pretty", help="Indent the JSON.")) -> None:
    """The 90/180 calculator. Reads {"stays": [[entry, exit], ...], "date": ..., "mode": "check"|"plan"}
    on stdin and prints the assessment as one JSON object."""
    from smartborders.travel.stay import assess

    text = sys.stdin.read()
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"stdin is not valid JSON: {exc}")
    try:
        result = assess(**stay_request(payload))
    except Problem as exc:
        _fail(exc.detail)
    _emit(stay_response(result), pretty)


@app.command()
def mrz(
    pretty: bool = typer.Option(False, "--pretty", help="Indent the JSON."),
    on: str = typer.Option(None, "--today", help="Reference date for two-digit years (default: today)."),
) -> None:
    """Read an ICAO 9303 MRZ (TD1, TD2, TD3, MRV-A, MRV-B) on stdin; print its fields and check digits."""
    from smartborders.core.clock import SystemClock, today
    from smartborders.travel.mrz import parse_mrz

    try:
        reference = parse_iso_date(on, "--today") if on else today(SystemClock())
        result = parse_mrz(sys.stdin.read(), today=reference)
    except Problem as exc:
        _fail(exc.detail)
    _emit(result.to_json(), pretty)


face_app = typer.Typer(help="Faces: capture quality and 1:1 comparison (dlib).", no_args_is_help=True)
app.add_typer(face_app, name="face")


@face_app.command("compare")
def face_compare(
    image1: str = typer.Argument(..., help="First image file (JPEG, PNG, ...)."),
    image2: str = typer.Argument(..., help="Second image file."),
    source: str = typer.Option("live", "--source", help="How image2 was taken: live, or chip (the document's)."),
    pretty: bool = typer.Option(False, "--pretty", help="Indent the JSON."),
) -> None:
    """Compare two facial images: {"score", "match", "threshold", "quality"} on stdout.

    `score` is the similarity (1 - descriptor distance), `match` is true at or above `threshold` (the
    configured false-match rate), `quality` the two images' capture quality (0-100). An image that fails
    the quality gate exits 2 with its reasons on stderr."""
    from smartborders.biometrics import face

    if source not in ("live", "chip"):
        _fail(f"--source must be live or chip, not {source!r}")
    a, b = (_captured(name, lambda data, src=src: face.capture(data, src))  # type: ignore[misc]
            for name, src in ((image1, "live"), (image2, source)))
    c = face.compare(a, b)
    _emit({"score": round(c.score, 4), "match": c.match, "threshold": round(1 - c.threshold, 4),
           "quality": [a.quality.score, b.quality.score]}, pretty)


fingerprint_app = typer.Typer(help="Fingerprints: NFIQ 2 quality and 1:1 comparison (NIST NBIS).",
                              no_args_is_help=True)
app.add_typer(fingerprint_app, name="fingerprint")


@fingerprint_app.command("compare")
def fingerprint_compare(
    image1: str = typer.Argument(..., help="First image: one finger, grey, 500 ppi (PNG, JPEG, ...)."),
    image2: str = typer.Argument(..., help="Second image."),
    pretty: bool = typer.Option(False, "--pretty", help="Indent the JSON."),
) -> None:
    """Compare two fingerprint images: {"score", "match", "threshold", "quality"} on stdout.

    `score` is the Bozorth3 score, `match` is true at or above `threshold` (the configured false-match
    rate), `quality` the two images' NFIQ 2 scores (0-100). An image that fails the quality gate exits
    2 with its reasons on stderr."""
    from smartborders.biometrics import fingerprint

    a, b = (_captured(name, fingerprint.capture) for name in (image1, image2))
    c = fingerprint.compare(a, b)
    _emit({"score": c.score, "match": c.match, "threshold": c.threshold, "quality": [a.nfiq2, b.nfiq2]}, pretty)


biometrics_app = typer.Typer(help="Biometric evaluation.", no_args_is_help=True)
app.add_typer(biometrics_app, name="biometrics")


@biometrics_app.command("report")
def biometrics_report(
    out: str = typer.Option("biometrics-report", "--out", help="Folder for det.png."),
    quick: bool = typer.Option(False, "--quick", help="A tenth of the sizes (a smoke run, under a minute)."),
    as_json: bool = typer.Option(False, "--json", help="JSON rows instead of a table."),
) -> None:
    """DET curves (det.png), FNMR at FMR 1e-3 and 1e-4, FNIR at FPIR 1e-3, for faces and fingerprints
    on synthetic data, and dlib on the real photographs scikit-image ships."""
    from pathlib import Path

    from rich.console import Console
    from rich.progress import Progress

    from smartborders.biometrics.evaluation import report

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("synthetic fingers", total=None)
        rows = report(Path(out), quick=quick, progress=lambda done, total: bar.update(task, completed=done,
                                                                                      total=total))
    if as_json:
        _emit({"rows": [{"what": w, "measured": m, "how": h} for w, m, h in rows],
               "det_png": str(Path(out) / "det.png")}, False)
        return
    typer.echo("| what | measured | how |\n|---|---|---|")
    for w, m, h in rows:
        typer.echo(f"| {w} | {m} | {h} |")
    typer.echo(f"\nDET curves: {Path(out) / 'det.png'}")


mid_app = typer.Typer(help="The multiple-identity detector.", no_args_is_help=True)
app.add_typer(mid_app, name="mid")


@mid_app.command("scan")
def mid_scan(
    threshold: float = typer.Option(0.9, "--threshold", min=0.5, max=1.0,
                                    help="Match probability at which a pair goes to the MID rules."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Link the CIR's records across systems (splink), and class each pair by the MID rules (Reg. 2019/817
    Arts 30-33; the batch pass of Art. 69)."""
    from smartborders.core.clock import SystemClock
    from smartborders.interop.linkage import scan

    engine = _engine()
    _require_schema(engine)
    out = scan(engine, SystemClock().now(), threshold=threshold)
    if as_json:
        _emit(out, False)
    else:
        typer.echo(f"{out['records']} CIR records in {', '.join(out['systems']) or 'no system'}: "
                   f"{out['pairs']} candidate pairs, {out['links']} links {out['colours']}")


watchlist_app = typer.Typer(help="ETIAS screening: names against a watchlist.", no_args_is_help=True)
app.add_typer(watchlist_app, name="watchlist")


@watchlist_app.command("match")
def watchlist_match(
    threshold: float = typer.Option(None, "--threshold", min=0.0, max=1.0,
                                    help="Score at or above which an entry is a hit (default: the screening's)."),
    pretty: bool = typer.Option(False, "--pretty", help="Indent the JSON."),
) -> None:
    """Screen people against a watchlist, as ETIAS automated processing does.

    Reads one JSON object on stdin: {"watchlist": [{"id", "name", "birth_date"?, "nationality"?}],
    "queries": [same]}; names in any script, dates ISO (YYYY-MM-DD, or YYYY-MM / YYYY where only that
    is known), nationality ISO 3166 alpha-3. Prints {"results": [{"query": id, "hits": [{"entry": id,
    "score", "explanation"}]}]}: per query, in input order, the entries at or above the threshold, best
    first. Bad input exits 2 with the reasons on stderr and prints nothing."""
    from smartborders.etias import watchlist as W

    try:
        payload = json.loads(sys.stdin.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        _fail(f"stdin is not JSON: {exc}")
    try:
        entries, queries = W.parse_request(payload)
    except InvalidInput as exc:
        _fail(exc.detail)
    results = W.screen(entries, queries, W.THRESHOLD if threshold is None else threshold)
    _emit({"results": [{"query": qid, "hits": [{"entry": h.entry, "score": h.score, "explanation": h.explanation}
                                               for h in hits]} for qid, hits in results]}, pretty)


def _captured(name: str, capture: Any) -> Any:
    """One image file through a capture function; a rejection or bad file ends the command (exit 2)."""
    data = _read_file(name)
    try:
        return capture(data)
    except Problem as exc:
        _fail(f"{name}: " + "; ".join(exc.extensions.get("reasons") or [exc.detail]))


def _read_file(name: str) -> bytes:
    try:
        with open(name, "rb") as fh:
            return fh.read()
    except OSError as exc:
        _fail(f"{name}: {exc.strerror or exc}")


db_app = typer.Typer(help="The database: schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _engine():  # type: ignore[no-untyped-def]
    from smartborders.core.db import make_engine
    from smartborders.core.settings import get_settings

    return make_engine(get_settings().resolved_database_url())


def _require_schema(engine) -> None:  # type: ignore[no-untyped-def]
    from smartborders.core.migrate import current_revision, head_revision

    try:
        current = current_revision(engine)
    except Exception as exc:  # noqa: BLE001 - any connection failure is reported, not raised
        _fail(f"cannot reach the database {engine.url.render_as_string(hide_password=True)}: {exc}", 1)
    if current != head_revision():
        _fail(f"the database schema is at {current or 'nothing'}, not {head_revision()}: run `smartborders db upgrade`", 1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest revision and sync the reference data (idempotent)."""
    from smartborders.core.migrate import head_revision, upgrade

    engine = _engine()
    try:
        upgrade(engine)
    except Exception as exc:  # noqa: BLE001
        _fail(f"migration failed on {engine.url.render_as_string(hide_password=True)}: {exc}", 1)
    typer.echo(f"database at revision {head_revision()}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes (PostgreSQL only; SQLite takes one)."),
) -> None:
    """Serve the API and consoles over HTTP."""
    import uvicorn

    engine = _engine()
    _require_schema(engine)
    if workers > 1:
        if engine.dialect.name == "sqlite":
            _fail("several workers need PostgreSQL: SQLite serialises writers in one process", 2)
        from smartborders.api.workers import serve_workers

        if not os.environ.get("SMARTBORDERS_SECRET_KEY"):
            # Sessions and tokens must be good in every worker: one key for this run, shared through the
            # environment (set SMARTBORDERS_SECRET_KEY to keep them across restarts).
            import secrets

            os.environ["SMARTBORDERS_SECRET_KEY"] = secrets.token_urlsafe(48)
        serve_workers(host, port, workers)
        return
    from smartborders.api.app import create_app

    uvicorn.run(create_app(engine), host=host, port=port, log_level="warning")


@app.command()
def overstays(
    sweep: bool = typer.Option(True, help="Run the overstay sweep first (Art. 12(1))."),
    full: bool = typer.Option(False, help="Re-check every open record, not only what changed."),
    include_exited: bool = typer.Option(False, help="Also list overstays of travellers who have left."),
    limit: int = typer.Option(1000, min=1, help="At most this many rows."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Flag overstays and print the overstayers list (EES Art. 12)."""
    from rich.console import Console
    from rich.table import Table

    from smartborders.core.clock import SystemClock
    from smartborders.ees import service

    engine = _engine()
    _require_schema(engine)
    clock = SystemClock()
    swept = service.run(engine, clock, lambda ctx: service.sweep_overstays(ctx, full=full)) if sweep else None
    rows = service.run(engine, clock, lambda ctx: service.overstayers(ctx, include_exited=include_exited,
                                                                       limit=limit), readonly=True)
    if as_json:
        _emit({"sweep": swept.model_dump(mode="json") if swept else None,
               "overstayers": [r.model_dump(mode="json") for r in rows]}, pretty=False)
        return
    console = Console()
    if swept:
        console.print(f"sweep as of {swept.as_of}: {swept.flagged} newly flagged")
    table = Table("surname", "given names", "nationality", "document", "entered", "at", "authorised until",
                  "days over", title=f"{len(rows)} overstayer(s)")
    for r in rows:
        doc = r.documents[-1] if r.documents else None
        table.add_row(r.surname, r.given_names, r.nationality, f"{doc.issuing_state} {doc.number}" if doc else "",
                      str(r.entry_date), r.entry_bcp, str(r.authorised_until), str(r.days_over))
    console.print(table)


fallback_app = typer.Typer(help="EES Art. 21 fall-back at a crossing point: record locally, upload later.",
                           no_args_is_help=True)
app.add_typer(fallback_app, name="fallback")
_QUEUE_OPT = typer.Option(..., "--queue", help="the local fall-back queue (a SQLite file; created if absent)")
_URL_OPT = typer.Option(..., "--url", help="the central EES, e.g. http://127.0.0.1:8000")
_TOKEN_OPT = typer.Option(None, "--token", envvar="SMARTBORDERS_FALLBACK_TOKEN", help="per-client key (Bearer)")
_TIMEOUT_OPT = typer.Option(5.0, "--timeout", min=0.1, help="seconds to wait for the central system")


def _fallback_record(kind: str, queue: str, url: str, token: str | None, timeout: float) -> None:
    from pydantic import ValidationError

    from smartborders.fallback import FallbackClient, Rejected
    from smartborders.fallback.client import COMMANDS

    try:
        command = COMMANDS[kind].model_validate_json(sys.stdin.read())
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()))
    with FallbackClient(url, queue, token=token, timeout=timeout) as client:
        try:
            receipt = client.record(kind, command)  # type: ignore[arg-type]
        except Rejected as exc:
            _emit({"status": "rejected", "http_status": exc.status, "problem": exc.problem}, False)
            raise typer.Exit(1) from None
    _emit(receipt.to_json(), False)


@fallback_app.command("record-entry")
def fallback_record_entry(queue: str = _QUEUE_OPT, url: str = _URL_OPT, token: str | None = _TOKEN_OPT,
                          timeout: float = _TIMEOUT_OPT) -> None:
    """Record an entry (EntryCommand JSON on stdin): {"status": "recorded"|"queued", ...}."""
    _fallback_record("entry", queue, url, token, timeout)


@fallback_app.command("record-exit")
def fallback_record_exit(queue: str = _QUEUE_OPT, url: str = _URL_OPT, token: str | None = _TOKEN_OPT,
                         timeout: float = _TIMEOUT_OPT) -> None:
    """Record an exit (ExitCommand JSON on stdin)."""
    _fallback_record("exit", queue, url, token, timeout)


@fallback_app.command("record-refusal")
def fallback_record_refusal(queue: str = _QUEUE_OPT, url: str = _URL_OPT, token: str | None = _TOKEN_OPT,
                            timeout: float = _TIMEOUT_OPT) -> None:
    """Record a refusal of entry (RefusalCommand JSON on stdin)."""
    _fallback_record("refusal", queue, url, token, timeout)


def _fallback_queue(queue: str) -> Any:
    from pathlib import Path

    from smartborders.fallback import Queue

    if not Path(queue).is_file():
        _fail(f"no fall-back queue at {queue}")
    return Queue(queue)


@fallback_app.command("status")
def fallback_status(queue: str = typer.Option(..., "--queue")) -> None:
    """Counts: queued, held (behind a conflict), conflicts, uploaded; the oldest queued crossing."""
    from smartborders.fallback import FallbackClient

    with FallbackClient("http://unused.invalid", _fallback_queue(queue)) as client:
        _emit(client.status(), False)


@fallback_app.command("flush")
def fallback_flush(queue: str = typer.Option(..., "--queue"), url: str = _URL_OPT,
                   token: str | None = _TOKEN_OPT, timeout: float = _TIMEOUT_OPT) -> None:
    """Upload the queue in order: prints what was uploaded, replayed, conflicted and held."""
    from smartborders.fallback import FallbackClient

    with FallbackClient(url, _fallback_queue(queue), token=token, timeout=timeout) as client:
        report = client.flush()
    _emit(report.to_json(), False)


@fallback_app.command("conflicts")
def fallback_conflicts(queue: str = typer.Option(..., "--queue"),
                       dismiss: str | None = typer.Option(None, "--dismiss", help="client id an operator has "
                                                          "dealt with: forget it, release the traveller's next")) -> None:
    """The crossings the central system refused on upload, with its problem+json."""
    with _fallback_queue(queue) as q:
        if dismiss is not None:
            if not q.dismiss(dismiss):
                _fail(f"no conflict with client id {dismiss}")
            _emit({"dismissed": dismiss}, False)
            return
        _emit({"conflicts": q.conflicts()}, False)


clients_app = typer.Typer(help="Machine clients (carriers) and their keys.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")


@clients_app.command("add")
def clients_add(
    code: str = typer.Argument(..., help="The client's code, e.g. a carrier's IATA code (LH)."),
    name: str = typer.Option(..., "--name", help="Who it is."),
    kind: str = typer.Option("carrier", "--kind", help="carrier, or bcp (a crossing point's own system)"),
    bcp: str | None = typer.Option(None, "--bcp", help="bcp clients: the crossing point it records at"),
) -> None:
    """Make a client and print its key once ({"code", "kind", "key"}); only a hash is kept."""
    from datetime import UTC, datetime

    from smartborders.core import clients
    from smartborders.core.db import unit_of_work
    from smartborders.core.errors import Problem

    engine = _engine()
    _require_schema(engine)
    try:
        with unit_of_work(engine) as s:
            c, key = clients.create(s, kind, code, name, datetime.now(UTC), bcp=bcp)
            out = {"code": c.code, "kind": c.kind, "key": key}
    except (ValueError, Problem) as exc:
        _fail(str(exc), 2)
    _audit_cli(engine, "clients add", {"code": code, "kind": kind, "bcp": bcp})
    _emit(out, pretty=False)


@clients_app.command("revoke")
def clients_revoke(code: str = typer.Argument(..., help="The client's code.")) -> None:
    """Revoke a client's key at once (requests with it get 401)."""
    from datetime import UTC, datetime

    from smartborders.core import clients
    from smartborders.core.db import unit_of_work
    from smartborders.core.errors import Problem

    engine = _engine()
    _require_schema(engine)
    try:
        with unit_of_work(engine) as s:
            c = clients.revoke(s, code, datetime.now(UTC))
            out = {"code": c.code, "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None}
    except Problem as exc:
        _fail(exc.detail, 2)
    _audit_cli(engine, "clients revoke", {"code": code})
    _emit(out, pretty=False)


def _audit_cli(engine, operation: str, params: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """An operator's change through the CLI goes to the same audit log as the API's requests (EES Art.
    46; the staff records of Art. 46(3)): who at the shell, what, with its ids, never a password or key."""
    import getpass
    import json as _json
    from datetime import UTC, datetime

    from smartborders.audit.service import write

    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        user = "unknown"
    write(engine, [{"at": datetime.now(UTC), "channel": "cli", "method": "CLI", "route": operation,
                    "params": _json.dumps({k: v for k, v in params.items() if v is not None}, sort_keys=True),
                    "status": 0, "principal_kind": "operator", "principal": user[:120], "role": "operator",
                    "authority": None, "purpose": "EES Art. 46(3) records of authorised staff and clients",
                    "data": "accounts and client keys"}])


_ROLE_OPT = typer.Option(..., "--role", help="A role (repeat for several): border_guard, supervisor, "
                         "visa_authority, immigration_authority, etias_central_unit, etias_national_unit, "
                         "law_enforcement, central_access_point, analyst, operator")
accounts_app = typer.Typer(help="People's accounts: roles, Member State, crossing point; argon2 passwords.",
                           no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")


@accounts_app.command("add")
def accounts_add(
    username: str = typer.Argument(..., help="The user name (a-z 0-9 . _ @ -)."),
    name: str = typer.Option(..., "--name", help="The person's name."),
    role: list[str] = _ROLE_OPT,
    state: str | None = typer.Option(None, "--state", help="The Member State acted for (alpha-3)."),
    bcp: str | None = typer.Option(None, "--bcp", help="The crossing point worked at (border guards)."),
    authority: str | None = typer.Option(None, "--authority", help="The authority, e.g. 'KMar Schiphol'."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin; "
                                        "without it one is generated and printed once."),
) -> None:
    """Make an account; prints {"username", "roles", "password"} (the password only when generated)."""
    from datetime import UTC, datetime

    from smartborders.core import auth
    from smartborders.core.db import unit_of_work
    from smartborders.core.errors import Problem

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    engine = _engine()
    _require_schema(engine)
    try:
        with unit_of_work(engine) as s:
            acc, pw = auth.create_account(s, username, name, role, datetime.now(UTC), password=password,
                                          authority=authority, state=state, bcp=bcp)
            out = {"username": acc.username, "roles": acc.roles.split(), "state": acc.state, "bcp": acc.bcp}
            if password is None:
                out["password"] = pw
    except Problem as exc:
        _fail(exc.detail, 2)
    _audit_cli(engine, "accounts add", {"username": username, "roles": role, "state": state, "bcp": bcp})
    _emit(out, pretty=False)


@accounts_app.command("passwd")
def accounts_passwd(username: str = typer.Argument(...)) -> None:
    """Set a new password, read from stdin (at least 12 characters); unlocks the account."""
    from datetime import UTC, datetime

    from smartborders.core import auth
    from smartborders.core.db import unit_of_work
    from smartborders.core.errors import Problem

    password = sys.stdin.readline().rstrip("\n")
    engine = _engine()
    _require_schema(engine)
    try:
        with unit_of_work(engine) as s:
            auth.set_password(s, username, password, datetime.now(UTC))
    except Problem as exc:
        _fail(exc.detail, 2)
    _audit_cli(engine, "accounts passwd", {"username": username})
    _emit({"username": username, "password_changed": True}, pretty=False)


@accounts_app.command("disable")
def accounts_disable(username: str = typer.Argument(...)) -> None:
    """Disable an account: its sign-ins fail at once, its tokens within 30 seconds."""
    from datetime import UTC, datetime

    from smartborders.core import auth
    from smartborders.core.db import unit_of_work
    from smartborders.core.errors import Problem

    engine = _engine()
    _require_schema(engine)
    try:
        with unit_of_work(engine) as s:
            acc = auth.disable_account(s, username, datetime.now(UTC))
            out = {"username": username, "disabled_at": acc.disabled_at.isoformat() if acc.disabled_at else None}
    except Problem as exc:
        _fail(exc.detail, 2)
    _audit_cli(engine, "accounts disable", {"username": username})
    _emit(out, pretty=False)


@accounts_app.command("list")
def accounts_list() -> None:
    """Every account with its roles and scope (no password hashes), one JSON object per line."""
    from sqlalchemy import select

    from smartborders.core import auth
    from smartborders.core.db import unit_of_work

    engine = _engine()
    _require_schema(engine)
    with unit_of_work(engine, readonly=True) as s:
        for a in s.scalars(select(auth.Account).order_by(auth.Account.username)):
            _emit({"username": a.username, "name": a.name, "roles": a.roles.split(), "state": a.state,
                   "bcp": a.bcp, "authority": a.authority, "disabled": a.disabled_at is not None,
                   "locked": a.locked_until is not None}, pretty=False)


audit_app = typer.Typer(help="The audit log (EES Art. 46, ETIAS Art. 69): seal, verify, tail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("seal")
def audit_seal() -> None:
    """Seal the rows not yet in the hash chain (the server does this every second)."""
    from smartborders.audit.service import seal

    engine = _engine()
    _require_schema(engine)
    _emit({"sealed": seal(engine)}, pretty=False)


@audit_app.command("verify")
def audit_verify(
    do_seal: bool = typer.Option(False, "--seal", help="Seal pending rows first."),
    expect: str | None = typer.Option(None, "--expect", metavar="SEQ:HASH",
                                      help="A head recorded earlier (e.g. from a previous verify): it must still be there."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Walk the hash chain: exit 0 when intact, 1 naming the first bad sequence number."""
    from smartborders.audit.service import seal, verify

    anchor = None
    if expect is not None:
        seq, _, digest = expect.partition(":")
        if not seq.isdigit() or not re.fullmatch(r"[0-9a-f]{64}", digest):
            _fail("--expect: SEQ:HASH, e.g. 120:3f5a... (64 hex digits)")
        anchor = (int(seq), digest)
    engine = _engine()
    _require_schema(engine)
    if do_seal:
        seal(engine)
    verdict = verify(engine, anchor)
    if as_json:
        _emit(verdict.as_dict(), pretty=False)
    elif verdict.ok:
        typer.echo(f"audit log intact: {verdict.sealed} sealed rows, head {verdict.head_seq}:{verdict.head_hash}, "
                   f"{verdict.unsealed} not yet sealed")
    else:
        typer.echo(f"audit log BROKEN at seq {verdict.first_bad}: {verdict.problem}", err=True)
    raise typer.Exit(0 if verdict.ok else 1)


@audit_app.command("tail")
def audit_tail(n: int = typer.Option(20, "-n", min=1, max=10000, help="How many rows, newest first.")) -> None:
    """The newest rows of the audit log, one JSON object per line."""
    from smartborders.audit.service import tail

    engine = _engine()
    _require_schema(engine)
    for row in tail(engine, n):
        typer.echo(json.dumps(row, ensure_ascii=False))


etias_app = typer.Typer(help="ETIAS: deadlines and retention, statistics, the fairness report.", no_args_is_help=True)
app.add_typer(etias_app, name="etias")


def _period(start: str, end: str) -> tuple[Any, Any]:
    from datetime import date

    try:
        lo, hi = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        _fail(f"--from/--to: {exc} (give YYYY-MM-DD)", 2)
    if hi < lo:
        _fail("--from/--to: --to is before --from", 2)
    return lo, hi


@etias_app.command("housekeeping")
def etias_housekeeping() -> None:
    """Record what the clock decided (consultations silent for 60 h are positive; requests unanswered for
    10 days have lapsed: Art. 27-29) and erase the files whose retention ended (Art. 54). Run it hourly."""
    from smartborders.core.clock import SystemClock
    from smartborders.ees.service import run
    from smartborders.etias import manual, retention

    engine = _engine()
    _require_schema(engine)
    clock = SystemClock()
    swept = run(engine, clock, lambda ctx: manual.sweep(ctx))
    erased = run(engine, clock, lambda ctx: retention.purge(ctx))
    _emit({"deadlines": swept, "erased": erased}, pretty=False)


@etias_app.command("mail")
def etias_mail(
    to_dir: str = typer.Option(None, "--to-dir", help="Write each message as an .eml file in this folder."),
    smtp: str = typer.Option(None, "--smtp", help="Send through this SMTP server, HOST:PORT."),
    starttls: bool = typer.Option(False, "--starttls", help="Use STARTTLS with the SMTP server."),
    sender: str = typer.Option("ETIAS <no-reply@etias.example.eu>", "--from", help="The From address."),
) -> None:
    """Mail every notice not yet mailed to its applicant (the ETIAS email service). Run it every minute."""
    from pathlib import Path

    from smartborders.etias import mailer

    if (to_dir is None) == (smtp is None):
        _fail("give one of --to-dir DIR or --smtp HOST:PORT", 2)
    if smtp is not None:
        host, _, port = smtp.rpartition(":")
        if not host or not port.isdigit():
            _fail("--smtp: HOST:PORT", 2)
        send = mailer.to_smtp(host, int(port), starttls)
    else:
        send = mailer.to_folder(Path(to_dir))
    engine = _engine()
    _require_schema(engine)
    out = mailer.drain(engine, send, sender=sender)
    _emit(out, pretty=False)
    if out["failed"]:
        raise typer.Exit(1)


@etias_app.command("statistics")
def etias_statistics(
    start: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD) of submission."),
    end: str = typer.Option(..., "--to", help="Last day (YYYY-MM-DD)."),
    pretty: bool = typer.Option(False, "--pretty", help="Indent the JSON."),
) -> None:
    """Art. 84 statistics of the applications submitted in the period (no one identifiable)."""
    from smartborders.core.clock import SystemClock
    from smartborders.ees.service import run
    from smartborders.etias import statistics

    lo, hi = _period(start, end)
    engine = _engine()
    _require_schema(engine)
    out = run(engine, SystemClock(), lambda ctx: statistics.report(ctx, lo, hi), readonly=True)
    _emit(out.model_dump(mode="json"), pretty=pretty)


@etias_app.command("fairness")
def etias_fairness(
    start: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD) of submission."),
    end: str = typer.Option(..., "--to", help="Last day (YYYY-MM-DD)."),
    min_group: int = typer.Option(30, min=1, help="Smallest group (and rest) that can be flagged."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of markdown."),
) -> None:
    """The screening rules' fairness report: hit and manual-referral rates by nationality, sex and age
    band, overall and per rule, groups outside the four-fifths band flagged (Art. 14, 33)."""
    from smartborders.core.clock import SystemClock
    from smartborders.ees.service import run
    from smartborders.etias import screening_rules, sri

    lo, hi = _period(start, end)
    engine = _engine()
    _require_schema(engine)
    report = run(engine, SystemClock(), lambda ctx: screening_rules.fairness(ctx, lo, hi, min_group=min_group),
                 readonly=True)
    if as_json:
        _emit(report.as_dict(), pretty=False)
    else:
        typer.echo(sri.render_markdown(report))


@app.command()
def generate(
    travellers: int = typer.Option(10_000, min=1, help="Synthetic travellers (third-country nationals)."),
    days: int = typer.Option(30, min=1, max=3650, help="Days of traffic before --end."),
    end: str = typer.Option(None, "--end", help="The day the traffic leads up to (YYYY-MM-DD); default today."),
    seed: int = typer.Option(2026, help="Same seed, same data."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Load a synthetic population and its border traffic into the database (never real people)."""
    from smartborders.core.clock import SystemClock, today
    from smartborders.sim import generate as run_generate

    engine = _engine()
    _require_schema(engine)
    try:
        last = parse_iso_date(end, "--end") if end else today(SystemClock())
    except Problem as exc:
        _fail(exc.detail)
    try:
        counts = run_generate(engine, travellers=travellers, days=days, end=last, seed=seed, progress=not as_json)
    except Problem as exc:
        _fail(exc.detail)
    except Exception as exc:  # noqa: BLE001 - e.g. the same seed loaded twice: nothing was written
        _fail(f"nothing was loaded: {type(exc).__name__}: {str(exc).splitlines()[0]}", 1)
    if as_json:
        _emit({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in counts.items()}, pretty=False)
        return
    typer.echo(f"loaded {counts['files']} files, {counts['records']} entry/exit records "
               f"({counts['open_records']} open, {counts['overstays']} overstays), {counts['refusals']} refusals "
               f"in {counts['seconds_load']:.1f} s")


@app.command()
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what is due; erase nothing."),
    as_of: str = typer.Option(None, "--as-of", help="The day to purge for (YYYY-MM-DD); default today."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Erase what the EES retention periods no longer allow to keep (Art. 34); logs of it are counts only."""
    from smartborders.core.clock import SystemClock
    from smartborders.ees import service
    from smartborders.ees.purge import purge as run_purge

    engine = _engine()
    _require_schema(engine)
    try:
        day = parse_iso_date(as_of, "--as-of") if as_of else None
        result = service.run(engine, SystemClock(), lambda ctx: run_purge(ctx, as_of=day, dry_run=dry_run))
    except Problem as exc:
        _fail(exc.detail)
    if as_json:
        _emit(result.model_dump(mode="json"), pretty=False)
        return
    verb = "would erase" if dry_run else "erased"
    typer.echo(f"purge as of {result.as_of}: {verb} {result.files} file(s), {result.records} record(s), "
               f"{result.refusals} refusal(s)")
    for key, n in result.detail.items():
        typer.echo(f"  {key}: {n}")


@app.command()
def demo(
    port: int = typer.Option(8000, help="Port to serve on."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
    tour_only: bool = typer.Option(False, "--tour", help="Only print the tour of the travel rules."),
    travellers: int = typer.Option(3000, min=10, max=1_000_000, help="Synthetic travellers in a new database."),
) -> None:
    """The travel rules in the terminal, then a live EES with synthetic travellers on SQLite."""
    from smartborders.demo import serve_demo, tour

    tour()
    if not tour_only:
        serve_demo(port=port, open_browser=not no_browser, travellers=travellers)


@app.command()
def simulate(
    scenario: str = typer.Argument(..., help="A YAML scenario file, or a shipped scenario's name (schiphol-peak, "
                                   "dover-summer-saturday, small-land-crossing)."),
    policy: str = typer.Option("full", "--policy", help="full, skip_biometrics, suspend, pre_registration, "
                               "extra_staff or pre_ees; combine with + (suspend+extra_staff)"),
    compare_: str | None = typer.Option(None, "--compare", help="policies side by side, comma-separated "
                                        "(full,skip_biometrics,suspend); replaces --policy"),
    replications: int = typer.Option(1, "--replications", min=1, max=10_000, help="days per policy (95 % CIs)"),
    seed: int = typer.Option(0, "--seed", min=0, help="seed of the first day; day i uses seed + i"),
    out: str | None = typer.Option(None, "--out", help="folder for summary.csv, buckets.csv, queues.csv, "
                                   "result.json, wait.png, queue.png"),
    as_json: bool = typer.Option(False, "--json", help="print the result as one JSON object"),
    live_url: str | None = typer.Option(None, "--live-url", help="measure a running smartborders' border "
                                        "check + entry and say whether the software is ever the bottleneck"),
    token: str | None = typer.Option(None, "--token", envvar="SMARTBORDERS_SIM_TOKEN",
                                     help="a crossing point's key for --live-url (smartborders clients add ...)"),
    live_checks: int = typer.Option(40, "--live-checks", min=1, max=100_000, help="checks to time live"),
) -> None:
    """The crossing-point capacity simulator: waits, queues and missed connections over a day, by policy."""
    from smartborders.sim.capacity import PolicyError, ScenarioError, compare, load_scenario, make_policy

    try:
        scn = load_scenario(scenario)
        names = [p.strip() for p in compare_.split(",") if p.strip()] if compare_ is not None else [policy]
        if not names:
            raise PolicyError("--compare: give at least one policy")
        for name in names:
            make_policy(name, scn)
    except (ScenarioError, PolicyError) as exc:
        _fail(str(exc))
    if live_url and not token:
        _fail("--live-url needs --token (a crossing point's key: smartborders clients add CODE --kind bcp ...)")
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True, disable=as_json) as bar:
        task = bar.add_task("days", total=replications)
        result = compare(scn, names, replications=replications, seed=seed,
                         progress=lambda k: bar.advance(task, k))
    payload = result.to_dict()
    if live_url:
        from smartborders.sim.capacity.live import LiveError, bottleneck, measure_live

        try:
            live = measure_live(live_url, token or "", checks=live_checks)
        except LiveError as exc:
            _fail(str(exc), 1)
        payload["live"] = {"measured": live, **{p: bottleneck(live, result.days[p], scn.bucket_minutes)
                                                for p in result.policies}}
    if out:
        from smartborders.sim.capacity.output import write_outputs

        try:
            write_outputs(result, out)
        except OSError as exc:
            _fail(f"--out {out}: {exc}", 1)
    if as_json:
        for day in payload["days"].values():  # the per-bucket detail goes to --out, not the terminal
            day.pop("queue_samples", None)
        _emit(payload, pretty=False)
        return
    from rich.table import Table

    table = Table(title=f"{scn.name}: {replications} day(s), seed {seed}")
    for col in ("policy", "travellers", "mean wait", "p50", "p95", "p99", "max wait", "max queue", "missed",
                "s/check", "no-bio h"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for name in result.policies:
        d = result.days[name]
        ci = result.intervals[name]
        mean = f"{d['mean_wait_min']:.1f}"
        if replications > 1:
            mean = f"{ci['mean_wait_min']['mean']:.1f} [{ci['mean_wait_min']['low']:.1f}, {ci['mean_wait_min']['high']:.1f}]"
        table.add_row(name, f"{d['travellers']:,}", mean, f"{d['p50_wait_min']:.1f}", f"{d['p95_wait_min']:.1f}",
                      f"{d['p99_wait_min']:.1f}", f"{d['max_wait_min']:.1f}", f"{d['max_queue']:,}",
                      f"{d['missed']:,}", f"{d['service_s_per_check']:.0f}", f"{d['biometrics_skipped_h']:.1f}")
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    typer.echo("waits in minutes (first day" + (", mean wait with its 95 % CI" if replications > 1 else "") + ")")
    if "live" in payload:
        live = payload["live"]["measured"]
        typer.echo(f"live: {live['checks_per_s']} checks/s, {live['mean_s']:.3f} s per check (p95 {live['p95_s']:.3f})")
        for name in result.policies:
            b = payload["live"][name]
            verdict = "the software IS the bottleneck" if b["software_is_bottleneck"] else "the software is not the bottleneck"
            typer.echo(f"  {name}: peak {b['peak_arrivals_per_s']} arrivals/s, headroom x{b['headroom']}: {verdict}")
    if out:
        typer.echo(f"written to {out}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
