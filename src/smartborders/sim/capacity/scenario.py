"""A crossing point's day as a YAML scenario: traffic sources, traveller mix, channels, staffing, service
times and the settings of the heavy-traffic policies. Strict: unknown keys, wrong types and shares that do
not add up are refused with the path of the offending value.

Clock times are quoted strings "HH:MM" (YAML 1.1 reads an unquoted 12:30 as the number 750), from
"00:00" to "48:00" so that a day's traffic may spill past midnight.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

_CLOCK = re.compile(r"(\d{1,2}):([0-5]\d)")


class ScenarioError(ValueError):
    """A scenario that cannot be read or does not validate; the message says where and why."""


def _clock(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str):
        hint = " (quote it: YAML reads an unquoted 12:30 as a number)" if isinstance(value, int) else ""
        raise ValueError(f'expected a clock time written "HH:MM"{hint}, got {value!r}')  # noqa: TRY004 (pydantic)
    m = _CLOCK.fullmatch(value)
    if not m or int(m.group(1)) > 48:
        raise ValueError(f'expected a clock time "HH:MM" between "00:00" and "48:00", got {value!r}')
    return int(m.group(1)) * 3600.0 + int(m.group(2)) * 60.0


Clock = Annotated[float, BeforeValidator(_clock)]
"""Seconds since 00:00 of the simulated day, written "HH:MM"."""

Share = Annotated[float, Field(ge=0.0, le=1.0)]


def _pair(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


Pair = Annotated[tuple[float, float], BeforeValidator(_pair)]
"""[low, high] (YAML lists), read as a pair of numbers."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Dist(Strict):
    """A positive duration in seconds with its mean and coefficient of variation (sd / mean)."""

    mean_s: float = Field(gt=0, le=36_000)
    cv: float = Field(default=0.5, ge=0, le=3)
    family: Literal["lognormal", "gamma"] = "lognormal"


class Service(Strict):
    """Time at one desk per traveller, by traveller type and by the mode the crossing point runs in.

    Modes: `full` EES (enrolment or verification with biometrics), `no_biometrics` (Reg. 2025/1534:
    biometric capture skipped under heavy traffic), `pre_ees` (EES suspended: stamping as before 2025).
    """

    eu: Dist | None = None  # EU/EEA/CH citizens: minimum check, the same in every mode (SBC Art. 8(2))
    pre_ees: Dist | None = None  # third-country nationals, stamp and thorough check before the EES
    ees_first: Dist | None = None  # first EES enrolment: file with face and four fingerprints
    ees_returning: Dist | None = None  # a file exists: verification against it
    no_biometrics_first: Dist | None = None
    no_biometrics_returning: Dist | None = None
    visa_extra_s: float = Field(default=0.0, ge=0, le=3600)  # visa holders: VIS verification, any mode
    child_factor: float = Field(default=1.0, gt=0, le=2)  # under-12s give no fingerprints (EES Art. 17(3))
    pre_registered_factor: float = Field(default=1.0, gt=0, le=2)  # data pre-captured in an app
    per_unit: Dist | None = None  # a vehicle's own share (documents collected, car searched, barrier)
    per_unit_no_biometrics: Dist | None = None  # the same without biometric capture (default: per_unit)
    per_unit_pre_ees: Dist | None = None  # the same before the EES (default: per_unit)


class Channel(Strict):
    """A group of identical desks with one FIFO queue: manual booths, self-service kiosks or e-gates.
    `staffing` maps clock times to the number of open desks from then on (the shift table)."""

    kind: Literal["booth", "kiosk", "egate"]
    staffing: dict[str, int]
    service: Service

    @model_validator(mode="after")
    def _staffing(self) -> Channel:
        if not self.staffing:
            raise ValueError("staffing: give at least one \"HH:MM\": desks entry")
        for k, v in self.staffing.items():
            _clock(k)
            if v < 0 or v > 10_000:
                raise ValueError(f"staffing[{k!r}]: desks must be between 0 and 10000, got {v}")
        return self

    def steps(self) -> list[tuple[float, int]]:
        """The shift table as (seconds since 00:00, open desks), sorted; before the first entry: 0 desks."""
        return sorted((_clock(k), v) for k, v in self.staffing.items())


class Mix(Strict):
    """Who travels: nationality class shares (adding up to 1) and, among third-country nationals, the
    shares enrolling for the first time and pre-registered in an app; children among everybody."""

    eu: Share
    visa_exempt: Share
    visa_required: Share
    first_enrolment: Share = 0.0
    children: Share = 0.0
    pre_registered: Share = 0.0

    @model_validator(mode="after")
    def _sum(self) -> Mix:
        total = self.eu + self.visa_exempt + self.visa_required
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"eu + visa_exempt + visa_required must add up to 1, got {total:g}")
        return self


