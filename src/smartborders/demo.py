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
