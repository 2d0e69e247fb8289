"""ETIAS screening rules (Reg. 2018/1240 Art. 33): specific risk indicators as data, their guard, and the
fairness report for the Fundamental Rights Guidance Board (Art. 10).

Art. 33(1) [R]: the screening rules are an algorithm enabling profiling (GDPR Art. 4(4)); the automated
processing (Art. 20(5)) compares the application with the specific risk indicators (SRI) that the Central
Unit establishes under Art. 33(4). An SRI here is a `Rule`: a structured dict (JSON or YAML) whose
conditions must all hold, each over one attribute that Art. 33(4) allows [K; spec §2.8]:

    age range, sex, nationality, country and city of residence, level of education, current occupation.

Everything else is refused, and the refusal says why: a protected characteristic (ETIAS Art. 14,
Art. 33(5) [K], GDPR Art. 9(1)) is named as such; a rule based solely on sex and/or age is refused
(Art. 33(5) [K]); so is a rule without conditions. Illegal-immigration rules are skipped for family members
of Union citizens (Art. 24(3) [R, spec §2.7]; spec §2.9 cites it as 24(4): check).

Pure logic: no database, no clock. The application date is a parameter.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from smartborders.etias.schemas import JOB_GROUPS, ApplicationIn
from smartborders.reference.countries import is_icao_code

Risk = Literal["security", "illegal_immigration", "epidemic"]
# Art. 33(2)(a)-(f) [R]: the sources on which the Commission's delegated act defines the risks.
Basis = Literal["33(2)(a)", "33(2)(b)", "33(2)(c)", "33(2)(d)", "33(2)(e)", "33(2)(f)"]
Op = Literal["in", "not_in", "eq", "between"]

RISKS: tuple[str, ...] = get_args(Risk)
BASES: tuple[str, ...] = get_args(Basis)
OPS: tuple[str, ...] = get_args(Op)

# The age bands of the fairness report, also usable in a rule as `age_band`: (label, lowest, highest age).
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("<18", 0, 17), ("18-25", 18, 25), ("26-40", 26, 40), ("41-60", 41, 60), ("61-70", 61, 70), (">70", 71, 10**6),
)
AGE_BAND_LABELS: tuple[str, ...] = tuple(label for label, _, _ in AGE_BANDS)
MAX_AGE = 130

# Read from the application form, so the two never drift apart.
EDUCATION: tuple[str, ...] = get_args(ApplicationIn.model_fields["education"].annotation)
SEXES: tuple[str, ...] = ("M", "F", "X")

# Art. 33(4) [K]: the only data an SRI may combine, and where each sits in the application's `data`
# (ApplicationIn.model_dump(mode="json", exclude={"client_id", "payment"})). Age is derived from the birth
# date (Art. 17(2)(a)) at the application date.
DATA_PATHS: dict[str, tuple[str, ...]] = {
    "age": ("person", "birth_date"),
    "age_band": ("person", "birth_date"),
    "sex": ("person", "sex"),
    "nationality": ("person", "nationality"),
    "country_of_residence": ("residence", "country"),
    "city_of_residence": ("residence", "city"),
    "education": ("education",),
    "job_group": ("job_group",),
}
ALLOWED_ATTRIBUTES: tuple[str, ...] = tuple(DATA_PATHS)
# Art. 33(5) [K] and Art. 14: sex and age are allowed only in combination with something else.
SEX_OR_AGE = frozenset({"sex", "age", "age_band"})

_ART14 = "ETIAS Art. 14 and Art. 33(5) [K]"
_GDPR9 = "GDPR Art. 9(1)"


@dataclass(frozen=True)
class Protected:
    """A protected characteristic and the article that protects it. `terms` match as consecutive words of
    the attribute name ("ethnic_origin" matches "applicant_ethnic_origin"); `exact` only as the whole name."""

    label: str
    article: str
    terms: tuple[str, ...]
    exact: tuple[str, ...] = ()


PROTECTED: tuple[Protected, ...] = (
    Protected("race or racial origin", f"{_ART14}, {_GDPR9}", ("race", "races", "racial")),
    Protected("colour", _ART14, ("colour", "color", "skin", "complexion")),
    Protected("ethnic origin", f"{_ART14}, {_GDPR9}", ("ethnic", "ethnicity", "ethnic_origin", "tribe", "tribal")),
    Protected("social origin", _ART14, ("social_origin", "social_class", "social_status", "caste")),
    Protected("genetic features", f"{_ART14}, {_GDPR9}", ("genetic", "genetics", "genome", "dna")),
    Protected("language", _ART14, ("language", "languages", "mother_tongue", "tongue", "dialect")),
    Protected("religion or belief", f"{_ART14}, {_GDPR9}",
              ("religion", "religions", "religious", "belief", "beliefs", "faith", "creed", "philosophical")),
    Protected("political or other opinion", f"{_ART14}, {_GDPR9}",
              ("political", "politics", "opinion", "opinions", "party_membership")),
    Protected("membership of a national minority", _ART14, ("minority", "minorities")),
    Protected("property", _ART14, ("property", "wealth", "assets", "fortune")),
    Protected("birth", _ART14, ("birth_status", "legitimacy", "illegitimate", "wedlock"), exact=("birth",)),
    Protected("disability", f"{_ART14}, {_GDPR9} (health)",
              ("disability", "disabilities", "disabled", "handicap", "handicapped", "impairment")),
    Protected("sexual orientation", f"{_ART14}, {_GDPR9}",
              ("sexual_orientation", "orientation", "sexuality", "sexual", "lgbt", "lgbtq", "lgbtqi")),
    Protected("trade-union membership", f"Art. 33(5) [K], {_GDPR9}",
              ("trade_union", "trade_unions", "labour_union", "labor_union", "union_membership", "unionised",
               "unionized")),
    Protected("data concerning health", _GDPR9,
              ("health", "medical", "disease", "diseases", "illness", "diagnosis", "vaccination", "vaccinated",
               "pregnancy", "pregnant", "hiv")),
    Protected("biometric data", _GDPR9,
              ("biometric", "biometrics", "fingerprint", "fingerprints", "facial", "face", "iris",
               "dactyloscopic")),
    Protected("sex life", _GDPR9, ("sex_life", "sexual_life", "sex_lives")),
)

# A refused name that looks like an allowed one gets a hint; the guard itself never guesses.
_HINTS = {
    "gender": "sex", "birth_date": "age", "date_of_birth": "age", "dob": "age", "age_range": "age_band",
    "citizenship": "nationality", "nationalities": "nationality", "residence_country": "country_of_residence",
    "country": "country_of_residence", "residence_city": "city_of_residence", "city": "city_of_residence",
    "occupation": "job_group", "current_occupation": "job_group", "job": "job_group", "profession": "job_group",
    "education_level": "education", "level_of_education": "education",
}


def _words(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [w for w in re.split(r"[^0-9a-z]+", spaced.casefold()) if w]


def protected_characteristic(attribute: str) -> Protected | None:
    """The protected characteristic an attribute name reveals, if any (Art. 14, Art. 33(5) [K], GDPR Art. 9)."""
    words = _words(attribute)
    whole = "_".join(words)
    for p in PROTECTED:
        if whole in p.exact:
            return p
        for term in p.terms:
            t = term.split("_")
            if any(words[i:i + len(t)] == t for i in range(len(words) - len(t) + 1)):
                return p
    return None


def attribute_problem(attribute: str) -> str | None:
    """Why `attribute` may not be used in an SRI, or None if Art. 33(4) allows it."""
    if attribute in DATA_PATHS:
        return None
    p = protected_characteristic(attribute)
    if p is not None:
        return (f"{attribute!r} is a protected characteristic ({p.label}) under {p.article}: "
                "a screening rule may never be based on it")
    hint = _HINTS.get("_".join(_words(attribute)))
    hint_text = f" (did you mean {hint!r}?)" if hint else ""
    return (f"{attribute!r} is not an attribute that ETIAS Art. 33(4) [K] allows in a specific risk indicator"
            f"{hint_text}; allowed: {', '.join(ALLOWED_ATTRIBUTES)}")


def age_on(birth_date: date | str, on: date) -> int:
    """Age in whole years on `on` (someone born on 29 February turns a year older on 1 March)."""
    b = birth_date if isinstance(birth_date, date) else date.fromisoformat(birth_date)
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def age_band(age: int) -> str:
    for label, lo, hi in AGE_BANDS:
        if lo <= age <= hi:
            return label
    raise ValueError(f"age {age} is negative")


# --- rules -------------------------------------------------------------------------------------------------

_CONFIG = ConfigDict(extra="forbid", frozen=True, strict=True)
_COUNTRY = re.compile(r"[A-Z]{3}")


def _check_scalar(attribute: str, v: Any) -> Any:
    if attribute == "age":
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"age: {v!r} is not a whole number of years")
        if not 0 <= v <= MAX_AGE:
            raise ValueError(f"age: {v} is not between 0 and {MAX_AGE}")
        return v
    if not isinstance(v, str):
        raise ValueError(f"{attribute}: {v!r} is not a string")  # noqa: TRY004 (pydantic reports ValueError)
    if attribute in ("nationality", "country_of_residence"):
        if not _COUNTRY.fullmatch(v):
            raise ValueError(f"{attribute}: {v!r} is not an ISO 3166 alpha-3 code (three capital letters)")
        if not is_icao_code(v):
            raise ValueError(f"{attribute}: {v!r} is not an ISO 3166 alpha-3 or ICAO Doc 9303 code")
        return v
    if attribute == "city_of_residence":
        if not v.strip() or len(v) > 100:
            raise ValueError(f"city_of_residence: {v!r} is not a city name (1 to 100 characters)")
        return v
    allowed = {"sex": SEXES, "education": EDUCATION, "age_band": AGE_BAND_LABELS, "job_group": tuple(JOB_GROUPS)}
    if v not in allowed[attribute]:
        raise ValueError(f"{attribute}: {v!r} is not one of {', '.join(allowed[attribute])}")
    return v


def _check_value(attribute: str, op: str, value: Any) -> Any:
    if op == "between":
        if attribute != "age":
            raise ValueError(f"'between' is for age only, not {attribute}")
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueError("'between' takes [lowest, highest] (inclusive)")
        lo, hi = (_check_scalar("age", v) for v in value)
        if lo > hi:
            raise ValueError(f"'between' [{lo}, {hi}]: the lowest age is above the highest")
        return (lo, hi)
    if op in ("in", "not_in"):
        if not isinstance(value, list | tuple) or not value:
            raise ValueError(f"{op!r} takes a non-empty list of values")
        return tuple(dict.fromkeys(_check_scalar(attribute, v) for v in value))
    if isinstance(value, list | tuple | dict):
        raise ValueError("'eq' takes a single value")  # noqa: TRY004 (pydantic reports ValueError)
    return _check_scalar(attribute, value)


class Condition(BaseModel):
    """One condition of an SRI: `attribute` `op` `value`. Ops: in, not_in, eq; between [lo, hi] (age only)."""

    model_config = _CONFIG

    attribute: str
    op: Op
    value: Any

    @field_validator("attribute")
    @classmethod
    def _allowed(cls, v: str) -> str:
        problem = attribute_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("value")
    @classmethod
    def _value(cls, v: Any, info: ValidationInfo) -> Any:
        attribute, op = info.data.get("attribute"), info.data.get("op")
        if attribute is None or op is None:  # already refused: their errors say why
            return v
        return _check_value(attribute, op, v)


RuleId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class Rule(BaseModel):
    """A specific risk indicator (ETIAS Art. 33(4) [K]): all `conditions` must hold. A changed rule is a new
    `version` of the same `id` (Art. 33(6) [K]: the life cycle the Screening Board is consulted on)."""

    model_config = _CONFIG

    id: RuleId
    version: int = Field(ge=1)
    risk: Risk
    basis: Basis
    description: str = Field(min_length=1, max_length=2000)
    conditions: Annotated[tuple[Condition, ...], Field(strict=False, max_length=16)]

    @field_validator("conditions")
    @classmethod
    def _some(cls, v: tuple[Condition, ...]) -> tuple[Condition, ...]:
        if not v:
            raise ValueError("a rule needs at least one condition: an SRI is a combination of data "
                             "(Art. 33(4) [K]), and without one it would hit every applicant")
        return v

    @model_validator(mode="after")
    def _targeted(self) -> Rule:
        used = {c.attribute for c in self.conditions}
        if used <= SEX_OR_AGE:
            raise ValueError("a rule based solely on sex and/or age is not allowed (ETIAS Art. 33(5) [K], "
                             "Art. 14): combine it with nationality, residence, education or job group")
        # Art. 33(2)(f) [R] is the epidemic source; (d) is Member States' security-risk information.
        if (self.risk == "epidemic") != (self.basis == "33(2)(f)"):
            raise ValueError("basis 33(2)(f) (epidemic information) goes with risk 'epidemic', and only it")
        if self.basis == "33(2)(d)" and self.risk != "security":
            raise ValueError("basis 33(2)(d) (security risk indicators or threats) goes with risk 'security'")
        return self

    @property
    def skipped_for_family_members(self) -> bool:
        """Art. 24(3) [R]: no illegal-immigration SRI for family members of Union citizens (Art. 2(1)(c))."""
        return self.risk == "illegal_immigration"

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class RuleError(ValueError):
    """A rule (or rule set) that may not be used; `problems` are (where, why) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{where}: {why}" if where else why for where, why in self.problems))


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problems(e: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for err in e.errors(include_url=False):
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (a rule has: id, version, risk, basis, description, conditions; " \
                  "a condition has: attribute, op, value)"
        where = _where(tuple(err["loc"]))
        found.append((f"{prefix}.{where}" if prefix and where else prefix or where or "rule", msg))
    return found


def parse_rule(obj: Mapping[str, Any] | str | bytes) -> Rule:
    """A rule from a dict or a JSON text; RuleError names each field that is wrong and why."""
    try:
        if isinstance(obj, str | bytes):
            return Rule.model_validate_json(obj)
        return Rule.model_validate(obj)
    except ValidationError as e:
        raise RuleError(_problems(e)) from None


@dataclass(frozen=True, slots=True)
class Match:
    """A hit on an SRI (Art. 3 "hit"; the Central Unit verifies it under Art. 22 [R])."""

    rule_id: str
    version: int
    risk: str
    basis: str
    explanation: str


def _norm_city(s: str) -> str:
    decomposed = unicodedata.normalize("NFKD", s)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def _show(attribute: str, v: Any) -> str:
    return json.dumps(v, ensure_ascii=False) if attribute == "city_of_residence" else str(v)


_Pred = Callable[[Any], bool]


def _predicate(c: Condition) -> tuple[_Pred, str]:
    """The condition as a closure over a set or bounds, and its wording for an explanation."""
    key = _norm_city if c.attribute == "city_of_residence" else (lambda x: x)
    if c.op == "between":
        lo, hi = c.value
        return (lambda v: v is not None and lo <= v <= hi), f"between {lo} and {hi}"
    if c.op == "eq":
        want = key(c.value)
        return (lambda v: v is not None and v == want), f"equals {_show(c.attribute, c.value)}"
    values = frozenset(key(v) for v in c.value)
    shown = "[" + ", ".join(_show(c.attribute, v) for v in c.value) + "]"
    if c.op == "in":
        return values.__contains__, f"in {shown}"
    return (lambda v: v is not None and v not in values), f"not in {shown}"


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    skip_for_family: bool
    tests: tuple[tuple[str, _Pred, str], ...]


def _compile(rule: Rule) -> _Compiled:
    return _Compiled(rule, rule.skipped_for_family_members,
                     tuple((c.attribute, *_predicate(c)) for c in rule.conditions))


def _get(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    v: Any = data
    for part in path:
        if not isinstance(v, Mapping):
            return None
        v = v.get(part)
    return v


def facts(data: Mapping[str, Any], on: date) -> dict[str, Any]:
    """The Art. 33(4) attributes of one application's `data`, as the rules compare them (city folded to
    lower case without diacritics). A missing value is None and meets no condition, not even not_in."""
    birth = _get(data, DATA_PATHS["age"])
    age = age_on(birth, on) if birth else None
    city = _get(data, DATA_PATHS["city_of_residence"])
    return {
        "age": age,
        "age_band": age_band(age) if age is not None and age >= 0 else None,
        "sex": _get(data, DATA_PATHS["sex"]),
        "nationality": _get(data, DATA_PATHS["nationality"]),
        "country_of_residence": _get(data, DATA_PATHS["country_of_residence"]),
        "city_of_residence": _norm_city(city) if isinstance(city, str) else None,
        "education": _get(data, DATA_PATHS["education"]),
        "job_group": _get(data, DATA_PATHS["job_group"]),
    }


class RuleSet:
    """The SRI the Central Unit has registered (Art. 33(1) [R]), with every version kept: (id, version) is
    unique, and a rule whose content changes must come as a new version. `evaluate` applies the latest
    version of each id."""

    def __init__(self, rules: Iterable[Rule | Mapping[str, Any]] = ()) -> None:
        problems: list[tuple[str, str]] = []
        by_key: dict[tuple[str, int], Rule] = {}
        for i, r in enumerate(rules):
            if not isinstance(r, Rule):
                try:
                    r = Rule.model_validate(r)
                except ValidationError as e:
                    problems += _problems(e, f"rules[{i}]")
                    continue
            key = (r.id, r.version)
            if key in by_key:
                why = ("listed twice" if by_key[key] == r else
                       "differs from the rule already registered under this id and version: "
                       "a changed rule must be a new version")
                problems.append((f"rules[{i}]", f"{r.id} version {r.version} {why}"))
                continue
            by_key[key] = r
        if problems:
            raise RuleError(problems)
        self.rules: tuple[Rule, ...] = tuple(by_key[k] for k in sorted(by_key))
        latest: dict[str, Rule] = {}
        for r in self.rules:
            latest[r.id] = r
        self.active: tuple[Rule, ...] = tuple(latest.values())
        self._compiled = tuple(_compile(r) for r in self.active)

    @classmethod
    def from_json(cls, text: str | bytes) -> RuleSet:
        """A rule set from a JSON list of rules."""
        items = json.loads(text)
        if not isinstance(items, list):
            raise RuleError([("", "a rule set is a JSON list of rules")])
        return cls(items)

    def to_json(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.rules]

    def with_rule(self, rule: Rule | Mapping[str, Any]) -> RuleSet:
        """This set plus `rule`, which must be new or a higher version of its id."""
        r = rule if isinstance(rule, Rule) else parse_rule(rule)
        current = self.latest(r.id)
        if current is not None and r.version <= current.version:
            why = f"{r.id} is at version {current.version}: a changed rule must be a new, higher version"
            raise RuleError([("version", f"{why}, not {r.version}")])
        return RuleSet((*self.rules, r))

    def latest(self, rule_id: str) -> Rule | None:
        return next((r for r in self.active if r.id == rule_id), None)

    def __len__(self) -> int:
        return len(self.active)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.active)

    def evaluate(self, data: Mapping[str, Any], on: date, *, family_member: bool) -> list[Match]:
        """Art. 20(5) [K]: the SRI the application `data` meets on the application date `on`.

        `data` is ApplicationIn.model_dump(mode="json", exclude={"client_id", "payment"}). With
        `family_member` (Art. 2(1)(c), e.g. `data.get("family_member") is not None`), illegal-immigration
        rules are skipped (Art. 24(3) [R])."""
        f = facts(data, on)
        found = []
        for c in self._compiled:
            if family_member and c.skip_for_family:
                continue
            if all(test(f[attr]) for attr, test, _ in c.tests):
                found.append(self._match(c, data, f))
        return found

    @staticmethod
    def _match(c: _Compiled, data: Mapping[str, Any], f: Mapping[str, Any]) -> Match:
        parts = []
        for attr, _, wording in c.tests:
            v = _get(data, DATA_PATHS[attr]) if attr == "city_of_residence" else f[attr]
            parts.append(f"{attr} {_show(attr, v)} {wording}")
        r = c.rule
        return Match(r.id, r.version, r.risk, r.basis, "; ".join(parts))


# --- fairness report ---------------------------------------------------------------------------------------

DIMENSIONS = ("nationality", "sex", "age_band")
MEASURES = ("hit", "referral")


def _day(v: Any) -> date | None:
    return date.fromisoformat(v) if isinstance(v, str) else v


@dataclass(frozen=True)
class Screened:
    """One screened application, as the fairness report needs it: age (or birth date and application date),
    sex, nationality, the ids of the rules it hit and whether it was referred to manual processing (Art. 26)."""

    nationality: str
    sex: str
    matched: tuple[str, ...] = ()
    manual: bool = False
    age: int | None = None
    birth_date: date | None = None
    application_date: date | None = None

    @classmethod
    def of(cls, record: Screened | Mapping[str, Any]) -> Screened:
        if isinstance(record, Screened):
            return record
        return cls(nationality=record["nationality"], sex=record["sex"], matched=tuple(record.get("matched", ())),
                   manual=bool(record.get("manual", False)), age=record.get("age"),
                   birth_date=_day(record.get("birth_date")), application_date=_day(record.get("application_date")))

    def band(self) -> str:
        if self.age is not None:
            return age_band(self.age)
        if self.birth_date is None or self.application_date is None:
            raise ValueError("a record needs age, or birth_date and application_date")
        return age_band(age_on(self.birth_date, self.application_date))


@dataclass(frozen=True)
class GroupStats:
    """One group of one dimension. Ratios are the group's rate over everyone else's (None where there is
    no one else); p-values are a two-sided two-proportion z-test against everyone else."""

    group: str
    n: int
    hits: int
    hit_rate: float
    hit_ratio: float | None
    hit_p: float
    referred: int
    referral_rate: float
    referral_ratio: float | None
    referral_p: float
    flagged: tuple[str, ...] = ()  # which of MEASURES are outside the band


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    groups: tuple[GroupStats, ...]


@dataclass(frozen=True)
class Section:
    """`scope` is "overall" (any rule; any referral) or a rule id (hits on that rule; referrals among them)."""

    scope: str
    title: str
    n: int
    hits: int
    hit_rate: float
    referred: int
    referral_rate: float
    breakdowns: tuple[Breakdown, ...]


@dataclass(frozen=True)
class Flag:
    scope: str
    dimension: str
    group: str
    measure: str
    n: int
    rate: float
    rest_rate: float
    ratio: float


@dataclass(frozen=True)
class FairnessReport:
    total: int
    min_group: int
    band: tuple[float, float]
    alpha: float | None
    sections: tuple[Section, ...]
    flags: tuple[Flag, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON (an infinite ratio, where everyone else's rate is 0, becomes "inf")."""
        def fix(v: Any) -> Any:
            if isinstance(v, float) and math.isinf(v):
                return "inf"
            if isinstance(v, dict):
                return {k: fix(x) for k, x in v.items()}
            if isinstance(v, list | tuple):
                return [fix(x) for x in v]
            return v
        out: dict[str, Any] = fix(asdict(self))
        return out


def _ratio(x: int, n: int, rest_x: int, rest_n: int) -> float | None:
    if n == 0 or rest_n == 0:
        return None
    rate, rest = x / n, rest_x / rest_n
    if rest == 0:
        return 1.0 if rate == 0 else math.inf
    return rate / rest


def _p_value(x: int, n: int, rest_x: int, rest_n: int) -> float:
    if n == 0 or rest_n == 0:
        return 1.0
    pooled = (x + rest_x) / (n + rest_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / rest_n))
    if se == 0:
        return 1.0
    return math.erfc(abs(x / n - rest_x / rest_n) / se / math.sqrt(2))


_SEX_ORDER = {s: i for i, s in enumerate(SEXES)}
_BAND_ORDER = {b: i for i, b in enumerate(AGE_BAND_LABELS)}


def _order(dimension: str, group: str, *, n: Counter[str]) -> tuple[int, str]:
    """Sexes as on the form, age bands youngest first, nationalities largest first."""
    if dimension == "sex":
        return _SEX_ORDER.get(group, 9), group
    if dimension == "age_band":
        return _BAND_ORDER[group], group
    return -n[group], group


def fairness_report(records: Iterable[Screened | Mapping[str, Any]], rules: RuleSet | Iterable[Rule] | None = None,
                    *, min_group: int = 30, band: tuple[float, float] = (0.8, 1.25),
                    alpha: float | None = None) -> FairnessReport:
    """Hit and manual-referral rates by nationality, sex and age band, overall and per rule, for the
    Fundamental Rights Guidance Board (Art. 10 [R]) and the Screening Board's ex-post evaluation (Art. 9(2)(a)).

    Art. 14 [R]: processing must not result in discrimination on grounds including sex and age; nationality
    is a lawful SRI attribute but its disparities are what the Boards need to see. A group is flagged for a
    measure where its rate over everyone else's is outside `band` (the four-fifths rule: 4/5..5/4), and both
    it and everyone else have at least `min_group` applications (a tiny "rest" gives a meaningless ratio);
    with `alpha`, also only where the z-test's p-value is below it. With `rules`, every rule gets a section
    (even without hits) and a record naming another rule id is an error."""
    low, high = band
    if not 0 < low <= 1 <= high:
        raise ValueError(f"band {band}: need 0 < low <= 1 <= high")
    known: dict[str, Rule] | None = None
    if rules is not None:
        known = {r.id: r for r in rules}  # a RuleSet iterates its latest versions
    n: dict[str, Counter[str]] = {d: Counter() for d in DIMENSIONS}
    hits: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: {d: Counter() for d in DIMENSIONS})
    referred: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: {d: Counter() for d in DIMENSIONS})
    total = 0
    for i, raw in enumerate(records):
        rec = Screened.of(raw)
        try:
            groups = {"nationality": rec.nationality, "sex": rec.sex, "age_band": rec.band()}
        except ValueError as e:
            raise ValueError(f"record {i}: {e}") from None
        matched = set(rec.matched)
        if known is not None and not matched <= known.keys():
            raise ValueError(f"record {i}: unknown rule id(s) {', '.join(sorted(matched - known.keys()))}")
        total += 1
        for d, g in groups.items():
            n[d][g] += 1
            if matched:
                hits["overall"][d][g] += 1
            if rec.manual:
                referred["overall"][d][g] += 1
            for rule_id in matched:
                hits[rule_id][d][g] += 1
                if rec.manual:
                    referred[rule_id][d][g] += 1
    scopes = ["overall", *(sorted(known) if known is not None else sorted(set(hits) - {"overall"}))]
    sections, flags = [], []
    for scope in scopes:
        breakdowns = []
        for d in DIMENSIONS:
            h_all, r_all = sum(hits[scope][d].values()), sum(referred[scope][d].values())
            stats = []
            for g in sorted(n[d], key=functools.partial(_order, d, n=n[d])):
                gn, gh, gr = n[d][g], hits[scope][d][g], referred[scope][d][g]
                rest_n = total - gn
                measured = {"hit": (gh, h_all - gh), "referral": (gr, r_all - gr)}
                ratios = {m: _ratio(x, gn, rx, rest_n) for m, (x, rx) in measured.items()}
                ps = {m: _p_value(x, gn, rx, rest_n) for m, (x, rx) in measured.items()}
                flagged = []
                for m, (x, rx) in measured.items():
                    ratio = ratios[m]
                    if (ratio is not None and gn >= min_group and rest_n >= min_group
                            and not low <= ratio <= high and (alpha is None or ps[m] < alpha)):
                        flagged.append(m)
                        flags.append(Flag(scope, d, g, m, gn, x / gn, rx / rest_n, ratio))
                stats.append(GroupStats(g, gn, gh, gh / gn, ratios["hit"], ps["hit"], gr, gr / gn,
                                        ratios["referral"], ps["referral"], tuple(flagged)))
            breakdowns.append(Breakdown(d, tuple(stats)))
        h, r = sum(hits[scope]["sex"].values()), sum(referred[scope]["sex"].values())
        if scope == "overall":
            title = "Overall (any screening rule; any referral to manual processing)"
        elif known is not None:
            k = known[scope]
            title = f"Rule {k.id} v{k.version} ({k.risk}, Art. {k.basis}): {k.description}"
        else:
            title = f"Rule {scope}"
        sections.append(Section(scope, title, total, h, h / total if total else 0.0, r,
                                r / total if total else 0.0, tuple(breakdowns)))
    return FairnessReport(total, min_group, (low, high), alpha, tuple(sections), tuple(flags))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _r(x: float | None) -> str:
    return "n/a" if x is None else ("inf" if math.isinf(x) else f"{x:.2f}")


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