class Window(Strict):
    start: Clock
    end: Clock
    per_hour: float = Field(ge=0, le=100_000)

    @model_validator(mode="after")
    def _order(self) -> Window:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Vehicle(Strict):
    """An aircraft, ship or coach type: its seats and its share of the source's movements."""

    name: str = Field(min_length=1, max_length=40)
    seats: int = Field(ge=1, le=10_000)
    share: Share


class Route(Strict):
    via: list[str] = Field(min_length=1, max_length=4)  # channels in order (e.g. kiosk, then booth)
    share: Share


class Deadline(Strict):
    """Travellers who must be through by a time: connecting passengers (minimum connection time),
    departing passengers (gate closure), ferry passengers (check-in closure). The deadline is the
    source's movement time plus an offset drawn uniformly from [min, max] minutes (negative: before)."""

    share: Share
    offset_min: Pair

    @model_validator(mode="after")
    def _order(self) -> Deadline:
        if self.offset_min[1] < self.offset_min[0]:
            raise ValueError("offset_min: [min, max] with min <= max")
        return self


class Source(Strict):
    """One stream of traffic. Movements (flights, sailings, coaches, cars, walkers) happen per the
    `timetable`; each brings a group: `vehicles` (seats x load factor) or `group_size` (a distribution of
    sizes). `individuals`: each member queues on their own, reaching the queue `spread_min` minutes after
    the movement (deplaning, walking; negative for departures); `units`: the group is served together
    at one desk (a car and its occupants)."""

    name: str = Field(min_length=1, max_length=40)
    kind: Literal["flights", "ferries", "coaches", "cars", "foot", "trains"]
    direction: Literal["entry", "exit"] = "entry"
    timetable: list[Window] = Field(min_length=1)
    arrivals: Literal["poisson", "regular"] = "poisson"
    jitter_min: float = Field(default=0.0, ge=0, le=240)  # regular timetables: delays, sd in minutes
    vehicles: list[Vehicle] | None = None
    load_factor: Pair = (1.0, 0.0)  # mean, sd (clipped to [0, 1])
    group_size: dict[int, float] | None = None
    served_as: Literal["individuals", "units"] = "individuals"
    spread_min: Pair = (0.0, 0.0)
    mix: Mix
    routes: dict[Literal["all", "eu", "tcn"], list[Route]]
    deadline: Deadline | None = None

    @model_validator(mode="after")
    def _shape(self) -> Source:
        if (self.vehicles is None) == (self.group_size is None):
            raise ValueError("give either `vehicles` (seats and shares) or `group_size`, not both")
        if self.vehicles is not None:
            _sums_to_one([v.share for v in self.vehicles], "vehicles shares")
        if self.group_size is not None:
            if any(k < 1 or k > 100 for k in self.group_size):
                raise ValueError("group_size: sizes between 1 and 100")
            _sums_to_one(list(self.group_size.values()), "group_size shares")
        if not 0.0 <= self.load_factor[0] <= 1.0 or self.load_factor[1] < 0:
            raise ValueError("load_factor: [mean in 0..1, sd >= 0]")
        if self.spread_min[1] < self.spread_min[0]:
            raise ValueError("spread_min: [min, max] with min <= max")
        keys = set(self.routes)
        if self.served_as == "units" and keys != {"all"}:
            raise ValueError("routes: a group served as a unit takes one route set, `all`")
        if keys not in ({"all"}, {"eu", "tcn"}):
            raise ValueError("routes: give `all`, or both `eu` and `tcn`")
        for key, routes in self.routes.items():
            if not routes:
                raise ValueError(f"routes.{key}: at least one route")
            _sums_to_one([r.share for r in routes], f"routes.{key} shares")
        return self


class SkipBiometrics(Strict):
    """Reg. (EU) 2025/1534 heavy-traffic measure: the supervisor stops biometric capture while the
    expected wait (minutes) or the queue (persons) on the watched channels reaches `above`, and resumes
    once it falls to `below` (hysteresis), looking every `review_minutes`, for at most `max_hours`."""

    metric: Literal["wait", "queue"] = "wait"
    above: float = Field(gt=0)
    below: float = Field(ge=0)
    review_minutes: float = Field(default=10.0, gt=0, le=240)
    max_hours: float = Field(default=6.0, gt=0, le=6.0)
    channels: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _hysteresis(self) -> SkipBiometrics:
        if self.below > self.above:
            raise ValueError("below must not exceed above (hysteresis)")
        return self


