"""Heavy-traffic modes of a crossing point (Reg. 2025/1534) on both databases: set by a supervisor inside the
legal window for at most 6 hours, one at a time; crossings take the mode of their time (without biometrics:
recorded as heavy traffic; suspended: refused, stamp instead); ended early or by the clock."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from smartborders.core.clock import FixedClock
from smartborders.ees import modes, service
from smartborders.ees import schemas as S
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
