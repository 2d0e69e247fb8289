"""The benchmark table every bench command prints: a title line with the machine, then Markdown rows."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence

import numpy as np


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    print(f"\n{title} — {platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
          f"numpy {np.__version__} · {time.strftime('%Y-%m-%d %H:%M')}\n")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"

    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))
