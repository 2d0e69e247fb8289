"""schemathesis over the whole OpenAPI description, over real HTTP, on both databases: no 5xx, and
every answer matches the schema (status codes, content types, bodies).

Run through its CLI: its pytest plugin does not load under pytest 9 (AttributeError on `_nodeid`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import Server

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
])


def test_api_answers_by_its_schema(server: Server, tmp_path: Path):
    exe = Path(sys.executable).with_name("schemathesis")
    proc = subprocess.run(
        [str(exe), "run", f"{server.url}/openapi.json", "--checks", CHECKS, "--max-examples", "25",
         "--suppress-health-check", "all", "--seed", "1"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
