from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from smartborders.core.clock import FixedClock, SystemClock, local_date, today
from smartborders.core.errors import InvalidInput, NotFound
from smartborders.core.settings import Settings


def test_fixed_clock_moves_only_when_told():
    clock = FixedClock(datetime(2026, 4, 10, 6, 0, tzinfo=timezone.utc))
    assert clock.now() == clock.now()
    clock.advance(timedelta(days=365))
    assert clock.now() == datetime(2027, 4, 10, 6, 0, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2026, 1, 1))


def test_system_clock_is_utc():
    assert SystemClock().now().utcoffset() == timedelta(0)


def test_calendar_day_is_the_local_date_at_the_crossing_point():
    # 23:30 UTC on 31 Dec is already 1 Jan in Helsinki and still 31 Dec in Lisbon.
    instant = datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)
    assert local_date(instant, "Europe/Helsinki") == date(2027, 1, 1)
    assert local_date(instant, "Europe/Lisbon") == date(2026, 12, 31)
    assert today(FixedClock(instant), "Europe/Helsinki") == date(2027, 1, 1)


def test_problem_json_shape():
    problem = NotFound("no individual file for document X123", document="X123").to_dict(instance="/api/v1/x")
    assert problem == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "no individual file for document X123",
        "instance": "/api/v1/x",
        "document": "X123",
    }
    assert InvalidInput("x").status == 422


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SMARTBORDERS_DATA_DIR", str(tmp_path))
    s = Settings()
    assert s.resolved_database_url() == f"sqlite:///{tmp_path / 'smartborders.db'}"
    monkeypatch.setenv("SMARTBORDERS_DATABASE_URL", "postgresql+psycopg://x@h/db")
    assert Settings().resolved_database_url() == "postgresql+psycopg://x@h/db"


def test_logs_are_one_json_object_per_line_on_stderr(capsys):
    import json

    from smartborders.core.logging import configure_logging, get_logger

    configure_logging("INFO", json=True)
    log = get_logger("test")
    log.debug("hidden")
    log.info("crossing recorded", bcp="NL-SPL", client_id="abc")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["event"] == "crossing recorded" and event["bcp"] == "NL-SPL" and event["level"] == "info"
    assert event["timestamp"].endswith("Z")
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("LOUD")
