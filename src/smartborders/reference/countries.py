"""Country codes: ISO 3166-1 alpha-3 plus the extra codes ICAO Doc 9303 Part 3 allows in an MRZ."""

from __future__ import annotations

from functools import lru_cache

from smartborders.reference import read_rows as _rows


@lru_cache(maxsize=1)
def iso_alpha3() -> dict[str, str]:
    """ISO 3166-1 alpha-3 code -> English short name."""
    return {r["alpha3"]: r["name"] for r in _rows("countries.csv")}


@lru_cache(maxsize=1)
def icao_codes() -> dict[str, str]:
    """Every code an MRZ may carry as issuing state or nationality -> name."""
    codes = dict(iso_alpha3())
    codes.update({r["code"]: r["name"] for r in _rows("icao_codes.csv")})
    return codes


def is_icao_code(code: str) -> bool:
    return code in icao_codes()
