"""Every console screen passes axe-core (4.14.1, vendored for the tests; MPL-2.0) with no serious or
critical violation: labels, names, contrast, landmarks, ARIA, focusable controls."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.web.conftest import login

AXE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text()
SCREENS = [
    (None, {}, "/login"),
    ("border_guard", {"bcp": "NL-AMS"}, "/border"),
    ("etias_central_unit", {}, "/etias"),
    ("etias_national_unit", {"state": "NLD"}, "/etias"),
    ("traveller", {}, "/traveller"),
    ("analyst", {}, "/analyst"),
    ("analyst", {}, "/analyst/simulate"),
]


@pytest.fixture
def axe_page(browser, server):
    # The pages forbid injected scripts (CSP); this context alone lets the test inject axe.
    ctx = browser.new_context(base_url=server.url, viewport={"width": 1024, "height": 768}, bypass_csp=True)
    yield ctx.new_page()
    ctx.close()


@pytest.mark.parametrize(("role", "extra", "path"), SCREENS, ids=[f"{r or 'anonymous'}-{p}" for r, _, p in SCREENS])
def test_no_serious_accessibility_violations(axe_page, role, extra, path):
    page = axe_page
    if role:
        login(page, role, "Axe Tester", **extra)
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.add_script_tag(content=AXE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{path} as {role}: {bad}"
