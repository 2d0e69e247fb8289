"""Synthetic traffic: each traveller's trips, visas and refusals over a period, as the EES records them.

The period is the `days` calendar days before `end` ([end - days, end - 1]); the data are a snapshot
taken at the start of `end`, as if the EES had started on the first day (nobody is inside then).
Every entry gets the authorised stay the EES computes on entry (EES Art. 11(2)(a)):
`travel.stay.assess` in plan mode on the entry day, with the traveller's earlier stays and the visa
presented, exactly as `ees.service.record_entry` calls it. Travellers mostly respect it: a lawful
traveller leaves by the end of the authorised stay, and one who may not enter (the 90/180 rule is used
up) waits for the next possible entry the calculator gives. A small share overstay: they leave late,
or are still inside on `end` past their authorised stay. Such records carry the overstay flag as the
Art. 12 sweep (run every day at 00:00 UTC) or the exit would have set it (Art. 12(1), 16(4)).

Parameters marked [I] are this module's approximations, chosen from public orders of magnitude
(notes/performance.md): about 300 M crossings a year by 76 M people, i.e. about two trips a person a
year; refusals about 0.1 % of entries (≈ 32,000 in the first 66 M crossings), a quarter of them for
the 90/180 rule; stays mostly of 2-14 days with a tail to 90. They are module constants, so a study
can change them in one place.

Times are working hours (06:00-22:00) local time at the crossing point, stored in UTC; the calendar
day of a crossing is the local date there (SBC Art. 6(2)).
"""

from __future__ import annotations

import math
import os
from bisect import bisect_right
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from functools import cached_property
from itertools import accumulate
from zoneinfo import ZoneInfo

import numpy as np

from smartborders.reference.bcps import crossing_points
from smartborders.reference.countries import iso_alpha3
from smartborders.sim.population import (
    NATIONALITY_CODES,
    TRAVEL_CLASS,
    Population,
    day_number,
    from_day_number,
)
from smartborders.travel.stay import Mode, Stay, StayBasis, Visa, assess

DAY = 86_400
NONE = -1  # "no value" in the integer columns (open record, no visa, rule not applied)

# ---- parameters [I] --------------------------------------------------------------------------------

# Mean trips a year by travel class (population.NATIONALITIES), before the per-person spread, and the
# median stay in days. Frequent travellers (commuters across a land border, business) are the
# lognormal tail of the trip rate.
TRIPS_PER_YEAR = {"near": 4.0, "mid": 2.0, "far": 1.3}
RATE_SPREAD = 1.0  # sigma of the lognormal factor on a person's trip rate (mean 1)
MAX_TRIPS = 24.0  # a year; more often than fortnightly is a cross-border worker, outside the EES (Art. 2(3))
MEDIAN_STAY = {"near": 4.0, "mid": 7.0, "far": 10.0}
STAY_SPREAD = 0.7  # sigma of the lognormal stay length
DAY_TRIP_SHARE = {"near": 0.10, "mid": 0.02, "far": 0.0}  # out on the day of entry
LONG_STAY_SHARE = 0.05  # 30-90 days: family visits, retirees
SAME_DAY_REENTRY = 0.02  # an exit and a new entry on one day (that day counts once, SBC Art. 6(2))
FAMILY_MEMBER_SHARE = 0.005  # EES Art. 2(1)(b): the calculator does not apply (Art. 11(1))

REFUSAL_RATE = (0.0005, 0.002)  # per entry attempt: visa-exempt, visa-required
SHOW_UP_WITHOUT_STAY = 0.03  # a traveller with no authorised stay left tries anyway and is refused (F or C)
SECOND_REASON = 0.15
# Annex V Part B letters of the other refusals, approximate shares (F comes only from the rule itself).
REFUSAL_LETTERS = {"A": 7, "B": 4, "C": 22, "D": 3, "E": 24, "G": 9, "H": 10, "I": 6}

OVERSTAY_RATE = (0.004, 0.012)  # per trip: visa-exempt, visa-required
OVERSTAY_LONG = 0.3  # of overstays: stays on for weeks to a year, else leaves 1-30 days late

