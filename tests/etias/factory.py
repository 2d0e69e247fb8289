"""Synthetic ETIAS applications (no real person's data)."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

_n = itertools.count(1)


def application(**over: Any) -> dict[str, Any]:
    """A complete, admissible application of an adult US national, as JSON; `over` replaces top-level
    parts, `person={...}` etc. are merged into theirs."""
    k = next(_n)
    body: dict[str, Any] = {
        "client_id": f"web-{k:06d}-{id(over) % 100000}",
        "person": {"surname": "Ramírez", "given_names": "Ana Lucía", "birth_date": "1988-04-12",
                   "birth_place": "San Antonio", "birth_country": "USA", "sex": "F", "nationality": "USA",
                   "parents_first_names": ["Carlos", "María"]},
        "document": {"document_type": "P", "number": f"X{k:08d}", "issuing_country": "USA",
                     "issued_on": "2022-03-01", "expires_on": "2032-02-28"},
        "residence": {"address": "12 Elm Street, San Antonio TX", "city": "San Antonio", "country": "USA"},
        "contact": {"email": "ana.ramirez@example.org", "phones": ["+1 210 555 0100"]},
        "education": "higher",
        "job_group": "25",
        "first_member_state": "NLD",
        "background": {"conviction": {"answer": False}, "conflict_zone": {"answer": False},
                       "removal": {"answer": False}},
        "declarations": {"data_true_and_complete": True, "aware_of_entry_conditions": True},
        "payment": {"reference": f"PAY-{k:06d}", "amount_eur": "20.00"},
    }
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        elif value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def minor_birth_date(on: date) -> str:
    return date(on.year - 10, 6, 1).isoformat()
