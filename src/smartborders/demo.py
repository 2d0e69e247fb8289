"""`smartborders demo`: a tour of the travel rules on synthetic travellers (no real person's data)."""

from __future__ import annotations

from datetime import date

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from smartborders.travel import mrz as mrzlib
from smartborders.travel.stay import Stay, Visa, assess


def tour(console: Console | None = None) -> None:
    console = console or Console()
    console.rule("[bold]smartborders — the travel rules")

    history = [(date(2026, 1, 5), date(2026, 2, 20)), (date(2026, 4, 1), date(2026, 4, 14))]
    console.print(Panel.fit(
        "A visa-exempt traveller was in the Schengen area 05.01–20.02.2026 and 01.04–14.04.2026,\n"
        "and arrives at the border on 20.06.2026: how long may they stay? (SBC Art. 6, EES Art. 11(2)(a))",
        title="1. The 90/180 rule at a border check",
    ))
    result = assess(history, date(2026, 6, 20), "plan")
    table = Table("question", "answer")
    table.add_row("days used in the 180 days ending today", str(result.days_used))
    table.add_row("overstay on record", "yes" if result.overstay else "no")
    table.add_row("may stay until", str(result.latest_exit))
    table.add_row("days of stay from today (counting it)", str(result.max_stay_days))
    console.print(table)
    console.print(result.explanation(), style="dim")

    console.print(Panel.fit(
        "The same traveller plans a trip 01.08–30.09.2026: does it fit? (the Commission's calculator "
        "cannot take future trips)", title="2. A planned trip",
    ))
    planned = assess(history + [(date(2026, 8, 1), date(2026, 9, 30))], date(2026, 9, 30), "check")
    console.print(planned.explanation(), style="dim")

    console.print(Panel.fit(
        "A 2-entry visa for 30 days, valid 01.04–31.07.2026; first stay 05.04–14.04. Second entry on 01.06.",
        title="3. A visa caps the rule",
    ))
    visa = Visa("SPEC00001", date(2026, 4, 1), date(2026, 7, 31), duration_days=30, entries=2)
    capped = assess([Stay(date(2026, 4, 5), date(2026, 4, 14), visa="SPEC00001")], date(2026, 6, 1), "plan", visa=visa)
    console.print(capped.explanation(), style="dim")

    console.print(Panel.fit("ICAO Doc 9303: a synthetic passport, read back, then tampered.", title="4. The MRZ"))
    zone = mrzlib.generate_td3(
        document_type="P", issuing_state="UTO", surname="Østergård", given_names="Anna Maria",
        document_number="X12345678", nationality="UTO", birth_date=date(1984, 8, 12), sex="F",
        expiry_date=date(2031, 4, 15),
    )
    console.print(zone, style="bold")
    read = mrzlib.parse_mrz(zone, today=date(2026, 11, 29))
    console.print_json(data=read.to_json())
    lines = zone.splitlines()
    tampered = lines[0] + "\n" + lines[1][:13] + "9" + lines[1][14:]
    console.print("the same MRZ with one digit of the birth date changed:", style="bold")
    console.print(tampered, style="bold red")
    bad = mrzlib.parse_mrz(tampered, today=date(2026, 11, 29))
    console.print_json(data={"valid": bad.valid, "errors": bad.errors, "details": bad.to_json()["details"]})
    console.rule("try: echo '{\"stays\": [[\"2026-01-05\",\"2026-02-20\"]], \"date\": \"2026-06-20\", "
                 "\"mode\": \"plan\"}' | smartborders stay --pretty")


def _demo_account(engine) -> str:  # type: ignore[no-untyped-def]
    """The demo's API account, with a new random password at every start (printed, never stored)."""
    import secrets

    from sqlalchemy import select

    from smartborders.core import auth
    from smartborders.core.clock import SystemClock
    from smartborders.core.db import unit_of_work

    password = secrets.token_urlsafe(15)
    now = SystemClock().now()
    with unit_of_work(engine) as s:
        if s.scalar(select(auth.Account.id).where(auth.Account.username == "demo.guard")) is None:
            auth.create_account(s, "demo.guard", "Demo Guard", ["border_guard", "supervisor"], now,
                                password=password, authority="demo border authority", bcp="NL-AMS")
        else:
            auth.set_password(s, "demo.guard", password, now)
    return password


def serve_demo(port: int = 8000, open_browser: bool = True, travellers: int = 3000) -> None:
    """A live EES on the embedded default: a SQLite file in the data directory, a synthetic population
    and a month of traffic, then the API. /health answers while the data is still being generated."""
    import threading
    import webbrowser

    import uvicorn
    from sqlalchemy import func, select

    from smartborders.api.app import create_app
    from smartborders.core.clock import SystemClock, today
    from smartborders.core.db import make_engine, unit_of_work
    from smartborders.core.migrate import upgrade
    from smartborders.core.settings import get_settings
    from smartborders.ees.models import IndividualFile

    console = Console()
    settings = get_settings()
    settings.demo_login = True  # the consoles offer the demo sign-in (a role, no password)
    url = settings.resolved_database_url()
    engine = make_engine(url)
    upgrade(engine)
    api_password = _demo_account(engine)
    app = create_app(engine)
    state = app.state.sb
    with unit_of_work(engine, readonly=True) as s:
        existing = s.scalar(select(func.count()).select_from(IndividualFile)) or 0

    def populate() -> None:
        from smartborders.sim import generate

        try:
            counts = generate(engine, travellers=travellers, days=30, end=today(SystemClock()),
                              seed=2026, progress=False)
            from smartborders.sim.biometrics import enrol_population

            bio = enrol_population(engine, SystemClock().now())
            from smartborders.sim.etias import seed_etias

            et = seed_etias(engine, SystemClock().now())
            state.status["demo_data"] = (f"ready: {counts['files']} individual files, {counts['records']} "
                                         f"entry/exit records, {counts['overstays_inside']} overstayers inside; "
                                         f"{bio['faces']} faces in the sBMS, {bio['links']} MID links; ETIAS: "
                                         f"{et['issued']} issued, {et['central_unit']} for the Central Unit, "
                                         f"{et['national_unit']} for the national unit of NLD")
        except Exception as exc:  # noqa: BLE001 - the server stays up; the failure is shown on /health
            state.status["demo_data"] = f"failed: {type(exc).__name__}: {exc}"

    if existing:
        state.status["demo_data"] = f"ready: {existing} individual files"
    else:
        state.status["demo_data"] = "loading"
        threading.Thread(target=populate, name="demo-data", daemon=True).start()

    address = f"http://127.0.0.1:{port}"
    console.rule("[bold]smartborders — a live Entry/Exit System")
    console.print(f"database: {engine.url.render_as_string(hide_password=True)}")
    console.print(f"serving on {address}  (API description at {address}/openapi.json; Ctrl-C stops)")
    console.print(f"open {address} and sign in (demo sign-in: a name and a role): a border guard at NL-AMS checks "
                  "a traveller; the ETIAS Central Unit verifies hits and a national unit officer of NLD decides; a "
                  "traveller asks how long they may stay and applies for ETIAS; an analyst sees the dashboards. "
                  f"The data load takes a minute or two: {address}/health says when it is ready.")
    console.print(f"the API needs a token: POST {address}/api/v1/auth/token with "
                  f'{{"username": "demo.guard", "password": "{api_password}"}} (a border guard and supervisor at '
                  "NL-AMS; this password is new at every start), then send Authorization: Bearer <access_token>.")
    if open_browser:
        threading.Timer(1.5, lambda: webbrowser.open(address)).start()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