VISA_KINDS = ((None, 0.55), (1, 0.40), (2, 0.05))  # entries: multiple, single, double
MEV_VALIDITY = ((180, 0.10), (365, 0.45), (3 * 365, 0.30), (5 * 365, 0.15))  # the visa cascade
GRACE_DAYS = 15  # Visa Code Art. 24(1): validity includes 15 days of grace for a single stay
VISA_AT_ENTRY_STATE = 0.7  # the visa was issued by the Member State of entry
VISA_STATES = {"FRA": 20, "ESP": 15, "DEU": 13, "ITA": 12, "GRC": 7, "NLD": 5, "POL": 4, "CHE": 4, "PRT": 3,
               "AUT": 3, "BEL": 3, "HRV": 2, "BGR": 2, "FIN": 2, "CZE": 2, "HUN": 2}

OPEN_HOUR, CLOSE_HOUR = 6, 22

# Crossing points: the extra-Schengen air traffic of the airports [I, order of 2019 passenger figures],
# and the land and sea crossings that some nationalities use most.
_AIR = {"FR-CDG": 20, "NL-AMS": 15, "DE-FRA": 15, "ES-MAD": 10, "IT-FCO": 8, "DE-MUC": 8, "AT-VIE": 5,
        "PT-LIS": 5, "GR-ATH": 5, "BE-BRU": 4, "FI-HEL": 3, "PL-WAW": 3, "CH-GVA": 3}
_SURFACE = {
    "GBR": ({"FR-DVR": 15, "FR-COQ": 12, "FR-STP": 12, "NL-RTM-P": 3, "DE-HAM-P": 1}, 0.57),
    "UKR": ({"PL-MDK": 60, "PL-WAW": 5}, 0.35),
    "BLR": ({"PL-MDK": 20, "PL-WAW": 30}, 0.5),
    "MDA": ({"PL-MDK": 15}, 0.85),
    "TUR": ({"BG-KAP": 25}, 0.75),
    "SRB": ({"HR-BAJ": 55}, 0.45), "BIH": ({"HR-BAJ": 55}, 0.45), "MNE": ({"HR-BAJ": 40}, 0.6),
    "MKD": ({"HR-BAJ": 40}, 0.6), "ALB": ({"HR-BAJ": 30}, 0.7), "RKS": ({"HR-BAJ": 50}, 0.5),
    "MAR": ({"ES-ALG-P": 35}, 0.65), "DZA": ({"ES-ALG-P": 15}, 0.85),
    "USA": ({"FR-STP": 3, "DE-HAM-P": 3}, 0.94), "CAN": ({"FR-STP": 3, "DE-HAM-P": 2}, 0.95),
}
# The border authority of each Member State, as entry_authority/exit_authority name it.
AUTHORITIES = {"AT": "AT-BMI-POLIZEI", "BE": "BE-FEDPOL", "BG": "BG-GDBP", "CH": "CH-BAZG", "DE": "DE-BPOL",
               "ES": "ES-CNP", "FI": "FI-RVL", "FR": "FR-PAF", "GR": "GR-HELPOL", "HR": "HR-MUP",
               "IT": "IT-POLIZIA", "NL": "NL-KMAR", "PL": "PL-SG", "PT": "PT-PSP"}


