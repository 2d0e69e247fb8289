"""The consoles' shell in a browser: sign-in, role-aware navigation, a console refused to the wrong role,
sign-out, safe headers, the CSRF check, and htmx loaded with no script errors."""

from __future__ import annotations

import re

from tests.e2e.web.conftest import login, shot


def test_sign_in_lands_on_the_role_console_and_only_its_consoles_are_offered(page, server):
    page.goto("/")
    assert page.url.endswith("/login")
    shot(page, "login")
    login(page, "analyst", "Ana Lyst")
    assert page.url.endswith("/analyst")
    nav = page.get_by_role("navigation", name="Consoles")
    assert nav.get_by_role("link").all_inner_texts() == ["Traveller", "Dashboards"]
    assert "Ana Lyst" in page.locator(".who").inner_text()
    r = page.goto("/border")
    assert r.status == 403 and "may not open /border" in page.content()
    page.goto("/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto("/analyst")
    assert "/login?next=/analyst" in page.url


def test_a_border_guard_must_give_a_crossing_point_and_lands_on_the_border_console(page):
    login(page, "border_guard", "Bo Guard")
    assert page.url.endswith("/login") and "choose it" in page.locator(".error").inner_text()
    login(page, "border_guard", "Bo Guard", bcp="NL-AMS")
    assert page.url.endswith("/border")
    assert "NL-AMS" in page.locator(".who").inner_text()
    assert page.evaluate("typeof htmx") == "object"


def test_forms_need_the_session_token_and_pages_carry_safe_headers(server):
    r = server.http.get("/login")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    token = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
    bad = server.http.post("/login", data={"csrf": "forged", "name": "X", "role": "analyst"})
    assert bad.status_code == 403
    ok = server.http.post("/login", data={"csrf": token, "name": "X", "role": "analyst", "next": "//evil.example"},
                          follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/analyst"  # no open redirect


def test_the_message_catalogue_switches_the_language(page):
    login(page, "traveller", "Reisende")
    with page.expect_navigation():
        page.get_by_label("Language").select_option("nl")
    assert page.get_by_role("button", name="Afmelden").is_visible()
    assert page.locator("html").get_attribute("lang") == "nl"
    with page.expect_navigation():
        page.get_by_label("Taal").select_option("en")
    assert page.get_by_role("button", name="Sign out").is_visible()
