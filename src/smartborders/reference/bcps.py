"""Border crossing points known to this installation (code, name, Member State, kind, time zone)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from smartborders.reference import read_rows


@dataclass(frozen=True)
class CrossingPoint:
    code: str
    name: str
    state: str  # ISO 3166 alpha-2 of the Member State operating it
    kind: str  # air, land, sea, rail
    timezone: str  # where the calendar day of a crossing is counted (SBC Art. 6(2))


@lru_cache(maxsize=1)
def crossing_points() -> dict[str, CrossingPoint]:
    return {r["code"]: CrossingPoint(**r) for r in read_rows("bcps.csv")}