@dataclass(frozen=True, eq=False)
class Traffic:
    """Entry/exit records, visas and refusals as columns. Dates are day numbers, instants UTC epoch
    seconds; NONE (-1) stands for "no value". Records are ordered by traveller, then entry."""

    start: date  # first day of the period
    end: date  # the snapshot day: the period ends the day before
    bcps: tuple[str, ...]  # crossing-point codes; the *_bcp columns index this
    # one row per stay (EES Art. 16(2)-(4))
    traveller: np.ndarray  # int32 index into the population
    entry_day: np.ndarray  # int32
    entry_at: np.ndarray  # int64
    entry_bcp: np.ndarray  # int16
    exit_day: np.ndarray  # int32, NONE while inside
    exit_at: np.ndarray  # int64, NONE while inside
    exit_bcp: np.ndarray  # int16, NONE while inside
    max_stay_days: np.ndarray  # int16, NONE where the rule does not apply
    authorised_until: np.ndarray  # int32, NONE where the rule does not apply
    overstay: np.ndarray  # bool
    overstay_flagged_at: np.ndarray  # int64, NONE unless flagged
    family_member: np.ndarray  # bool (Art. 16(2)(c))
    visa: np.ndarray  # int32 index into the visa columns, NONE without a visa
    # one row per visa sticker
    visa_sticker: np.ndarray  # str
    visa_issuing_state: np.ndarray  # str, alpha-3
    visa_entries: np.ndarray  # int8: 1, 2, or 0 for multiple
    visa_duration_days: np.ndarray  # int16
    visa_valid_from: np.ndarray  # int32
    visa_valid_until: np.ndarray  # int32
    # one row per refusal of entry (Art. 18)
    refusal_traveller: np.ndarray  # int32
    refusal_day: np.ndarray  # int32
    refusal_at: np.ndarray  # int64
    refusal_bcp: np.ndarray  # int16
    refusal_reasons: np.ndarray  # str, sorted letters

    @property
    def records(self) -> int:
        return int(self.traveller.size)

    @property
    def refusals(self) -> int:
        return int(self.refusal_traveller.size)

    @cached_property
    def open(self) -> np.ndarray:
        return self.exit_day == NONE

    def stays_of(self, t: int) -> list[Stay]:
        """Traveller t's stays as `travel.stay` reads them (open ones end on `end`)."""
        rows = np.flatnonzero(self.traveller == t)
        out = []
        for r in rows.tolist():
            exit_ = day_number(self.end) if self.exit_day[r] == NONE else self.exit_day[r]
            v = self.visa[r]
            out.append(Stay(from_day_number(self.entry_day[r]), from_day_number(exit_),
                            StayBasis.RESIDENCE_PERMIT if self.family_member[r] else StayBasis.SHORT_STAY,
                            str(self.visa_sticker[v]) if v != NONE else None))
        return out

    def visa_of(self, r: int) -> Visa | None:
        """The visa presented at the entry of record r, as `travel.stay` takes it."""
        v = int(self.visa[r])
        if v == NONE:
            return None
        return Visa(str(self.visa_sticker[v]), from_day_number(self.visa_valid_from[v]),
                    from_day_number(self.visa_valid_until[v]), int(self.visa_duration_days[v]),
                    int(self.visa_entries[v]) or None)

    def summary(self, population: Population | None = None) -> dict[str, int]:
        out = {
            "records": self.records,
            "open_records": int(self.open.sum()),
            "overstays": int(self.overstay.sum()),
            "overstays_exited": int((self.overstay & ~self.open).sum()),
            "overstays_inside": int((self.overstay & self.open).sum()),
            "refusals": self.refusals,
            "visas": int(self.visa_sticker.size),
            "family_member_records": int(self.family_member.sum()),
            "inside_on_end": int(np.unique(self.traveller[self.open]).size),
        }
        if population is not None:
            out["travellers"] = len(population)
        return out


class _Stream:
    """Pre-drawn random numbers read one by one: a Python loop over trips cannot afford a numpy call per
    number, and reading a list in a fixed order keeps the result a function of the seed."""

    __slots__ = ("_draw", "_buf", "_i")

    def __init__(self, draw) -> None:  # type: ignore[no-untyped-def]
        self._draw = draw
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        if self._i == len(self._buf):
            self._buf = self._draw(1 << 16).tolist()
            self._i = 0
        self._i += 1
        return self._buf[self._i - 1]


def _cumulative(weights: dict[str, float], codes: tuple[str, ...]) -> tuple[list[float], list[int]]:
    items = [(codes.index(c), w) for c, w in weights.items() if w > 0]
    total = sum(w for _, w in items)
    return list(accumulate(w / total for _, w in items)), [i for i, _ in items]


def _pick(cum: tuple[list[float], list[int]], u: float) -> int:
    return cum[1][min(bisect_right(cum[0], u), len(cum[1]) - 1)]


