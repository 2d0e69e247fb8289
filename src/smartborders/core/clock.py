"""One clock for the whole system, injected everywhere (DESIGN.md: "One clock").

Tests and the simulator pass a `FixedClock` and move it by hand, so a traveller's whole year
replays in milliseconds. Times are always timezone-aware UTC; the calendar day that the 90/180
rule counts is the local date at the crossing point (`local_date`).
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:  # pragma: no cover - protocol
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to; thread-safe so a served app can share it with a test."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = _require_aware(instant)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now = self._now + delta
            return self._now


def _require_aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"clock instants must be timezone-aware, got naive {instant.isoformat()}")
    return instant.astimezone(UTC)


def local_date(instant: datetime, tz: str | ZoneInfo) -> date:
    """The calendar date at a crossing point for an instant (SBC Art. 6(2) counts calendar days)."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return _require_aware(instant).astimezone(zone).date()


def today(clock: Clock, tz: str | ZoneInfo = "UTC") -> date:
    return local_date(clock.now(), tz)
