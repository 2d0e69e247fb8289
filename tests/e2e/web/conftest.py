"""The consoles in a real browser: Debian's chromium driven by Playwright (no browser download;
notes/libraries.md). CI installs chromium and requires it (SMARTBORDERS_REQUIRE_BROWSER=1); elsewhere the
browser tests are skipped when /usr/bin/chromium is missing. Screenshots go to test-artifacts/screenshots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("SMARTBORDERS_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).parents[3] / "test-artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("SMARTBORDERS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); the console tests need it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def demo_sign_in(monkeypatch: Any) -> None:
    """The console tests sign in with the demo sign-in (a role, no password), as `smartborders demo` does;
    test_sign_in.py proves the account sign-in and that the demo one is off by default."""
    from smartborders.core.settings import get_settings

    monkeypatch.setattr(get_settings(), "demo_login", True)


@pytest.fixture
def page(browser: Any, server: Any) -> Iterator[Any]:
    ctx = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900}, locale="en-GB")
    ctx.set_default_timeout(15_000)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # A page's own script errors, and resources that failed (a 404, a 500); the 401/403/422 answers the
    # tests ask for on purpose are not errors of the page.
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and not any(
        f"status of {code}" in m.text for code in (401, 403, 422)) else None)
    yield pg
    ctx.close()
    assert not errors, f"the page logged errors: {errors}"


def login(page: Any, role: str, name: str = "Test Officer", *, bcp: str | None = None, state: str | None = None,
          next_url: str = "") -> None:
    page.goto("/login" + (f"?next={next_url}" if next_url else ""))
    page.get_by_label("Your name").fill(name)
    page.locator(f'input[name="role"][value="{role}"]').check()
    if bcp:
        page.get_by_label("Crossing point (border guards)").select_option(bcp)
    if state:
        page.get_by_label("Member State (national unit officers)").select_option(state)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()


def shot(page: Any, name: str) -> Path:
    """A screenshot for the test artefacts (and the README)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