def _routes(codes: tuple[str, ...]) -> dict[str, tuple[list[float], list[int]]]:
    air_total = sum(_AIR.values())
    out = {"air": _cumulative(_AIR, codes)}
    for nat, (surface, air_share) in _SURFACE.items():
        w = {c: v / 100 for c, v in surface.items()}
        for c, v in _AIR.items():
            w[c] = w.get(c, 0) + air_share * v / air_total
        out[nat] = _cumulative(w, codes)
    return out


def _utc_offsets(codes: tuple[str, ...], first: int, last: int) -> np.ndarray:
    """Seconds east of UTC at each crossing point on each day (at noon: crossings are in working hours,
    far from the 02:00-03:00 changes of summer time)."""
    out = np.zeros((len(codes), last - first + 1), dtype=np.int64)
    points = crossing_points()
    for i, code in enumerate(codes):
        zone = ZoneInfo(points[code].timezone)
        for d in range(first, last + 1):
            off = datetime.combine(from_day_number(d), time(12), tzinfo=zone).utcoffset()
            out[i, d - first] = int(off.total_seconds()) if off else 0
    return out


CHUNK = 1 << 16  # travellers per unit of work; fixed, so the result does not depend on the workers


def generate_traffic(population: Population, *, days: int, end: date, seed: int | None = None,
                     workers: int | None = None, progress: Callable[[int], None] | None = None) -> Traffic:
    """Trips, visas and refusals of every traveller over the `days` days before `end`.

    Every traveller crosses (or is refused) at least once in the period: the population is the set of
    individual files. Deterministic in (population, days, end, seed); `seed` defaults to the
    population's. Travellers are simulated in fixed chunks, each from its own random stream, on
    `workers` processes (default: one per core when there is more than one chunk); `progress` is
    called with the number of travellers of each chunk done."""
    if days < 1:
        raise ValueError("the period needs at least one day")
    seed = population.seed if seed is None else seed
    n = len(population)
    end_day = day_number(end)
    start_day = end_day - days
    codes = tuple(crossing_points())
    jobs = [(seed, k, lo, population.nationality[lo:lo + CHUNK], population.visa_required[lo:lo + CHUNK],
             start_day, end_day) for k, lo in enumerate(range(0, max(n, 1), CHUNK))]
    workers = min(os.cpu_count() or 1, len(jobs)) if workers is None else max(1, min(workers, len(jobs)))
    parts = []
    with ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        for job, part in zip(jobs, pool.map(_simulate, jobs) if pool else map(_simulate, jobs)):
            parts.append(part)
            if progress is not None:
                progress(int(job[3].size))
    return _assemble(parts, codes, start_day, end_day)


