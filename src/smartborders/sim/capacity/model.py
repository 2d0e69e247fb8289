"""The crossing-point queueing model: a day's traffic drawn from a scenario, then an event loop of our own.

Traffic (`draw_day`, vectorised numpy): movements (flights, sailings, coaches, cars, walkers) per the
timetable; their groups (seats x load factor, or a size distribution); each traveller's type (EU/EEA,
visa-exempt, visa-required; first EES enrolment or returning; child; pre-registered); the route
through the channels; and the service time at each desk in each of the three modes (full EES, no
biometrics, pre-EES), all drawn from the same random numbers, so that a policy changes which time is
used and never who arrives (common random numbers: comparisons between policies are paired).

Event loop (`simulate`, pure Python over lists): each channel is a c-server FIFO queue whose number
of open desks follows its shift table (a desk that closes finishes its traveller first). Arrivals
come from the sorted array, departures from a heap, shift changes from a sorted list: three streams
merged, no event objects, no coroutines. A supervisor looks at the queues every few minutes
(`skip_biometrics`), and a suspension window (`suspend`) switches the service times to pre-EES ones.
The mode in force when a traveller reaches the desk sets their service time.

Why not SimPy: the same FIFO multi-server model written with SimPy 4.1.2 processes and resources gives
identical waits but runs 5.5x slower (the Schiphol-like day with constant desks: 2.29 s against 0.42 s on
the 2-core machine, bench/capacity.py, which measures both when simpy is installed); our loop draws and
simulates the whole day (~95,000 checks, shift tables, supervisor, samples) in ~0.5 s.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammaincinv, ndtr

from smartborders.sim.capacity.policies import Policy, staffing_steps
from smartborders.sim.capacity.scenario import Dist, Scenario, Service, Source

FULL, NO_BIOMETRICS, PRE_EES = 0, 1, 2
MODES = ("full", "no_biometrics", "pre_ees")
DAY_S = 86_400.0
INF = math.inf


@dataclass(frozen=True)
class Day:
    """One day's traffic, units sorted by the time they reach their first queue. A unit is one traveller,
    or a vehicle with its occupants served together."""

    arrival: np.ndarray  # seconds since 00:00
    route: np.ndarray  # index into `routes`
    service: np.ndarray  # (units, stages, 3 modes) seconds at each desk
    persons: np.ndarray  # travellers in the unit
    tcn: np.ndarray  # third-country nationals in the unit
    deadline: np.ndarray  # seconds since 00:00, inf when none
    source: np.ndarray  # index into scenario.sources
    routes: tuple[tuple[int, ...], ...]  # channel indices in order
    channels: tuple[str, ...]


def _draw(dist: Dist, z: np.ndarray) -> np.ndarray:
    """Seconds with the given mean and cv, from standard normal deviates z (monotone in z)."""
    if dist.cv == 0:
        return np.full(z.shape, dist.mean_s)
    if dist.family == "lognormal":
        s2 = math.log1p(dist.cv ** 2)
        return dist.mean_s * np.exp(math.sqrt(s2) * z - s2 / 2)
    k = 1.0 / dist.cv ** 2
    return gammaincinv(k, np.clip(ndtr(z), 1e-12, 1 - 1e-12)) * (dist.mean_s / k)


def _person_times(sv: Service, z: np.ndarray, eu: np.ndarray, visa: np.ndarray, first: np.ndarray,
                  child: np.ndarray, pre: np.ndarray) -> np.ndarray:
    """(persons, 3) seconds at this desk in each mode."""
    out = np.zeros((len(z), 3))
    if sv.eu is not None and eu.any():
        out[eu, :] = _draw(sv.eu, z[eu])[:, None]
    t = ~eu
    if t.any():
        zt, ft = z[t], first[t]
        pre_f = np.where(pre[t] & ft, sv.pre_registered_factor, 1.0)
        full = np.where(ft, _draw(sv.ees_first, zt), _draw(sv.ees_returning, zt))  # type: ignore[arg-type]
        full *= np.where(child[t], sv.child_factor, 1.0) * pre_f
        nob = np.where(ft, _draw(sv.no_biometrics_first, zt),  # type: ignore[arg-type]
                       _draw(sv.no_biometrics_returning, zt)) * pre_f  # type: ignore[arg-type]
        old = _draw(sv.pre_ees, zt)  # type: ignore[arg-type]
        extra = np.where(visa[t], sv.visa_extra_s, 0.0)
        out[t] = np.stack([full + extra, nob + extra, old + extra], axis=1)
    return out


def _movements(src: Source, rng: np.random.Generator) -> np.ndarray:
    times = []
    for w in src.timetable:
        hours = (w.end - w.start) / 3600
        if src.arrivals == "poisson":
            n = rng.poisson(w.per_hour * hours)
            times.append(rng.uniform(w.start, w.end, n))
        else:
            n = round(w.per_hour * hours)
            step = (w.end - w.start) / max(n, 1)
            t = w.start + (np.arange(n) + rng.uniform()) * step
            times.append(t + rng.normal(0, src.jitter_min * 60, n) if src.jitter_min else t)
    return np.concatenate(times) if times else np.zeros(0)


def _group_sizes(src: Source, n: int, rng: np.random.Generator) -> np.ndarray:
    if src.vehicles is not None:
        kind = rng.choice(len(src.vehicles), n, p=[v.share for v in src.vehicles])
        seats = np.array([v.seats for v in src.vehicles])[kind]
        lf = np.clip(rng.normal(src.load_factor[0], src.load_factor[1], n), 0.0, 1.0)
        return np.rint(seats * lf).astype(np.int64)
    sizes = np.array(list(src.group_size))  # type: ignore[arg-type]
    return rng.choice(sizes, n, p=list(src.group_size.values())).astype(np.int64)  # type: ignore[union-attr]


def draw_day(scenario: Scenario, policy: Policy, seed: int) -> Day:
    """One day's traffic and service times (pure: the same scenario, policy and seed give the same day;
    the policy changes only the pre-registered share, on the same random numbers)."""
    channels = tuple(scenario.channels)
    ch_index = {c: i for i, c in enumerate(channels)}
    routes: list[tuple[int, ...]] = []
    max_stages = max(len(r.via) for s in scenario.sources for rs in s.routes.values() for r in rs)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("arr", "route", "svc", "persons", "tcn", "dl", "src")}
    seeds = np.random.SeedSequence(seed).spawn(len(scenario.sources))
    for si, src in enumerate(scenario.sources):
        rng = np.random.default_rng(seeds[si])
        moves = _movements(src, rng)
        sizes = _group_sizes(src, len(moves), rng)
        mov_of = np.repeat(np.arange(len(moves)), sizes)
        n_p = len(mov_of)
        u = rng.random((n_p, 5))
        z = rng.standard_normal((n_p, max_stages))
        mix = src.mix
        eu = u[:, 0] < mix.eu
        visa = u[:, 0] >= mix.eu + mix.visa_exempt
        first = ~eu & (u[:, 1] < mix.first_enrolment)
        child = u[:, 2] < mix.children
        pre_share = mix.pre_registered if policy.pre_registered is None else policy.pre_registered
        pre = first & (u[:, 3] < pre_share)
        if src.served_as == "individuals":
            unit_of = np.arange(n_p)
            n_u = n_p
            unit_mov = mov_of
            unit_eu = eu
            persons = np.ones(n_u, dtype=np.int64)
        else:
            keep = sizes > 0
            unit_of = np.repeat(np.arange(int(keep.sum())), sizes[keep])
            n_u = int(keep.sum())
            unit_mov = np.flatnonzero(keep)
            unit_eu = np.zeros(n_u, dtype=bool)
            persons = sizes[keep]
        v = rng.random((n_u, 4))
        zu = rng.standard_normal((n_u, max_stages))
        lo, hi = src.spread_min
        arr = moves[unit_mov] + (lo + (hi - lo) * v[:, 0]) * 60
        dl = np.full(n_u, INF)
        if src.deadline is not None:
            has = v[:, 1] < src.deadline.share
            a, b = src.deadline.offset_min
            dl[has] = (moves[unit_mov] + (a + (b - a) * v[:, 2]) * 60)[has]
        # routes: per unit, by EU/TCN where the source routes them apart
        route_id = np.zeros(n_u, dtype=np.int64)
        svc = np.zeros((n_u, max_stages, 3))
        for key, rs in src.routes.items():
            sel = np.ones(n_u, dtype=bool) if key == "all" else (unit_eu if key == "eu" else ~unit_eu)
            cum = np.cumsum([r.share for r in rs])
            pick = np.minimum(np.searchsorted(cum, v[:, 3], side="right"), len(rs) - 1)
            for ri, r in enumerate(rs):
                chans = tuple(ch_index[c] for c in r.via)
                if chans not in routes:
                    routes.append(chans)
                mask = sel & (pick == ri)
                if not mask.any():
                    continue
                route_id[mask] = routes.index(chans)
                pmask = mask[unit_of]
                for stage, cname in enumerate(r.via):
                    sv = scenario.channels[cname].service
                    pt = _person_times(sv, z[pmask, stage], eu[pmask], visa[pmask], first[pmask], child[pmask],
                                       pre[pmask])
                    units = np.flatnonzero(mask)
                    per_unit = np.zeros((n_u, 3))
                    np.add.at(per_unit, unit_of[pmask], pt)
                    if src.served_as == "units" and sv.per_unit is not None:
                        zs = zu[units, stage]
                        per_unit[units, 0] += _draw(sv.per_unit, zs)
                        per_unit[units, 1] += _draw(sv.per_unit_no_biometrics or sv.per_unit, zs)
                        per_unit[units, 2] += _draw(sv.per_unit_pre_ees or sv.per_unit, zs)
                    svc[units, stage, :] = per_unit[units]
        tcn = np.bincount(unit_of, weights=~eu, minlength=n_u).astype(np.int64)
        parts["arr"].append(np.maximum(arr, 0.0))
        parts["route"].append(route_id)
        parts["svc"].append(svc)
        parts["persons"].append(persons)
        parts["tcn"].append(tcn)
        parts["dl"].append(dl)
        parts["src"].append(np.full(n_u, si, dtype=np.int64))
    arr = np.concatenate(parts["arr"])
    order = np.argsort(arr, kind="stable")
    return Day(arrival=arr[order], route=np.concatenate(parts["route"])[order],
               service=np.concatenate(parts["svc"])[order], persons=np.concatenate(parts["persons"])[order],
               tcn=np.concatenate(parts["tcn"])[order], deadline=np.concatenate(parts["dl"])[order],
               source=np.concatenate(parts["src"])[order], routes=tuple(routes), channels=channels)


# ---- the event loop --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelPlan:
    name: str
    steps: tuple[tuple[float, int], ...]  # (time, open desks) from then on
    mean_full_s: float  # mean service per person in full mode here: the supervisor's rule of thumb


@dataclass
class Raw:
    """What one simulated day produced, per unit and per channel (numbers only)."""

    wait: np.ndarray  # seconds queued, all stages together; nan when never served
    done: np.ndarray  # time the last desk finished; nan when never served
    busy_s: list[float]  # desk-seconds spent serving, per channel
    max_queue: list[int]  # persons, per channel
    sample_t: np.ndarray  # times of the queue samples
    queue: np.ndarray  # (samples, channels) persons waiting
    mode_switches: list[tuple[float, int]]  # (time, FULL/NO_BIOMETRICS) supervisor's decisions
    skipped_s: float  # seconds biometrics were skipped
    events: int
    end: float = field(default=0.0)


def simulate(day: Day, plans: list[ChannelPlan], policy: Policy, sample_s: float = 300.0) -> Raw:
    """Run the day through the channels under the policy. Pure: no clock, no I/O, deterministic."""
    n = len(day.arrival)
    C = len(plans)
    arr = day.arrival.tolist()
    rid = day.route.tolist()
    routes = day.routes
    svc = day.service.tolist()
    persons = day.persons.tolist()
    queues: list[deque[tuple[int, int]]] = [deque() for _ in range(C)]
    qpersons = [0] * C
    max_q = [0] * C
    busy = [0] * C
    cap = [0] * C
    busy_s = [0.0] * C
    enq = [0.0] * n
    wait = [0.0] * n
    done = [math.nan] * n
    staff = sorted((t, c, k) for c, p in enumerate(plans) for t, k in p.steps)
    n_staff = len(staff)
    s0, s1 = policy.suspend if policy.suspend else (INF, INF)
    skip = policy.skip
    watched = [i for i, p in enumerate(plans) if skip and p.name in skip.channels]
    review_s = skip.review_minutes * 60 if skip else INF
    budget = skip.max_hours * 3600 if skip else 0.0
    on_since = -1.0
    skipped = 0.0
    mode = FULL
    switches: list[tuple[float, int]] = []
    heap: list[tuple[float, int, int, int]] = []
    seq = 0
    events = 0
    samples_t: list[float] = []
    samples_q: list[list[int]] = []
    next_sample = 0.0
    next_review = 0.0 if skip else INF
    force_at = INF
    t_last = 0.0
    ia = ist = 0
    push, pop = heapq.heappush, heapq.heappop
    while True:
        ta = arr[ia] if ia < n else INF
        th = heap[0][0] if heap else INF
        ts = staff[ist][0] if ist < n_staff else INF
        t = ta if ta < th else th  # noqa: FURB136 (the hot loop: a comparison is cheaper than min())
        if ts < t or (ts == t and ts < INF):
            t = ts
        if t == INF:
            break
        while next_sample <= t:
            samples_t.append(next_sample)
            samples_q.append(qpersons[:])
            next_sample += sample_s
        while next_review <= t or force_at <= t:
            if force_at <= next_review:  # the 6-hour budget is spent: biometrics resume
                skipped, mode = budget, FULL
                switches.append((force_at, FULL))
                force_at = INF
                continue
            tr = next_review
            next_review += review_s
            if skip.metric == "queue":  # type: ignore[union-attr]
                level = float(sum(qpersons[c] for c in watched))
            else:  # expected wait in minutes for a newcomer, at full-mode speed
                level = max((qpersons[c] * plans[c].mean_full_s / cap[c] / 60 if cap[c] else
                             (INF if qpersons[c] else 0.0)) for c in watched)
            if mode == FULL and level >= skip.above and skipped < budget:  # type: ignore[union-attr]
                mode, on_since, force_at = NO_BIOMETRICS, tr, tr + budget - skipped
                switches.append((tr, NO_BIOMETRICS))
            elif mode == NO_BIOMETRICS and level <= skip.below:  # type: ignore[union-attr]
                skipped += tr - on_since
                mode, force_at = FULL, INF
                switches.append((tr, FULL))
        t_last = t
        events += 1
        if t == ts and ist < n_staff and staff[ist][0] == t:
            _, c, k = staff[ist]
            ist += 1
            cap[c] = k
            q = queues[c]
            while busy[c] < k and q:
                u, s = q.popleft()
                qpersons[c] -= persons[u]
                m = PRE_EES if s0 <= t < s1 else mode
                d = svc[u][s][m]
                busy[c] += 1
                busy_s[c] += d
                wait[u] += t - enq[u]
                push(heap, (t + d, seq, u, s))
                seq += 1
            continue
        if th <= ta:
            _, _, u, s = pop(heap)
            route = routes[rid[u]]
            c = route[s]
            busy[c] -= 1
            q = queues[c]
            if q and busy[c] < cap[c]:
                v, sv = q.popleft()
                qpersons[c] -= persons[v]
                m = PRE_EES if s0 <= t < s1 else mode
                d = svc[v][sv][m]
                busy[c] += 1
                busy_s[c] += d
                wait[v] += t - enq[v]
                push(heap, (t + d, seq, v, sv))
                seq += 1
            s += 1
            if s == len(route):
                done[u] = t
                continue
        else:
            u, s = ia, 0
            ia += 1
            route = routes[rid[u]]
        # u reaches stage s of its route at time t
        c = route[s]
        enq[u] = t
        if busy[c] < cap[c] and not queues[c]:
            m = PRE_EES if s0 <= t < s1 else mode
            d = svc[u][s][m]
            busy[c] += 1
            busy_s[c] += d
            push(heap, (t + d, seq, u, s))
            seq += 1
        else:
            queues[c].append((u, s))
            qpersons[c] += persons[u]
            if qpersons[c] > max_q[c]:  # noqa: PLR1730 (the hot loop: cheaper than max())
                max_q[c] = qpersons[c]
    if mode == NO_BIOMETRICS:
        skipped += min(budget - skipped, max(0.0, t_last - on_since))
    w = np.array(wait)
    d = np.array(done)
    w[np.isnan(d)] = np.nan
    return Raw(wait=w, done=d, busy_s=busy_s, max_queue=max_q, sample_t=np.array(samples_t),
               queue=np.array(samples_q, dtype=np.int64).reshape(len(samples_t), C), mode_switches=switches,
               skipped_s=skipped, events=events, end=float(np.nanmax(d)) if n and not np.isnan(d).all() else 0.0)


def channel_plans(scenario: Scenario, policy: Policy, day: Day) -> list[ChannelPlan]:
    """Each channel's shift table under the policy, and the mean full-mode time per person there (from
    the day's own draws: the supervisor's expected-wait rule of thumb)."""
    plans = []
    for ci, name in enumerate(day.channels):
        num = den = 0.0
        for ri, route in enumerate(day.routes):
            for stage, c in enumerate(route):
                if c == ci:
                    sel = day.route == ri
                    num += float(day.service[sel, stage, FULL].sum())
                    den += float(day.persons[sel].sum())
        plans.append(ChannelPlan(name, tuple(staffing_steps(scenario, name, policy)), num / den if den else 60.0))
    return plans
