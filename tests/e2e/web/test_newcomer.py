"""What the README promises a newcomer: `smartborders demo` (here with a small population, in a temporary
data directory), then in the browser a border check and entry, an ETIAS application, and a manual
decision by the national unit on one of the demo's files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from smartborders.travel.mrz import generate_td3
from tests.e2e.conftest import free_port
from tests.e2e.web.conftest import login, shot
from tests.e2e.web.test_border import type_mrz_as_a_scanner
from tests.e2e.web.test_traveller import fill_application
from tests.etias.factory import application


@pytest.fixture
def demo(tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBORDERS_")}
    env.update(SMARTBORDERS_DATA_DIR=str(tmp_path), SMARTBORDERS_LOG_JSON="false")
    exe = Path(sys.executable).with_name("smartborders")
    proc = subprocess.Popen([str(exe), "demo", "--no-browser", "--port", str(port), "--travellers", "150"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else "the demo stopped"
            try:
                health = httpx.get(f"{url}/health", timeout=5).json()
                if health.get("demo_data", "").startswith("ready") and health.get(
                        "etias_screening", "").startswith("ready"):
                    break
                assert not health.get("demo_data", "").startswith("failed"), health
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the demo data did not load in 5 minutes"
            time.sleep(1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_newcomer_checks_a_traveller_applies_for_etias_and_decides_a_case(browser, demo):
    ctx = browser.new_context(base_url=demo, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # 1. A border guard at Schiphol checks an arriving traveller and records the entry.
    login(page, "border_guard", "New Guard", bcp="NL-AMS")
    mrz = generate_td3(document_type="P", issuing_state="USA", surname="NEWCOMER", given_names="SAM",
                       document_number="N12345678", nationality="USA", birth_date=date(1990, 2, 3), sex="F",
                       expiry_date=date(2032, 1, 1))
    type_mrz_as_a_scanner(page, mrz)
    result = page.locator("#result")
    result.get_by_role("button", name="Record entry").wait_for()
    page.keyboard.press("F8")
    expect(result.locator(".verdict")).to_contain_text("Entry recorded")
    shot(page, "newcomer-border")
    page.get_by_role("button", name="Sign out").click()
    # 2. A traveller applies for ETIAS.
    login(page, "traveller", "Sam Newcomer")
    page.goto("/traveller/etias")
    fill_application(page, application(document={"number": "N87654321"}))
    page.get_by_role("button", name="Submit the application").click()
    page.wait_for_url(re.compile(r"/traveller/etias/applications/E"), timeout=60_000)
    expect(page.locator("#app-status")).to_have_text("Issued")
    page.get_by_role("button", name="Sign out").click()
    # 3. The Dutch national unit decides one of the demo's files (a "yes" to a background question).
    login(page, "etias_national_unit", "Nel Unit", state="NLD")
    page.goto("/etias")
    page.locator("main a[href^='/etias/cases/']").first.click()
    page.get_by_label("Issue the travel authorisation").check()
    page.get_by_label("Reasons for the decision").fill("the conviction is old and minor")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator("#decision")).to_contain_text("Nel.Unit")
    shot(page, "newcomer-etias-decision")
    ctx.close()
    assert not errors, errors
