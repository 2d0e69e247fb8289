"""The `smartborders stay` contract, run as the installed command (other tools depend on it exactly)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

KEYS = {
    "days_used", "overstay", "first_overstay_day", "overstay_periods", "days_over_limit",
    "max_stay_days", "latest_exit", "next_entry", "explanation",
}


def stay(payload) -> dict:
    proc = run_cli("stay", stdin=json.dumps(payload))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert KEYS <= set(out)
    return out


def test_check_mode_e2():
    out = stay({"stays": [["2026-07-01", "2026-07-10"], ["2026-07-10", "2026-07-20"]], "date": "2026-07-20",
                "mode": "check"})
    assert out["days_used"] == 20 and out["overstay"] is False and out["first_overstay_day"] is None
    assert out["overstay_periods"] == [] and out["days_over_limit"] == 0
    assert out["max_stay_days"] == 71 and out["latest_exit"] == "2026-09-28"
    assert out["next_entry"] == {"date": "2026-07-21", "max_stay_days": 70}
    assert "2026-09-29" in out["explanation"]


def test_plan_mode_d5_next_entry():
    out = stay({"stays": [["2026-06-10", "2026-09-07"]], "date": "2026-09-08", "mode": "plan"})
    assert out["max_stay_days"] == 0 and out["latest_exit"] is None
    assert out["next_entry"] == {"date": "2026-12-07", "max_stay_days": 90}


def test_overstay_periods_and_days_over_limit():
    out = stay({"stays": [["2025-03-01", "2025-05-29"], ["2025-07-01", "2025-07-10"]], "date": "2025-07-10",
                "mode": "check"})
    assert out["overstay"] is True and out["first_overstay_day"] == "2025-07-01"
    assert out["overstay_periods"] == [["2025-07-01", "2025-07-10"]]
    assert out["days_used"] == 100 and out["days_over_limit"] == 10 and out["max_stay_days"] == 0


def test_empty_history():
    out = stay({"stays": [], "date": "2024-01-01", "mode": "plan"})
    assert out["max_stay_days"] == 90 and out["latest_exit"] == "2024-03-30"


def test_visa_extension_keys():
    out = stay({"stays": [["2016-04-05", "2016-04-14"]], "date": "2016-06-01", "mode": "plan",
                "visa": {"valid_from": "2016-04-01", "valid_until": "2016-07-31", "duration_days": 30, "entries": 2}})
    assert out["latest_exit"] == "2016-06-20" and out["visa"]["limited_by"] == "visa_duration"


@pytest.mark.parametrize(
    "stdin, message",
    [
        ("not json", "not valid JSON"),
        ("[]", "one JSON object"),
        (json.dumps({"stays": [["2025-01-10", "2025-01-05"]], "date": "2025-02-01", "mode": "check"}), "before entry"),
        (json.dumps({"stays": [["2025-01-01", "2025-01-10"], ["2025-01-05", "2025-01-12"]], "date": "2025-02-01",
                     "mode": "check"}), "overlap"),
        (json.dumps({"stays": [["2025-02-30", "2025-03-01"]], "date": "2025-04-01", "mode": "check"}),
         "not a calendar date"),
        (json.dumps({"stays": [], "date": "2025-13-01", "mode": "check"}), "not a calendar date"),
        (json.dumps({"stays": [], "date": 20250101, "mode": "check"}), "YYYY-MM-DD"),
        (json.dumps({"stays": [], "date": "2025-01-01", "mode": "control"}), "mode"),
        (json.dumps({"stays": [], "date": "2025-01-01"}), "missing key 'mode'"),
        (json.dumps({"stays": [["2025-01-01"]], "date": "2025-01-01", "mode": "plan"}), "stays[0]"),
        (json.dumps({"stays": [["2025-01-01", "2025-03-01"]], "date": "2025-02-01", "mode": "check"}), "ends after"),
    ],
)
def test_bad_input_exits_non_zero_with_a_message(stdin, message):
    proc = run_cli("stay", stdin=stdin)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert message in proc.stderr


def test_bad_configuration_is_a_message_not_a_traceback():
    import os
    import subprocess

    from tests.conftest import CLI

    env = dict(os.environ, SMARTBORDERS_LOG_LEVEL="LOUD")
    proc = subprocess.run([str(CLI), "stay"], input="{}", capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and "SMARTBORDERS_LOG_LEVEL" in proc.stderr and "Traceback" not in proc.stderr
