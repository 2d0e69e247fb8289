"""The heavy-traffic policies of Reg. (EU) 2025/1534 as the simulator applies them, and their modifiers.

- `full`: the EES as designed: every third-country national enrolled or verified with biometrics.
- `skip_biometrics`: the supervisor's decision to stop biometric capture while the queue or expected
  wait passes a threshold, with hysteresis, for at most 6 hours (notes/performance.md §2.4).
- `suspend`: the EES suspended at the crossing point for up to 6 hours: checks as before the EES.
- `pre_registration`: a larger share of first enrolments pre-registered in an app (modifier).
- `extra_staff`: more desks open in given hours (modifier).
- `pre_ees`: no EES at all, the reference for "before" figures.

Policies combine with `+`: `suspend+extra_staff`. The numbers (threshold, window, share, desks) come from
the scenario's `policies` section, so a policy name means the same thing in every run of a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

from smartborders.sim.capacity.scenario import ExtraStaff, Scenario, SkipBiometrics

NAMES = ("full", "skip_biometrics", "suspend", "pre_registration", "extra_staff", "pre_ees")


class PolicyError(ValueError):
    """An unknown policy, or one the scenario gives no settings for."""


@dataclass(frozen=True)
class Policy:
    name: str
    skip: SkipBiometrics | None = None
    suspend: tuple[float, float] | None = None  # seconds since 00:00: [start, end)
    pre_registered: float | None = None  # overrides each source's mix.pre_registered
    extra_staff: tuple[ExtraStaff, ...] = ()


def make_policy(name: str, scenario: Scenario) -> Policy:
    """`full`, `skip_biometrics`, ... or a `+` combination, with the scenario's settings."""
    parts = [p.strip() for p in name.split("+") if p.strip()]
    if not parts:
        raise PolicyError(f"empty policy name; known: {', '.join(NAMES)}")
    settings = scenario.policies
    skip = suspend = pre = None
    extra: tuple[ExtraStaff, ...] = ()
    for part in parts:
        if part not in NAMES:
            raise PolicyError(f"unknown policy {part!r}; known: {', '.join(NAMES)} (combine with +)")
        if part == "skip_biometrics":
            if settings.skip_biometrics is None:
                raise PolicyError(f"scenario {scenario.name!r} has no policies.skip_biometrics settings")
            skip = settings.skip_biometrics
        elif part == "suspend":
            if settings.suspend is None:
                raise PolicyError(f"scenario {scenario.name!r} has no policies.suspend window")
            suspend = (settings.suspend.start, settings.suspend.end)
        elif part == "pre_ees":
            suspend = (float("-inf"), float("inf"))
        elif part == "pre_registration":
            if settings.pre_registration is None:
                raise PolicyError(f"scenario {scenario.name!r} has no policies.pre_registration share")
            pre = settings.pre_registration
        elif part == "extra_staff":
            if not settings.extra_staff:
                raise PolicyError(f"scenario {scenario.name!r} has no policies.extra_staff")
            extra = tuple(settings.extra_staff)
    return Policy(name="+".join(parts), skip=skip, suspend=suspend, pre_registered=pre, extra_staff=extra)


def staffing_steps(scenario: Scenario, channel: str, policy: Policy) -> list[tuple[float, int]]:
    """The channel's shift table with the policy's extra desks added: (time, desks) steps, sorted."""
    base = scenario.channels[channel].steps()
    extras = [e for e in policy.extra_staff if e.channel == channel]
    times = sorted({t for t, _ in base} | {t for e in extras for t in (e.start, e.end)})

    def desks(t: float) -> int:
        n = 0
        for bt, v in base:
            if bt <= t:
                n = v
        return n + sum(e.desks for e in extras if e.start <= t < e.end)

    steps: list[tuple[float, int]] = []
    for t in times:
        d = desks(t)
        if not steps or steps[-1][1] != d:
            steps.append((t, d))
    return steps
