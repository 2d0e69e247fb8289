"""The benchmark command runs end to end and prints its table (figures are checked in bench/, not here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_bench_quick_prints_the_table():
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--travellers", "20000", "--histories", "20", "--sbms", "20000"],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1],
    )
    assert proc.returncode == 0, proc.stderr
    assert "| what" in proc.stdout
    for row in ("90/180 check", "overstay sweep", "same answers", "1:N face, exact scan", "recall@1"):
        assert row in proc.stdout
