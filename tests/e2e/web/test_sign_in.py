"""Signing in to the consoles with an account, in a real browser: the argon2 password, the one message for
every failure, the lock-out, an account's role deciding the console, a disabled account thrown out, and
the demo sign-in absent where it is off (the default). The traveller's console needs no account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from smartborders.core import auth
from smartborders.core.db import unit_of_work
from smartborders.core.settings import get_settings
from tests.e2e.web.conftest import shot

PASSWORD = "a long passphrase at the border"


def _sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in with your account").click()
    page.wait_for_load_state()


def test_account_sign_in_lockout_and_disabling(page, server, monkeypatch):
    monkeypatch.setattr(get_settings(), "demo_login", False)  # a real installation
    with unit_of_work(server.engine) as s:
        auth.create_account(s, "anna.bos", "Anna Bos", ["border_guard"], server.clock.now(), password=PASSWORD,
                            bcp="NL-AMS", authority="KMar Schiphol")
        auth.create_account(s, "piet.cap", "Piet Cap", ["central_access_point"], server.clock.now(),
                            password=PASSWORD, state="NLD")
    page.goto("/login")
    assert page.get_by_label("Your name").count() == 0  # no demo sign-in
    shot(page, "sign-in")
    # A demo sign-in posted by hand is refused where the demo is off.
    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    r = page.request.post("/login", form={"csrf": token, "name": "Mallory", "role": "analyst"})
    assert r.status == 422 and "/analyst" not in r.url
    _sign_in(page, "anna.bos", PASSWORD)
    assert page.url.endswith("/border")
    assert "Anna Bos" in page.locator("header").inner_text()
    page.goto("/analyst")
    assert "may not open" in page.locator("main").inner_text()
    # Disabled: the open session ends (within the 30 s the service remembers an account's state).
    with unit_of_work(server.engine) as s:
        auth.disable_account(s, "anna.bos", server.clock.now())
    page.goto("/border")
    assert "/login" in page.url
    # An account without a console (the central access point works through the API).
    _sign_in(page, "piet.cap", PASSWORD)
    assert "no console" in page.get_by_role("alert").inner_text()
    # Five failures lock the account, the right password included, until 15 minutes have passed.
    for _ in range(auth.MAX_FAILURES):
        _sign_in(page, "piet.cap", "guess guess guess")
    _sign_in(page, "piet.cap", PASSWORD)
    assert "locked" in page.get_by_role("alert").inner_text() and "/login" in page.url
    server.clock.advance(timedelta(minutes=auth.LOCK_MINUTES + 1))
    _sign_in(page, "piet.cap", PASSWORD)
    assert "no console" in page.get_by_role("alert").inner_text()  # the password works again


def test_the_travellers_console_needs_no_account(page, server, monkeypatch):
    monkeypatch.setattr(get_settings(), "demo_login", False)
    page.goto("/traveller")
    assert "/login" not in page.url
    assert page.get_by_role("heading").first.is_visible()
