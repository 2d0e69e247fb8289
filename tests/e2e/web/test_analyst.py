"""The analyst dashboards in a browser: the figures of crossings made through the real use cases (two
crossing points over four days, one overstay, two ETIAS applications with one waiting on the Central
Unit), the filters by crossing point and dates swapped in place by htmx and bookmarkable, the same page
without JavaScript, the CSV downloads, and the console refused to other roles."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from smartborders.core.db import unit_of_work
from smartborders.ees import schemas as S
from smartborders.ees import service as ees
from smartborders.ees.service import run
from smartborders.etias import schemas as ES
from smartborders.etias import screening
from smartborders.etias import service as etias
from tests.e2e.web.conftest import login, shot
from tests.ees.factory import START, Traveller, client_id, visa
from tests.etias.factory import application

RANGE = "date_from=2026-04-10&date_to=2026-04-13"


def seed(server) -> None:
    """Apr 10-12 at NL-AMS and DE-FRA; an Indian visa holder whose two-day visa ends on Apr 11 is flagged
    by the sweep on Apr 13; on Apr 12 two ETIAS applications, one hitting a stolen-document entry."""
    c, e = server.clock, server.engine

    def do(use_case):
        return run(e, c, use_case)

    def refusal(t, bcp, reasons):
        cmd = S.RefusalCommand(client_id=client_id(), bcp=bcp, authority="DE-BPOL", document=t.document,
                               identity=t.identity, reasons=reasons)
        return lambda ctx: ees.record_refusal(ctx, cmd)

    usa, can, jpn, ind, kor = (Traveller(n) for n in ("USA", "CAN", "JPN", "IND", "KOR"))
    c.set(START)  # Apr 10
    do(lambda ctx: ees.record_entry(ctx, usa.entry("NL-AMS")))
    do(lambda ctx: ees.record_entry(ctx, can.entry("NL-AMS")))
    do(lambda ctx: ees.record_entry(ctx, jpn.entry("DE-FRA")))
    do(lambda ctx: ees.record_entry(ctx, ind.entry("DE-FRA", visa=visa(duration_days=2))))
    c.advance(timedelta(days=1))  # Apr 11
    do(lambda ctx: ees.record_exit(ctx, usa.exit("NL-AMS")))
    do(lambda ctx: ees.record_entry(ctx, kor.entry("NL-AMS")))
    do(refusal(Traveller("BRA"), "DE-FRA", ["C", "E"]))
    c.advance(timedelta(days=1))  # Apr 12
    do(lambda ctx: ees.record_exit(ctx, can.exit("DE-FRA")))
    do(refusal(Traveller("USA"), "NL-AMS", ["E"]))
    with unit_of_work(e) as s:
        screening.add_entry(s, "sltd", "SLTD-9", c.now(), supplied_by="INTERPOL", document_number="L00000077",
                            document_country="USA")
    for body in (application(), application(document={"number": "L00000077"})):
        cmd = ES.ApplicationIn.model_validate(body)
        do(lambda ctx, cmd=cmd: etias.submit(ctx, cmd))
    c.advance(timedelta(days=1, hours=3))  # Apr 13, 12:00: the Central Unit's 12 hours have passed
    assert do(lambda ctx: ees.sweep_overstays(ctx)).flagged == 1


def figure(page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"]').inner_text().strip()


def rows(page, table: str) -> list[list[str]]:
    """A panel's data table, opened as a reader would ("Show the figures")."""
    panel = page.locator(f"#panel-{table}")
    details = panel.locator("details")
    if details.get_attribute("open") is None:
        panel.get_by_text("Show the figures").click()
    return [[c.strip() for c in r.locator("th, td").all_inner_texts()]
            for r in panel.locator(f'table[data-table="{table}"] tbody tr').all()]


def csv_rows(page, panel: str) -> tuple[dict[str, str], list[list[str]]]:
    href = page.locator(f"#panel-{panel} a", has_text="Download CSV").get_attribute("href")
    r = page.request.get(href)  # the browser's own cookies
    assert r.status == 200, r.text()
    text = r.body().decode("utf-8")
    return r.headers, list(csv.reader(io.StringIO(text)))


