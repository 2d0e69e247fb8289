"""The demo's synthetic biometrics and second-system records: the sBMS, CIR and MID have work to show."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from smartborders.core.db import unit_of_work
from smartborders.interop import mid
from smartborders.interop.models import MidLink
from smartborders.interop.sbms import service_for
from smartborders.sim import generate
from smartborders.sim.biometrics import enrol_population


def test_every_file_gets_a_face_and_re_registered_people_get_links(ees_engine):
    generate(ees_engine, travellers=60, days=20, end=date(2026, 11, 29), seed=8)
    out = enrol_population(ees_engine, datetime(2026, 11, 29, 12, tzinfo=UTC), elsewhere=9)
    assert out["faces"] == 60 and out["etias"] == 9 and out["links"] == 9
    with unit_of_work(ees_engine, readonly=True) as s:
        colours = Counter(s.scalars(MidLink.__table__.select().with_only_columns(MidLink.__table__.c.colour)))
        assert colours == {"white": 3, "yellow": 6}
        queue = mid.yellow_links(s, "EES")
    assert len(queue) == 6 and {q["b"].split(":")[0] for q in queue} == {"ETIAS"}
    same_face = [q for q in queue if q["same_biometrics"]]
    assert len(same_face) == 3
    # Each EES face is found by 1:N search under its own file.
    probe_subject = same_face[0]["a"]
    found = service_for(ees_engine).identify_face(_face_of(ees_engine, probe_subject), k=3, system="EES")
    assert found[0].subject == probe_subject


def _face_of(engine, subject):
    import numpy as np

    from smartborders.interop.models import BiometricTemplate

    t = BiometricTemplate.__table__
    with unit_of_work(engine, readonly=True) as s:
        data = s.scalar(t.select().with_only_columns(t.c.data).where(t.c.subject == subject))
    return np.frombuffer(data, np.float32)