_DIM_TITLES = {"nationality": "By nationality", "sex": "By sex", "age_band": "By age band"}


def render_markdown(report: FairnessReport) -> str:
    """The report as markdown tables: one table per dimension, overall and per rule, flags first."""
    low, high = report.band
    lines = ["# ETIAS screening rules: fairness report", "",
             f"{report.total} applications. Disparity ratio = the group's rate / the rate of everyone else; "
             f"flagged outside {low:.2f}-{high:.2f} (four-fifths rule) where the group and everyone else both "
             f"have at least {report.min_group} applications"
             + (f" and p < {report.alpha}" if report.alpha is not None else "") + ".", "", "## Flags", ""]
    if report.flags:
        for f in report.flags:
            lines.append(f"- {f.scope}, {f.dimension} {_cell(f.group)}: {f.measure} rate {_pct(f.rate)} vs "
                         f"{_pct(f.rest_rate)} for everyone else (ratio {_r(f.ratio)}, n = {f.n})")
    else:
        lines.append("None.")
    for s in report.sections:
        lines += ["", f"## {_cell(s.title)}", "",
                  (f"{s.hits} of {s.n} hit ({_pct(s.hit_rate)}); {s.referred} referred to manual processing "
                   f"({_pct(s.referral_rate)}).")]
        for b in s.breakdowns:
            lines += ["", f"### {_DIM_TITLES[b.dimension]}", "",
                      "| Group | n | hits | hit rate | ratio | p | referred | referral rate | ratio | p | flag |",
                      "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"]
            for g in b.groups:
                lines.append(f"| {_cell(g.group)} | {g.n} | {g.hits} | {_pct(g.hit_rate)} | {_r(g.hit_ratio)} | "
                             f"{g.hit_p:.3f} | {g.referred} | {_pct(g.referral_rate)} | {_r(g.referral_ratio)} | "
                             f"{g.referral_p:.3f} | {'FLAG ' + ', '.join(g.flagged) if g.flagged else ''} |")
    return "\n".join(lines) + "\n"