class Suspend(Strict):
    """Reg. (EU) 2025/1534: the EES suspended at the crossing point for up to 6 hours."""

    start: Clock
    end: Clock

    @model_validator(mode="after")
    def _length(self) -> Suspend:
        if not 0 < self.end - self.start <= 6 * 3600:
            raise ValueError("a suspension lasts more than 0 and at most 6 hours")
        return self


class ExtraStaff(Strict):
    channel: str
    start: Clock
    end: Clock
    desks: int = Field(ge=1, le=10_000)


class PolicySettings(Strict):
    skip_biometrics: SkipBiometrics | None = None
    suspend: Suspend | None = None
    pre_registration: Share | None = None  # share of first enrolments pre-registered under that policy
    extra_staff: list[ExtraStaff] = Field(default_factory=list)


class Scenario(Strict):
    name: str = Field(min_length=1, max_length=80)
    description: str = ""
    crossing_point: str | None = None
    sources: list[Source] = Field(min_length=1)
    channels: dict[str, Channel] = Field(min_length=1)
    policies: PolicySettings = PolicySettings()
    bucket_minutes: int = Field(default=15, ge=1, le=240)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        names = {s.name for s in self.sources}
        if len(names) != len(self.sources):
            raise ValueError("sources: names must be unique")
        for s in self.sources:
            for key, routes in s.routes.items():
                for r in routes:
                    for ch in r.via:
                        if ch not in self.channels:
                            raise ValueError(f"source {s.name!r}, routes.{key}: unknown channel {ch!r}")
                        _needs_times(self.channels[ch], ch, s, key)
        p = self.policies
        for ch in (p.skip_biometrics.channels if p.skip_biometrics else []) + [e.channel for e in p.extra_staff]:
            if ch not in self.channels:
                raise ValueError(f"policies: unknown channel {ch!r}")
        return self


def _needs_times(channel: Channel, name: str, source: Source, key: str) -> None:
    """Every traveller type a route can bring to a channel must have a time there in every mode."""
    sv = channel.service
    need: list[str] = []
    if key in ("all", "eu") and source.mix.eu > 0:
        need.append("eu")
    if key in ("all", "tcn") and source.mix.eu < 1:
        need += ["pre_ees", "ees_first", "ees_returning", "no_biometrics_first", "no_biometrics_returning"]
    missing = [f for f in need if getattr(sv, f) is None]
    if missing:
        raise ValueError(f"channel {name!r} serves {source.name!r} ({key}) but has no service time for "
                         f"{', '.join(missing)}")
    if source.served_as == "units" and sv.per_unit is None:
        raise ValueError(f"channel {name!r} serves units from {source.name!r}: give service.per_unit")


def _sums_to_one(values: list[float], what: str) -> None:
    if not math.isclose(sum(values), 1.0, abs_tol=1e-6):
        raise ValueError(f"{what} must add up to 1, got {sum(values):g}")


# ---- reading -------------------------------------------------------------------------------------

SHIPPED = Path(__file__).parent / "scenarios"


def shipped_scenarios() -> dict[str, Path]:
    """The scenarios that come with smartborders, by name (the file name without .yaml)."""
    return {p.stem: p for p in sorted(SHIPPED.glob("*.yaml"))}


def scenario_catalogue() -> list[dict[str, str]]:
    """The shipped scenarios for a menu: name, crossing point and description (each file validated)."""
    out = []
    for name in shipped_scenarios():
        s = load_scenario(name)
        out.append({"name": name, "crossing_point": s.crossing_point or "", "description": s.description.strip()})
    return out


def parse_scenario(data: Any, where: str = "scenario") -> Scenario:
    """Validate already-parsed YAML/JSON data; ScenarioError lists each problem with its path."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: expected a mapping at the top level")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e["loc"] if not str(x).startswith("function-"))
            lines.append(f"{loc or '(top)'}: {e['msg'].removeprefix('Value error, ')}")
        raise ScenarioError(f"{where}: " + "; ".join(lines)) from None


def scenario_from_yaml(text: str, where: str = "scenario") -> Scenario:
    """A scenario from YAML text (an upload, a form field); ScenarioError when unreadable or invalid."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{where}: not valid YAML: {exc}") from None
    return parse_scenario(data, where)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name (`schiphol-peak`) or a YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix and str(name_or_path) in shipped_scenarios():
        path = shipped_scenarios()[str(name_or_path)]
    if not path.is_file():
        known = ", ".join(shipped_scenarios())
        raise ScenarioError(f"{name_or_path}: no such file, nor a shipped scenario ({known})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    return scenario_from_yaml(text, str(path))