def test_the_dashboard_shows_the_figures_filters_in_place_and_exports_csv(page, server):
    seed(server)
    login(page, "analyst", "Ana Lyst")
    assert page.url.endswith("/analyst")
    # The default period is the last 30 days up to today (Apr 13): everything seeded.
    assert page.get_by_role("heading", level=2).first.inner_text().startswith("2026-03-15 to 2026-04-13")
    assert {k: figure(page, k) for k in ("entries", "exits", "refusals", "overstays-ended", "overstaying-now",
                                         "etias-applications", "cu-queue")} == {
        "entries": "5", "exits": "2", "refusals": "2", "overstays-ended": "1", "overstaying-now": "1",
        "etias-applications": "2", "cu-queue": "1"}
    # Crossings, refusals, overstays, ETIAS by status, queues (no ETIAS deadline has come to pass yet).
    assert page.locator("svg.chart").count() == 5
    for svg in page.locator("svg.chart").all():  # each chart names itself for screen readers
        label = svg.get_attribute("aria-labelledby").split()
        assert all(page.locator(f"[id='{i}']").text_content().strip() for i in label)
    shot(page, "analyst-dashboard")

    assert rows(page, "crossings") == [
        ["2026-04-10", "DE-FRA", "2", "0", "2", "0"],
        ["2026-04-10", "NL-AMS", "2", "0", "2", "0"],
        ["2026-04-11", "DE-FRA", "0", "0", "0", "1"],
        ["2026-04-11", "NL-AMS", "1", "1", "2", "0"],
        ["2026-04-12", "DE-FRA", "0", "1", "1", "0"],
        ["2026-04-12", "NL-AMS", "0", "0", "0", "1"],
    ]
    refusals = {r[0]: r[2] for r in rows(page, "refusals")}
    assert refusals["C"] == "1" and refusals["E"] == "2" and refusals["A"] == "0"
    assert rows(page, "overstays") == [["India (IND)", "1", "1"]]
    etias_rows = page.locator('#panel-etias table[data-table="etias"]')
    rows(page, "etias")
    assert etias_rows.locator('[data-key="applications_by_status.issued"] td').last.inner_text() == "1"
    assert etias_rows.locator('[data-key="applications_by_status.central_unit_verification"] td').last.inner_text() == "1"
    assert etias_rows.locator('[data-key="how_decided.issued_automatically"] td').last.inner_text() == "1"
    queues = {r[0]: r[1:] for r in rows(page, "queues")}
    assert queues["Central Unit"] == ["1", "1"]  # one waiting, overdue
    assert queues["National unit NLD"] == ["0", "0"]

    # The filter by crossing point: htmx swaps the panels without reloading the page, the URL follows.
    page.evaluate("window.__stayed = true")
    page.get_by_label("From", exact=True).fill("2026-04-10")
    page.get_by_label("Crossing point", exact=True).select_option("NL-AMS")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"/analyst\?.*bcp=NL-AMS"))
    page.wait_for_function("document.querySelector('[data-figure=entries]').textContent.trim() === '3'")
    assert page.evaluate("window.__stayed") is True
    assert [figure(page, k) for k in ("entries", "exits", "refusals", "overstays-ended")] == ["3", "1", "1", "0"]
    assert [r[0:2] for r in rows(page, "crossings")] == [["2026-04-10", "NL-AMS"], ["2026-04-11", "NL-AMS"],
                                                        ["2026-04-12", "NL-AMS"]]
    assert {r[0]: r[2] for r in rows(page, "refusals")}["E"] == "1"
    headers, got = csv_rows(page, "crossings")
    assert headers["content-type"].startswith("text/csv")
    assert headers["content-disposition"] == 'attachment; filename="crossings_2026-04-10_2026-04-13_NL-AMS.csv"'
    assert got == [["day", "bcp", "entries", "exits", "crossings", "refusals"],
                   ["2026-04-10", "NL-AMS", "2", "0", "2", "0"], ["2026-04-11", "NL-AMS", "1", "1", "2", "0"],
                   ["2026-04-12", "NL-AMS", "0", "0", "0", "1"]]

    # The dates: Apr 11-12 at every crossing point.
    page.get_by_label("From", exact=True).fill("2026-04-11")
    page.get_by_label("To", exact=True).fill("2026-04-12")
    page.get_by_label("Crossing point", exact=True).select_option("")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"date_from=2026-04-11&date_to=2026-04-12$"))
    page.wait_for_function("document.querySelector('[data-figure=entries]').textContent.trim() === '1'")
    assert [figure(page, k) for k in ("entries", "exits", "refusals", "overstays-ended")] == ["1", "2", "2", "1"]
    assert page.evaluate("window.__stayed") is True
    _, got = csv_rows(page, "refusals")
    assert got[0] == ["reason", "description", "refusals"]
    assert {r[0]: r[2] for r in got[1:]} == {"A": "0", "B": "0", "C": "1", "D": "0", "E": "2", "F": "0", "G": "0",
                                             "H": "0", "I": "0"}
    headers, got = csv_rows(page, "overstays")
    assert headers["content-disposition"].endswith('filename="overstays_2026-04-11_2026-04-12.csv"')
    assert got == [["nationality", "country", "overstays_ended_in_period", "overstaying_now"], ["IND", "India", "1", "1"]]
    _, got = csv_rows(page, "queues")
    assert got[:2] == [["queue", "waiting", "overdue"], ["CU", "1", "1"]] and len(got) == 2 + 30
    _, got = csv_rows(page, "etias")
    assert ["applications_by_status", "central_unit_verification", "1"] in got
    assert ["deadlines", "central_unit_met", "0"] not in got  # nothing verified yet: no deadline counted

    # The pushed URL is a bookmark: opened afresh it shows the same figures.
    page.goto(page.url)
    assert figure(page, "exits") == "2" and page.get_by_label("From", exact=True).input_value() == "2026-04-11"


