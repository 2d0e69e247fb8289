"""Heavy-traffic modes of a crossing point (Reg. (EU) 2025/1534; spec/ees.md §5): for a time, a
supervisor may let the crossing point record without biometrics (partial suspension) or suspend EES
registration there (full suspension: passports are stamped, national procedures apply).

- At most 6 hours at a time [R], one mode at a time per crossing point, ended early by a supervisor.
- Only inside the window the law allows (after the progressive start: 90 days from 10 April 2026,
  extendable by 60 [R, article unverified]): `SMARTBORDERS_EES_DEROGATION_FROM` / `_UNTIL`.
- Every crossing recorded at that crossing point in that time takes the mode: without biometrics its
  record says `heavy_traffic` (and the file is completed at a later crossing); suspended, the EES refuses to
  record it (409 /problems/ees-suspended). Switches are audited like every request.
- Skipping biometrics is the supervisor's decision, never the crossing point's alone: an entry or exit that
  says `heavy_traffic: true` while no `no_biometrics` mode is in force at its crossing point at its time
  is refused (409 /problems/no-heavy-traffic-mode; a supervisor sets the mode with
  POST /api/v1/bcps/{code}/modes). "Its time" is the crossing's own (`at`, else now): a fall-back record
  made offline during a mode and uploaded after it ended keeps that mode. The border check has no such
  flag (it takes no `heavy_traffic`: a client that sends one gets 422, as for any unknown field).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import String, Uuid, select
from sqlalchemy.orm import Mapped, mapped_column

from smartborders.core.db import Base, UTCDateTime
from smartborders.core.errors import Conflict, InvalidInput, NotFound
from smartborders.ees.schemas import Out, Strict

MAX_HOURS = 6


class BcpMode(Base):
    __tablename__ = "ees_bcp_mode"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    bcp: Mapped[str] = mapped_column(String(16), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # no_biometrics, suspended
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500))
    set_by: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # ended early
    ended_by: Mapped[str | None] = mapped_column(String(64))


class ModeIn(Strict):
    supervisor: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    mode: Literal["no_biometrics", "suspended"]
    minutes: int = Field(ge=1, le=MAX_HOURS * 60, description="at most 6 hours at a time")
    reason: str = Field(min_length=3, max_length=500, description="e.g. the waiting time that justifies it")


class ModeEndIn(Strict):
    supervisor: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")


class ModeOut(Out):
    id: str
    bcp: str
    mode: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    set_by: str
    ended_at: datetime | None
    ended_by: str | None
    active: bool


class ModesOut(Out):
    bcp: str
    current: str = Field(description="full, no_biometrics or suspended, now")
    modes: list[ModeOut]


class ModeActive(Conflict):
    slug = "ees-bcp-mode-active"
    title = "A heavy-traffic mode is already in force at this crossing point"


class OutsideWindow(Conflict):
    slug = "ees-derogation-not-in-force"
    title = "The law does not allow a heavy-traffic mode now"


class NoHeavyTrafficMode(Conflict):
    slug = "no-heavy-traffic-mode"
    title = "No heavy-traffic mode is in force at this crossing point"


class Suspended(Conflict):
    slug = "ees-suspended"
    title = "EES registration is suspended at this crossing point"


def _out(m: BcpMode, now: datetime) -> ModeOut:
    return ModeOut(id=str(m.id), bcp=m.bcp, mode=m.mode, starts_at=m.starts_at, ends_at=m.ends_at, reason=m.reason,
                   set_by=m.set_by, ended_at=m.ended_at, ended_by=m.ended_by, active=_active(m, now))


def _active(m: BcpMode, at: datetime) -> bool:
    end = min(m.ends_at, m.ended_at) if m.ended_at else m.ends_at
    return m.starts_at <= at < end


def mode_at(session: Any, bcp: str, at: datetime) -> BcpMode | None:
    """The mode in force at a crossing point at an instant (a fall-back upload takes the mode of its time)."""
    rows = session.scalars(select(BcpMode).where(BcpMode.bcp == bcp, BcpMode.starts_at <= at,
                                                 BcpMode.ends_at > at)).all()
    return next((m for m in rows if _active(m, at)), None)


def _bcp(code: str) -> str:
    from smartborders.reference.bcps import crossing_points

    if code not in crossing_points():
        raise NotFound(f"no crossing point {code}")
    return code


def set_mode(ctx: Any, code: str, cmd: ModeIn) -> ModeOut:
    from smartborders.core.settings import get_settings

    bcp = _bcp(code)
    now = ctx.now()
    s = get_settings()
    if not s.ees_derogation_from <= now.date() <= s.ees_derogation_until:
        raise OutsideWindow(f"heavy-traffic modes are allowed from {s.ees_derogation_from} to "
                            f"{s.ees_derogation_until} (Reg. 2025/1534; extended only by a new act)",
                            window=[s.ees_derogation_from.isoformat(), s.ees_derogation_until.isoformat()])
    ends = now + timedelta(minutes=cmd.minutes)
    if ends.date() > s.ees_derogation_until + timedelta(days=1):
        raise InvalidInput(f"minutes: the mode would outlast the window ending {s.ees_derogation_until}")
    current = mode_at(ctx.session, bcp, now)
    if current is not None:
        raise ModeActive(f"{current.mode} is in force at {bcp} until {current.ends_at.isoformat()}: end it first",
                         mode_id=str(current.id))
    m = BcpMode(bcp=bcp, mode=cmd.mode, starts_at=now, ends_at=ends, reason=cmd.reason, set_by=cmd.supervisor)
    ctx.session.add(m)
    ctx.session.flush()
    return _out(m, now)


def end_mode(ctx: Any, code: str, mode_id: str, cmd: ModeEndIn) -> ModeOut:
    bcp = _bcp(code)
    try:
        key = uuid.UUID(mode_id)
    except ValueError:
        raise InvalidInput(f"{mode_id!r} is not a mode id") from None
    m = ctx.session.get(BcpMode, key, with_for_update=True)
    if m is None or m.bcp != bcp:
        raise NotFound(f"no mode {mode_id} at {bcp}")
    now = ctx.now()
    if not _active(m, now):
        raise Conflict(f"the mode is not in force (it ended at {(m.ended_at or m.ends_at).isoformat()})")
    m.ended_at, m.ended_by = now, cmd.supervisor
    ctx.session.flush()
    return _out(m, now)


def modes(ctx: Any, code: str, limit: int = 50) -> ModesOut:
    bcp = _bcp(code)
    now = ctx.now()
    rows = ctx.session.scalars(select(BcpMode).where(BcpMode.bcp == bcp).order_by(BcpMode.starts_at.desc())
                               .limit(limit)).all()
    current = next((m.mode for m in rows if _active(m, now)), "full")
    return ModesOut(bcp=bcp, current=current, modes=[_out(m, now) for m in rows])


def in_force(ctx: Any, code: str) -> ModeOut | None:
    """The mode in force at a crossing point now, or None (full operation); an unknown crossing point has none."""
    now = ctx.now()
    m = mode_at(ctx.session, code, now)
    return _out(m, now) if m is not None else None


def apply(ctx: Any, cmd: Any) -> Any:
    """The crossing command as the crossing point's mode at its time makes it: suspended refuses it;
    without biometrics it is recorded in heavy-traffic mode whatever the client sent; in full operation
    a claim of heavy traffic is refused (only a supervisor's mode lets biometrics be skipped)."""
    at = cmd.at or ctx.now()
    m = mode_at(ctx.session, cmd.bcp, at)
    claims = bool(getattr(cmd, "heavy_traffic", False))
    if m is None:
        if claims:
            raise NoHeavyTrafficMode(
                f"no heavy-traffic mode is in force at {cmd.bcp} at {at.isoformat()}: biometrics may be skipped "
                f"only while a supervisor's no_biometrics mode is in force; a supervisor must set the mode "
                f"(POST /api/v1/bcps/{cmd.bcp}/modes, Reg. 2025/1534)", bcp=cmd.bcp, at=at.isoformat())
        return cmd
    if m.mode == "suspended":
        raise Suspended(f"EES registration is suspended at {cmd.bcp} until {m.ends_at.isoformat()}: stamp the travel "
                        "document and apply the national procedure (Reg. 2025/1534)", until=m.ends_at.isoformat())
    if hasattr(cmd, "heavy_traffic") and not cmd.heavy_traffic:
        return cmd.model_copy(update={"heavy_traffic": True})
    return cmd
