"""Heavy-traffic modes of a crossing point (Reg. 2025/1534) on both databases: set by a supervisor inside the
legal window for at most 6 hours, one at a time; crossings take the mode of their time (without biometrics:
recorded as heavy traffic; suspended: refused, stamp instead); ended early or by the clock. Skipping biometrics
is the supervisor's decision: a crossing that claims heavy traffic without a mode in force is refused."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from smartborders.core.clock import FixedClock
from smartborders.ees import modes, service
from smartborders.ees import schemas as S
from smartborders.ees.models import EntryExitRecord, IdempotentRequest, IndividualFile
from smartborders.ees.service import run
from tests.ees.factory import Traveller, client_id
from tests.specimens import face_png, four_fingers

SUMMER = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def set_mode(engine, clock, mode="no_biometrics", minutes=120, bcp="NL-AMS"):
    cmd = modes.ModeIn(supervisor="sup.1", mode=mode, minutes=minutes, reason="queue over 90 minutes")
    return run(engine, clock, lambda ctx: modes.set_mode(ctx, bcp, cmd))


def test_a_mode_only_inside_the_window_one_at_a_time_and_at_most_six_hours(ees_engine):
    with pytest.raises(modes.OutsideWindow):
        set_mode(ees_engine, FixedClock(datetime(2026, 11, 30, 9, tzinfo=UTC)))
    with pytest.raises(ValidationError):
        modes.ModeIn(supervisor="sup.1", mode="suspended", minutes=361, reason="too long")
    c = FixedClock(SUMMER)
    m = set_mode(ees_engine, c)
    assert m.active and m.ends_at == SUMMER + timedelta(minutes=120)
    with pytest.raises(modes.ModeActive):
        set_mode(ees_engine, c, "suspended")
    assert set_mode(ees_engine, c, bcp="DE-FRA").active  # another crossing point is its own
    c.advance(timedelta(minutes=121))  # ended by the clock
    assert run(ees_engine, c, lambda ctx: modes.modes(ctx, "NL-AMS"), readonly=True).current == "full"
    again = set_mode(ees_engine, c, "suspended", 60)
    ended = run(ees_engine, c, lambda ctx: modes.end_mode(ctx, "NL-AMS", again.id, modes.ModeEndIn(supervisor="sup.2")))
    assert not ended.active and ended.ended_by == "sup.2"
    out = run(ees_engine, c, lambda ctx: modes.modes(ctx, "NL-AMS"), readonly=True)
    assert out.current == "full" and [x.mode for x in out.modes] == ["suspended", "no_biometrics"]


def test_crossings_take_the_mode_of_their_time(ees_engine):
    c = FixedClock(SUMMER)
    set_mode(ees_engine, c, "no_biometrics", 60)
    t = Traveller("USA")
    bio = S.BiometricsIn(face=b64(face_png()), fingerprints=four_fingers(41))
    entry = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=bio)))
    f = run(ees_engine, c, lambda ctx: service.get_file(ctx, uuid.UUID(entry.file_id)), readonly=True)
    assert f.records[-1].mode == "heavy_traffic" and f.face_status != "present"  # nothing taken: completed later
    c.advance(timedelta(minutes=61))
    s = set_mode(ees_engine, c, "suspended", 30)
    u = Traveller("CAN")
    with pytest.raises(modes.Suspended):
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, u.entry()))
    refusal = S.RefusalCommand(client_id=client_id(), bcp="NL-AMS", authority="NL-KMAR", document=u.document,
                               identity=u.identity, reasons=["E"])
    with pytest.raises(modes.Suspended):
        run(ees_engine, c, lambda ctx: service.record_refusal(ctx, refusal))
    # A crossing made before the suspension (a fall-back upload) takes the mode of its own time.
    before = u.entry(at=SUMMER + timedelta(minutes=30), fallback=True)
    late = run(ees_engine, c, lambda ctx: service.record_entry(ctx, before))
    g = run(ees_engine, c, lambda ctx: service.get_file(ctx, uuid.UUID(late.file_id)), readonly=True)
    assert g.records[-1].mode == "heavy_traffic" and g.records[-1].fallback
    # Elsewhere, full operation.
    v = Traveller("AUS")
    assert run(ees_engine, c, lambda ctx: service.record_entry(ctx, v.entry(bcp="DE-FRA"))).file_created
    run(ees_engine, c, lambda ctx: modes.end_mode(ctx, "NL-AMS", s.id, modes.ModeEndIn(supervisor="sup.1")))
    w = Traveller("NZL")
    full = run(ees_engine, c, lambda ctx: service.record_entry(ctx, w.entry(biometrics=S.BiometricsIn(
        face=b64(face_png(3)), fingerprints=four_fingers(43)))))
    h = run(ees_engine, c, lambda ctx: service.get_file(ctx, uuid.UUID(full.file_id)), readonly=True)
    assert h.records[-1].mode == "full"


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(m)).scalar_one()  # type: ignore[return-value]
                     for m in (IndividualFile, EntryExitRecord, IdempotentRequest))


def test_heavy_traffic_only_while_a_supervisors_mode_is_in_force(ees_engine):
    c = FixedClock(SUMMER)
    t = Traveller("USA")
    before = counts(ees_engine)
    with pytest.raises(modes.NoHeavyTrafficMode) as e:
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(heavy_traffic=True)))
    p = e.value
    assert (p.status, p.slug) == (409, "no-heavy-traffic-mode") and "NL-AMS" in p.detail
    assert "supervisor" in p.detail and "/api/v1/bcps/NL-AMS/modes" in p.detail
    assert counts(ees_engine) == before  # nothing written: no file, no record, no remembered answer
    # With a supervisor's mode: recorded in heavy-traffic mode, without biometrics.
    m = set_mode(ees_engine, c, "no_biometrics", 60)
    entry = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(heavy_traffic=True)))
    f = run(ees_engine, c, lambda ctx: service.get_file(ctx, uuid.UUID(entry.file_id)), readonly=True)
    assert [r.mode for r in f.records] == ["heavy_traffic"]
    # A fall-back exit taken offline during the mode...
    offline = t.exit(at=SUMMER + timedelta(minutes=50), fallback=True, heavy_traffic=True)
    # ...the mode ends by the clock: heavy traffic is refused again, and nothing is written.
    c.advance(timedelta(minutes=61))
    u = Traveller("CAN")
    before = counts(ees_engine)
    with pytest.raises(modes.NoHeavyTrafficMode):
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, u.entry(heavy_traffic=True)))
    with pytest.raises(modes.NoHeavyTrafficMode):
        run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit(heavy_traffic=True)))
    assert counts(ees_engine) == before
    # The fall-back upload after the mode ended takes the mode of its own time: accepted.
    out = run(ees_engine, c, lambda ctx: service.record_exit(ctx, offline))
    assert out.biometrics is None and out.exit_date == SUMMER.date()
    g = run(ees_engine, c, lambda ctx: service.get_file(ctx, uuid.UUID(entry.file_id)), readonly=True)
    assert g.records[-1].exit_date == SUMMER.date() and g.records[-1].fallback
    late = u.entry(at=SUMMER + timedelta(minutes=55), fallback=True, heavy_traffic=True)
    up = run(ees_engine, c, lambda ctx: service.record_entry(ctx, late))
    h = run(ees_engine, c, lambda ctx: service.get_file(ctx, uuid.UUID(up.file_id)), readonly=True)
    assert (h.records[-1].mode, h.records[-1].fallback) == ("heavy_traffic", True)
    # A fall-back record from before the mode began claims no mode of its time: refused.
    early = Traveller("AUS").entry(at=SUMMER - timedelta(minutes=5), fallback=True, heavy_traffic=True)
    with pytest.raises(modes.NoHeavyTrafficMode):
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, early))
    # A mode ended early by the supervisor ends the heavy traffic too.
    m2 = set_mode(ees_engine, c, "no_biometrics", 60)
    run(ees_engine, c, lambda ctx: modes.end_mode(ctx, "NL-AMS", m2.id, modes.ModeEndIn(supervisor="sup.2")))
    with pytest.raises(modes.NoHeavyTrafficMode):
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, Traveller("NZL").entry(heavy_traffic=True)))
    assert m.id != m2.id


def test_a_replayed_heavy_traffic_entry_gets_its_first_answer_after_the_mode_ended(ees_engine):
    c = FixedClock(SUMMER)
    set_mode(ees_engine, c, "no_biometrics", 30)
    cmd = Traveller("USA").entry(heavy_traffic=True)
    first = run(ees_engine, c, lambda ctx: service.record_entry(ctx, cmd))
    c.advance(timedelta(minutes=45))
    assert run(ees_engine, c, lambda ctx: service.record_entry(ctx, cmd)) == first  # idempotent, not a 409
