"""The capacity simulator page of the analyst console (issue 8) in a browser: a shipped scenario run with
two policies gives one row per policy and both charts; bad input gives the form again with the error
(422), a forged form is refused, bad chart parameters give 422, and other roles may not open the page."""

from __future__ import annotations

import re

import pytest

from tests.e2e.web.conftest import login, shot


def _csrf(page) -> str:
    return page.locator('form[action="/analyst/simulate"] input[name="csrf"]').get_attribute("value")


def test_an_analyst_runs_a_scenario_and_sees_the_table_and_charts(page, server):
    login(page, "analyst", "Ana Lyst")
    page.get_by_role("link", name=re.compile("Capacity simulator")).click()
    page.wait_for_load_state()
    assert page.url.endswith("/analyst/simulate")
    assert page.get_by_role("heading", level=1).inner_text() == "Capacity simulator"
    # The defaults: full, skip_biometrics and suspend ticked, seed 0; a way back to the dashboards.
    ticked = [c.get_attribute("value") for c in page.locator('input[name="policies"]:checked').all()]
    assert ticked == ["full", "skip_biometrics", "suspend"]
    assert page.get_by_label("Seed").input_value() == "0"
    assert page.get_by_role("link", name="Back to the dashboards").get_attribute("href") == "/analyst"

    page.get_by_label("Scenario").select_option("small-land-crossing")
    page.locator("#policy-suspend").uncheck()
    page.get_by_label("Seed").fill("7")
    page.get_by_role("button", name="Run the simulation").click()
    page.wait_for_load_state("networkidle")

    table = page.locator('table[data-table="simulation"]')
    table.wait_for()
    assert page.get_by_role("heading", level=2).inner_text() == "Results: small-land-crossing, seed 7"
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    assert headers[:1] == ["Policy"] and "Missed connections" in headers and "Staff utilisation" in headers
    body = table.locator("tbody tr")
    assert body.count() == 2
    assert [r.get_attribute("data-policy") for r in body.all()] == ["full", "skip_biometrics"]
    for r in body.all():
        cells = [c.strip() for c in r.locator("td").all_inner_texts()]
        assert int(cells[0]) > 1000  # travellers on the day
        assert all(re.fullmatch(r"\d+\.\d", c) for c in cells[1:4])  # mean, p95, longest wait
        assert "%" in cells[-1]
    # The form keeps what was chosen.
    ticked = [c.get_attribute("value") for c in page.locator('input[name="policies"]:checked').all()]
    assert ticked == ["full", "skip_biometrics"]

    images = page.locator("img[data-chart]")
    assert images.count() == 2
    for img in images.all():
        img.scroll_into_view_if_needed()
        page.wait_for_function("(el) => el.complete", arg=img.element_handle())
        assert page.evaluate("(el) => el.naturalWidth", img.element_handle()) > 0
        alt = img.get_attribute("alt")
        assert "one line per policy" in alt and "full: at most" in alt and "skip_biometrics: at most" in alt
    src = images.first.get_attribute("src")
    assert "scenario=small-land-crossing" in src and "seed=7" in src
    r = page.request.get(src)
    assert r.status == 200 and r.headers["content-type"] == "image/png" and r.body()[:8] == b"\x89PNG\r\n\x1a\n"
    shot(page, "simulate")


def test_bad_input_gives_the_form_again_with_the_error(page, server):
    login(page, "analyst", "Ana Lyst")
    page.goto("/analyst/simulate")
    for box in page.locator('input[name="policies"]').all():  # untick every policy
        box.uncheck()
    page.get_by_role("button", name="Run the simulation").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Choose at least one policy to compare." in alert.inner_text()
    assert page.locator("#policies-error").inner_text() == "Choose at least one policy to compare."
    assert page.locator('table[data-table="simulation"]').count() == 0

    token = _csrf(page)
    r = page.request.post("/analyst/simulate", form={"csrf": token, "scenario": "small-land-crossing", "seed": "0"})
    assert r.status == 422 and "Choose at least one policy to compare." in r.text()
    r = page.request.post("/analyst/simulate", form={"csrf": token, "scenario": "../../etc/passwd",
                                                      "policies": "full", "seed": "0"})
    assert r.status == 422 and "There is no scenario" in r.text()
    r = page.request.post("/analyst/simulate", form={"csrf": token, "scenario": "small-land-crossing",
                                                      "policies": "warp_drive", "seed": "x"})
    assert r.status == 422 and "There is no policy warp_drive." in r.text() and "whole number" in r.text()
    r = page.request.post("/analyst/simulate", form={"csrf": "forged", "scenario": "small-land-crossing",
                                                      "policies": "full", "seed": "0"})
    assert r.status == 403

    for query in ("scenario=nowhere&policies=full&seed=0&kind=wait",
                  "scenario=small-land-crossing&policies=full,nope&seed=0&kind=wait",
                  "scenario=small-land-crossing&policies=&seed=0&kind=wait",
                  "scenario=small-land-crossing&policies=full&seed=-1&kind=wait",
                  "scenario=small-land-crossing&policies=full&seed=0&kind=pie"):
        assert page.request.get(f"/analyst/simulate/chart.png?{query}").status == 422, query


@pytest.mark.parametrize("role, extra", [("border_guard", {"bcp": "NL-AMS"}), ("traveller", {})])
def test_other_roles_may_not_open_the_simulator(page, server, role, extra):
    assert server.http.get("/analyst/simulate", follow_redirects=False).status_code == 303
    login(page, role, "Not An Analyst", **extra)
    r = page.goto("/analyst/simulate")
    assert r.status == 403 and "may not open /analyst/simulate" in page.content()
    chart = "/analyst/simulate/chart.png?scenario=small-land-crossing&policies=full&seed=0&kind=wait"
    assert page.request.get(chart).status == 403


def test_the_simulator_passes_axe(browser, server):
    from tests.e2e.web.test_accessibility import AXE

    ctx = browser.new_context(base_url=server.url, viewport={"width": 1024, "height": 768}, bypass_csp=True)
    try:
        page = ctx.new_page()
        login(page, "analyst", "Axe Tester")
        page.goto("/analyst/simulate")
        page.get_by_label("Scenario").select_option("small-land-crossing")
        page.get_by_role("button", name="Run the simulation").click()
        page.locator('table[data-table="simulation"]').wait_for()
        page.wait_for_load_state("networkidle")
        page.add_script_tag(content=AXE)
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, bad
    finally:
        ctx.close()
