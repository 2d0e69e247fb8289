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


def test_the_screening_rules_bench_prints_its_table_and_the_fairness_report(tmp_path):
    out = tmp_path / "fairness.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.etias_fairness", "--applications", "150", "--min-group", "10",
         "--report", str(out)],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1],
    )
    assert proc.returncode == 0, proc.stderr
    assert "| rule evaluation" in proc.stdout and "# ETIAS screening rules: fairness report" in proc.stdout
    assert out.read_text().startswith("# ETIAS screening rules: fairness report")
