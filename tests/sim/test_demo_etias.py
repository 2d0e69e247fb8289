"""The demo's ETIAS data: the consoles have applications in each queue, made through the real use case."""

from __future__ import annotations

from datetime import UTC, datetime

from smartborders.core.clock import FixedClock
from smartborders.ees.service import run
from smartborders.etias import service
from smartborders.sim.etias import seed_etias

NOW = datetime(2026, 12, 20, 10, tzinfo=UTC)


def test_the_demo_has_issued_files_and_work_for_both_units(ees_engine):
    assert seed_etias(ees_engine, NOW) == {"issued": 15, "central_unit": 4, "national_unit": 2}
    queue = run(ees_engine, FixedClock(NOW), lambda ctx: service.central_unit_queue(ctx), readonly=True)
    assert len(queue) == 4 and all(c.hits and c.hits[0].explanation for c in queue)
    nl = run(ees_engine, FixedClock(NOW), lambda ctx: service.national_unit_queue(ctx, "NLD"), readonly=True)
    assert len(nl) == 2 and all(c.waiting_on == "national_unit" for c in nl)