def _simulate(job: tuple) -> dict[str, np.ndarray]:
    """One chunk of travellers, from its own stream: the trip loop (it calls the calculator per entry)."""
    seed, chunk, lo, nat, required, start_day, end_day = job
    days = end_day - start_day
    rng = np.random.default_rng([seed, 0x7A1C, chunk])
    n = int(nat.size)
    codes = tuple(crossing_points())
    routes = _routes(codes)
    bcp_state = [crossing_points()[c].state for c in codes]
    alpha3 = {a2: a3 for a3, a2 in _alpha2().items()}
    visa_states = _cumulative(VISA_STATES, tuple(VISA_STATES))
    visa_state_codes = tuple(VISA_STATES)
    letters = tuple(REFUSAL_LETTERS)
    letters_exempt = _cumulative({k: v for k, v in REFUSAL_LETTERS.items() if k not in "CD"}, letters)
    letters_required = _cumulative(REFUSAL_LETTERS, letters)

    # Per traveller, drawn at once.
    cls = np.array(TRAVEL_CLASS)[nat]
    mean_rate = np.array([TRIPS_PER_YEAR[c] for c in TRAVEL_CLASS])[nat]
    spread = np.exp(RATE_SPREAD * rng.standard_normal(n) - RATE_SPREAD**2 / 2)
    rate = np.clip(mean_rate * spread, 0.2, MAX_TRIPS)
    cycle = 365.0 / rate  # days from one entry to the next
    # The first crossing of the period: a renewal process seen from the first day, conditioned on at
    # least one crossing before `end` (truncated exponential).
    u0 = rng.random(n)
    first = start_day + np.floor(-cycle * np.log1p(-u0 * -np.expm1(-days / cycle))).astype(np.int64)
    first = np.minimum(first, end_day - 1)
    family = rng.random(n) < FAMILY_MEMBER_SHARE
    kind_u = rng.random(n)

    uni = _Stream(rng.random)
    nrm = _Stream(rng.standard_normal)
    expo = _Stream(rng.standard_exponential)

    rec: dict[str, list] = {k: [] for k in ("t", "d_in", "s_in", "b_in", "d_out", "s_out", "b_out", "max",
                                            "until", "over", "family", "visa")}
    vis: dict[str, list] = {k: [] for k in ("sticker", "state", "entries", "duration", "from", "until")}
    ref: dict[str, list] = {k: [] for k in ("t", "d", "s", "b", "reasons")}
    sticker_base = (seed * 1_000_003 + chunk * 1_000_000) % 1_000_000_000

    def seconds() -> int:
        return int((OPEN_HOUR + uni() * (CLOSE_HOUR - OPEN_HOUR)) * 3600)

    def refuse(t: int, d: int, route, reasons: str) -> None:  # type: ignore[no-untyped-def]
        ref["t"].append(t)
        ref["d"].append(d)
        ref["s"].append(seconds())
        ref["b"].append(_pick(route, uni()))
        ref["reasons"].append(reasons)

    def random_reasons(req: bool) -> str:
        table = letters_required if req else letters_exempt
        first_letter = letters[_pick(table, uni())]
        out = {first_letter}
        if uni() < SECOND_REASON:
            out.add(letters[_pick(table, uni())])
        return "".join(sorted(out))

    def new_visa(d: int, length: int, entries: int | None, bcp: int) -> tuple[int, Visa]:
        k = len(vis["sticker"])
        if uni() < VISA_AT_ENTRY_STATE and bcp_state[bcp] in alpha3 and alpha3[bcp_state[bcp]] in VISA_STATES:
            state = alpha3[bcp_state[bcp]]
        else:
            state = visa_state_codes[_pick(visa_states, uni())]
        if entries is None:
            validity = _mev_validity(uni())
            duration = 90
            valid_from = d - int(uni() * min(200, max(0, validity - length - 30)))
            valid_until = valid_from + validity - 1
        elif entries == 1:
            duration = min(90, length + int(uni() * 5))
            valid_from = d - int(uni() * 14)
            valid_until = d + duration - 1 + GRACE_DAYS
        else:
            duration = min(90, max(length + 10, 30))
            valid_from = d - int(uni() * 14)
            valid_until = valid_from + 179
        sticker = f"{state}{(sticker_base + k) % 1_000_000_000:09d}"
        vis["sticker"].append(sticker)
        vis["state"].append(state)
        vis["entries"].append(entries or 0)
        vis["duration"].append(duration)
        vis["from"].append(valid_from)
        vis["until"].append(valid_until)
        return k, Visa(sticker, from_day_number(valid_from), from_day_number(valid_until), duration, entries)

    d_of = from_day_number
    for i in range(n):
        t = lo + i
        c = cls[i]
        code = NATIONALITY_CODES[nat[i]]
        route = routes.get(code, routes["air"])
        fam = bool(family[i])
        needs_visa = bool(required[i])
        req = needs_visa and not fam
        ku = kind_u[i]
        kind = None if ku < VISA_KINDS[0][1] else (1 if ku < VISA_KINDS[0][1] + VISA_KINDS[1][1] else 2)
        median = math.log(MEDIAN_STAY[c])
        day_trip = DAY_TRIP_SHARE[c]
        gap_mean = max(3.0, cycle[i] - MEDIAN_STAY[c])
        p_refuse = REFUSAL_RATE[needs_visa]
        p_over = OVERSTAY_RATE[needs_visa]
        stays: list[Stay] = []
        last_exit = NONE
        last_exit_s = 0
        last_exit_b = 0
        visa_k, visa = NONE, None
        d = int(first[i])
        while d < end_day:
            u = uni()
            if u < day_trip:
                length = 1
            elif u < day_trip + LONG_STAY_SHARE:
                length = 30 + int(uni() * 61)
            else:
                length = min(90, max(1, round(math.exp(median + STAY_SPREAD * nrm()))))
            same_day = d == last_exit
            if not same_day and uni() < p_refuse:
                refuse(t, d, route, random_reasons(needs_visa))
                d += 1 + int(expo() * gap_mean)
                continue
            b_in = last_exit_b if same_day else _pick(route, uni())
            if same_day:
                if last_exit_s > 22 * 3600:  # too late to come back today: tomorrow instead
                    d += 1
                    continue
                s_in = last_exit_s + 1800 + int(uni() * (23 * 3600 - last_exit_s))
            else:
                s_in = seconds()
            if fam:
                max_days, until = NONE, NONE
            else:
                if req:
                    if visa is None:
                        visa_k, visa = new_visa(d, length, kind, b_in)
                    a = assess(stays, d_of(d), Mode.PLAN, visa=visa)
                    if a.limited_by not in ("rule", None) and (a.max_stay_days or 0) < length:
                        visa_k, visa = new_visa(d, length, kind, b_in)  # a new visa for this trip
                        a = assess(stays, d_of(d), Mode.PLAN, visa=visa)
                    max_days, latest = a.max_stay_days or 0, a.latest_exit
                elif last_exit == NONE or last_exit < d - 179:
                    max_days, latest = 90, None  # nothing in the 180 days: 90 days from the entry day
                else:
                    a = assess(stays, d_of(d), Mode.PLAN)
                    max_days, latest = a.max_stay_days or 0, a.latest_exit
                if max_days == 0:
                    # No authorised stay: wait for the next possible entry (Art. 11(2)(d)); some try anyway.
                    if not same_day and uni() < SHOW_UP_WITHOUT_STAY:
                        refuse(t, d, route, "F" if a.limited_by == "rule" else "C")
                    nxt = day_number(a.next_entry.date) if a.next_entry and a.limited_by == "rule" else d + 1
                    d = max(nxt, d + 1) + int(uni() * 10)
                    continue
                until = d + max_days - 1 if latest is None else day_number(latest)
            planned = d + length - 1
            overstays = until != NONE and uni() < p_over
            if until == NONE:
                exit_day = planned
            elif overstays:
                long_ = uni() < OVERSTAY_LONG
                exit_day = until + (15 + int(uni() * 386) if long_ else min(30, 1 + int(expo() * 5)))
            else:
                exit_day = min(planned, until)
            rec["t"].append(t)
            rec["d_in"].append(d)
            rec["s_in"].append(s_in)
            rec["b_in"].append(b_in)
            rec["max"].append(max_days)
            rec["until"].append(until)
            rec["family"].append(fam)
            rec["visa"].append(visa_k if req else NONE)
            if exit_day >= end_day:  # still inside on the snapshot day
                rec["d_out"].append(NONE)
                rec["s_out"].append(NONE)
                rec["b_out"].append(NONE)
                rec["over"].append(until != NONE and until < end_day)
                break
            if exit_day == d:  # out on the day of entry: the same point, later that day
                b_out = b_in
                s_out = s_in + 60 + int(uni() * max(0, DAY - 61 - s_in))  # before midnight
            else:
                b_out = b_in if uni() < 0.7 else _pick(route, uni())
                s_out = seconds()
            rec["d_out"].append(exit_day)
            rec["s_out"].append(s_out)
            rec["b_out"].append(b_out)
            rec["over"].append(until != NONE and exit_day > until)
            stays.append(Stay(d_of(d), d_of(exit_day),
                              StayBasis.RESIDENCE_PERMIT if fam else StayBasis.SHORT_STAY,
                              visa.sticker if req and visa is not None else None))
            last_exit, last_exit_s, last_exit_b = exit_day, s_out, b_out
            gap = 0 if uni() < SAME_DAY_REENTRY and c == "near" else 1 + int(expo() * gap_mean)
            d = exit_day + gap

    i32 = lambda xs: np.array(xs, dtype=np.int32)  # noqa: E731
    i16 = lambda xs: np.array(xs, dtype=np.int16)  # noqa: E731
    i64 = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    return {
        "t": i32(rec["t"]), "d_in": i32(rec["d_in"]), "s_in": i64(rec["s_in"]), "b_in": i16(rec["b_in"]),
        "d_out": i32(rec["d_out"]), "s_out": i64(rec["s_out"]), "b_out": i16(rec["b_out"]),
        "max": i16(rec["max"]), "until": i32(rec["until"]), "over": np.array(rec["over"], dtype=bool),
        "family": np.array(rec["family"], dtype=bool), "visa": i32(rec["visa"]),
        "v_sticker": np.array(vis["sticker"], dtype="U16"), "v_state": np.array(vis["state"], dtype="U3"),
        "v_entries": np.array(vis["entries"], dtype=np.int8), "v_duration": i16(vis["duration"]),
        "v_from": i32(vis["from"]), "v_until": i32(vis["until"]),
        "r_t": i32(ref["t"]), "r_d": i32(ref["d"]), "r_s": i64(ref["s"]), "r_b": i16(ref["b"]),
        "r_reasons": np.array(ref["reasons"], dtype="U9"),
    }


