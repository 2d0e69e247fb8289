"""Reference data (countries, visa policy, refusal reasons, crossing points): data files with loaders."""

from __future__ import annotations

import csv
from importlib.resources import files


def read_rows(name: str) -> list[dict[str, str]]:
    """The rows of one CSV file in `reference/data`."""
    with (files(__package__) / "data" / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))