def test_the_filters_work_without_javascript_and_bad_ones_are_explained(browser, server):
    seed(server)
    ctx = browser.new_context(base_url=server.url, java_script_enabled=False, viewport={"width": 1024, "height": 768})
    page = ctx.new_page()
    try:
        login(page, "analyst", "Ana Lyst")
        page.get_by_label("Nationality", exact=True).select_option("IND")
        page.get_by_label("From", exact=True).fill("2026-04-10")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(re.compile(r"nationality=IND"))
        assert [figure(page, k) for k in ("entries", "exits", "refusals", "overstaying-now")] == ["1", "0", "0", "1"]
        assert "India (IND)" in page.get_by_role("heading", level=2).first.inner_text()
        shot(page, "analyst-dashboard-tablet")
        r = page.goto("/analyst?date_from=2026-04-13&date_to=2026-04-01&bcp=XX-NOPE")
        assert r.status == 422
        alert = page.get_by_role("alert")
        assert "The end date lies before the start date." in alert.inner_text()
        assert "No crossing point has the code XX-NOPE." in alert.inner_text()
        assert page.locator("#date_to").get_attribute("aria-invalid") == "true"
        assert page.locator("svg.chart").count() == 0
        r = page.request.get("/analyst/export/crossings.csv?date_from=nonsense")
        assert r.status == 422 and "YYYY-MM-DD" in r.text()
        assert page.request.get(f"/analyst/export/people.csv?{RANGE}").status == 404
    finally:
        ctx.close()


def test_a_bad_filter_through_htmx_is_shown_in_place(page, server):
    login(page, "analyst", "Ana Lyst")
    page.get_by_label("From", exact=True).fill("2025-01-01")
    page.get_by_label("To", exact=True).fill("2026-04-10")
    page.get_by_role("button", name="Show").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "At most 366 days at once." in alert.inner_text()
    assert page.locator("#date_to-error").inner_text() == "At most 366 days at once."


@pytest.mark.parametrize("role, extra", [("border_guard", {"bcp": "NL-AMS"}), ("etias_central_unit", {}),
                                         ("traveller", {})])
def test_other_roles_may_not_open_the_dashboards_or_their_csv(page, server, role, extra):
    assert server.http.get(f"/analyst/export/crossings.csv?{RANGE}", follow_redirects=False).status_code == 303
    login(page, role, "Not An Analyst", next_url="/analyst", **extra)
    r = page.goto("/analyst")
    assert r.status == 403 and "may not open /analyst" in page.content()
    assert page.request.get(f"/analyst/export/crossings.csv?{RANGE}").status == 403