def _mev_validity(u: float) -> int:
    acc = 0.0
    for days, share in MEV_VALIDITY:
        acc += share
        if u < acc:
            return days
    return MEV_VALIDITY[-1][0]


def _alpha2() -> dict[str, str]:
    from smartborders.reference import read_rows

    return {r["alpha3"]: r["alpha2"] for r in read_rows("countries.csv") if r["alpha3"] in iso_alpha3()}


def _assemble(parts: list[dict[str, np.ndarray]], codes: tuple[str, ...], start_day: int,
              end_day: int) -> Traffic:
    base = 0
    for p in parts:  # visa indexes are per chunk: make them global
        p["visa"] = np.where(p["visa"] != NONE, p["visa"] + base, NONE).astype(np.int32)
        base += p["v_sticker"].size
    col = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    offsets = _utc_offsets(codes, start_day, end_day)

    def instant(day: np.ndarray, sec: np.ndarray, bcp: np.ndarray) -> np.ndarray:
        out = np.full(day.size, NONE, dtype=np.int64)
        ok = day != NONE
        out[ok] = day[ok].astype(np.int64) * DAY + sec[ok] - offsets[bcp[ok], day[ok] - start_day]
        return out

    entry_at = instant(col["d_in"], col["s_in"], col["b_in"])
    exit_at = instant(col["d_out"], col["s_out"], col["b_out"])
    until, over = col["until"], col["over"]
    # The daily sweep at 00:00 UTC flags a record the day after its authorised stay (Art. 12(1)); an
    # exit before that sweep flags it itself (ees.service.record_exit).
    flagged = np.full(until.size, NONE, dtype=np.int64)
    sweep = (until[over].astype(np.int64) + 1) * DAY
    flagged[over] = np.where(exit_at[over] != NONE, np.minimum(sweep, exit_at[over]), sweep)
    return Traffic(
        start=from_day_number(start_day), end=from_day_number(end_day), bcps=codes,
        traveller=col["t"], entry_day=col["d_in"], entry_at=entry_at, entry_bcp=col["b_in"],
        exit_day=col["d_out"], exit_at=exit_at, exit_bcp=col["b_out"],
        max_stay_days=col["max"], authorised_until=until, overstay=over, overstay_flagged_at=flagged,
        family_member=col["family"], visa=col["visa"],
        visa_sticker=col["v_sticker"], visa_issuing_state=col["v_state"], visa_entries=col["v_entries"],
        visa_duration_days=col["v_duration"], visa_valid_from=col["v_from"], visa_valid_until=col["v_until"],
        refusal_traveller=col["r_t"], refusal_day=col["r_d"],
        refusal_at=instant(col["r_d"], col["r_s"], col["r_b"]), refusal_bcp=col["r_b"],
        refusal_reasons=col["r_reasons"],
    )


def instant_of(seconds: int) -> datetime:
    """A UTC epoch second as a timezone-aware datetime."""
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc)
