"""schemathesis over the whole OpenAPI description, over real HTTP, on both databases: no 5xx, and
every answer matches the schema (status codes, content types, bodies).

Run through its CLI: its pytest plugin does not load under pytest 9 (AttributeError on `_nodeid`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from smartborders.core import auth
from smartborders.core.db import unit_of_work
from tests.e2e.conftest import Server

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
])


def test_api_answers_by_its_schema(server: Server, tmp_path: Path):
    # Signed in as someone holding every person's role (at NL-AMS, for NLD), so that the generated requests
    # get past the door to the routes' own validation; who may do what is test_access_matrix.py's business.
    with unit_of_work(server.engine) as s:
        acc, _ = auth.create_account(s, "fuzz.all", "Fuzz", list(auth.PERSON_ROLES), server.clock.now(),
                                     bcp="NL-AMS")
        token = auth.issue_token(acc.principal("token"), server.clock.now(), minutes=30)[0]
    exe = Path(sys.executable).with_name("schemathesis")
    proc = subprocess.run(
        [str(exe), "run", f"{server.url}/openapi.json", "--checks", CHECKS, "--max-examples", "25",
         "--suppress-health-check", "all", "--seed", "1", "--header", f"Authorization: Bearer {token}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
