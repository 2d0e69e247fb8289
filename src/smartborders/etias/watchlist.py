"""Name screening for ETIAS automated processing (Reg. 2018/1240 Art. 20, 34-35): a person against a
list of people (the ETIAS watchlist, a SIS slice, earlier refused applications), in any script.

The approach of OpenSanctions' yente: cheap blocking keys pick candidates, then nomenklatura's
`logic-v2` scores each (names compared across scripts, transliterations, orders and spellings, with
known name symbols such as Mohammed ~ Muhammad; birth dates and nationalities that disagree pull the
score down). Every hit carries the explanation the algorithm gives, so a verifier sees why.

Blocking keys per name token (and per pair of adjacent tokens written together): the token in ASCII
(any script transliterated), its Metaphone, its Soundex code and its consonants (scripts that write
few vowels transliterate without them). An entry is a candidate when it shares a key with the query; candidates are ranked by
the rarity of what they share (a shared "ivanov" says more than a shared "mohammed") and the best
`CANDIDATES` are scored. Keys held by more than `COMMON` entries are used only when nothing rarer is.

Scoring a candidate costs about 0.1 ms, most of it logic-v2 features that cannot score for the people
compared here. For a `Person` entity as `_entity` makes it (a name, a birth date, a nationality: no
identifiers, addresses or weak aliases), logic-v2's score is its `name_match` score plus qualifiers
that only subtract (birth date, nationality), clipped to [0, 1]. So `match` computes `name_match`
first and runs the full comparison (whose score and explanation a hit carries) only where that
reaches the threshold: the same hits with the same scores, in a third of the time. A `Query` holds
what every list's screening of one name shares (its blocking keys, its entity: logic-v2 analyses the
entity's names once, by id).

Gotcha (notes/libraries.md): logic-v2 caches by entity id, so every entity compared gets an id unique
to this process.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from smartborders.core.errors import InvalidInput

# yente's default match threshold for logic-v2; our screening evaluation (bench/etias) measures the
# precision and recall on planted hits at it.
THRESHOLD = 0.70
CANDIDATES = 30
COMMON = 2_000


@dataclass(frozen=True)
class Person:
    """A watchlist entry or a query: `id` is echoed back as given."""

    id: Any
    name: str
    birth_date: str | None = None  # ISO 8601: YYYY-MM-DD, or YYYY-MM / YYYY where only that is known
    nationality: str | None = None  # ISO 3166-1 alpha-3


@dataclass(frozen=True)
class Hit:
    entry: Any
    score: float
    explanation: str


_ids = itertools.count()
_ids_lock = threading.Lock()


def _unique() -> int:
    with _ids_lock:
        return next(_ids)


@lru_cache(maxsize=1)
def _algorithm() -> tuple[Any, Any]:
    from nomenklatura.matching import get_algorithm

    algo = get_algorithm("logic-v2")
    if algo is None:  # pragma: no cover - nomenklatura ships it
        raise RuntimeError("nomenklatura has no logic-v2")
    return algo, algo.default_config()


@lru_cache(maxsize=65_536)
def _birth_date(text: str) -> str | None:
    """followthemoney's cleaning of a birth date (what `add` does to it), once per distinct text: a
    list of 100,000 people holds about 30,000 dates, and the parse is most of making an entity."""
    from followthemoney import model

    prop = model.get("Person").get("birthDate")  # type: ignore[union-attr]
    return prop.type.clean(text, format=prop.format)


@lru_cache(maxsize=1_024)
def _country(code: str) -> str | None:
    from rigour.territories import lookup_territory

    t = lookup_territory(code)
    return t.code if t is not None else None


def _entity(p: Person) -> Any:
    """The entity logic-v2 compares. Only a name, a birth date and a nationality: a property that a
    main feature or a positive qualifier reads (an identifier, an address, a weak alias) would break
    the bound `Watchlist.match` relies on (module docstring)."""
    from followthemoney import model

    e = model.make_entity("Person")
    e.id = f"p{_unique()}"
    e.add("name", p.name)
    if p.birth_date:
        born = _birth_date(p.birth_date)
        if born is not None:
            e.add("birthDate", born, cleaned=True)
    if p.nationality:
        country = _country(p.nationality)
        if country is not None:
            e.add("nationality", country)
    return e


@lru_cache(maxsize=262_144)
def _token_keys(token: str) -> tuple[str, ...]:
    """The keys of one token (names repeat their tokens: computed once per distinct token)."""
    from rigour.text import metaphone, soundex

    out = ["a:" + token]
    if token.isalpha():
        out.append("m:" + metaphone(token))
        out.append("s:" + soundex(token))
        # The consonants: scripts that write few vowels (Arabic, Hebrew) transliterate without them.
        skeleton = "".join(c for c, _ in itertools.groupby(token) if c not in "aeiouyw")
        if len(skeleton) >= 3:
            out.append("c:" + skeleton)
    return tuple(out)


def _keys(name: str) -> set[str]:
    from rigour.text import ascii_text

    out: set[str] = set()
    tokens = ["".join(c for c in t if c.isalnum()) for t in ascii_text(name).lower().replace("-", " ").replace(
        "'", " ").split()]
    tokens = [t for t in tokens if t]
    # Adjacent tokens joined too: "Al Hassan" ~ "Alhasan", "Abdul Rahman" ~ "Abdulrahman".
    for token in tokens + [a + b for a, b in itertools.pairwise(tokens)]:
        if len(token) >= 2:
            out.update(_token_keys(token))
    return out


@lru_cache(maxsize=1)
def _name_match() -> Any:
    """logic-v2's name comparison (its `name_match` feature), called alone as a bound on its score."""
    algo, _ = _algorithm()
    return next(f.func for f in algo.features if f.name == "name_match" and not f.qualifier)


class Query:
    """One person to screen, prepared once for every list it is screened against: its blocking keys,
    and its entity, made when first compared (logic-v2 caches a name analysis by entity id)."""

    __slots__ = ("_entity", "keys", "person")

    def __init__(self, person: Person) -> None:
        self.person = person
        self.keys = _keys(person.name)
        self._entity: Any = None

    @property
    def entity(self) -> Any:
        if self._entity is None:
            self._entity = _entity(self.person)
        return self._entity


_FEATURES = {
    "name_match": "name", "weak_alias_match": "weak alias", "dob_year_disjoint": "birth year",
    "dob_day_disjoint": "birth date", "country_mismatch": "nationality", "gender_mismatch": "sex",
}


def _explain(result: Any) -> str:
    """The algorithm's reasons, the ones that moved the score (or the name comparison if none did)."""
    parts = []
    for key, feature in result.explanations.items():
        if key not in _FEATURES:
            continue
        if feature.score or key == "name_match" or (feature.detail and "match" in feature.detail.lower()):
            detail = feature.detail or ""
            parts.append(f"{_FEATURES[key]}: {detail}" if detail else f"{_FEATURES[key]}: {feature.score:.2f}")
    return "; ".join(parts)


class Watchlist:
    """Entries indexed by blocking key; `match` screens one person. Thread-safe for reading."""

    def __init__(self, entries: Iterable[Person] = ()) -> None:
        self._entries: list[Person] = []
        self._entities: list[Any] = []
        self._postings: dict[str, list[int]] = defaultdict(list)
        for e in entries:
            self.add(e)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entry: Person) -> None:
        i = len(self._entries)
        self._entries.append(entry)
        self._entities.append(_entity(entry))
        for k in _keys(entry.name):
            self._postings[k].append(i)

    def candidates(self, query: Person | Query, limit: int = CANDIDATES) -> list[int]:
        q = query if isinstance(query, Query) else Query(query)
        keys = [k for k in q.keys if k in self._postings]
        rare = [k for k in keys if len(self._postings[k]) <= COMMON] or keys
        n = max(len(self._entries), 1)
        votes: Counter[int] = Counter()
        for k in rare:
            posting = self._postings[k]
            weight = math.log(1 + n / len(posting))
            for i in posting:
                votes[i] += weight
        return [i for i, _ in votes.most_common(limit)]

    def match(self, query: Person | Query, threshold: float = THRESHOLD, limit: int = CANDIDATES) -> list[Hit]:
        """Entries scoring at or above `threshold`, best first."""
        if not self._entries:
            return []
        q = query if isinstance(query, Query) else Query(query)
        candidates = self.candidates(q, limit)
        if not candidates:
            return []
        algo, config = _algorithm()
        names = _name_match()
        hits = []
        for i in candidates:
            entity = self._entities[i]
            # The name score bounds the score (module docstring): below the threshold, no hit.
            if threshold > 0 and names(q.entity, entity, config).score < threshold:
                continue
            result = algo.compare(q.entity, entity, config)
            if result.score >= threshold:
                hits.append(Hit(self._entries[i].id, round(float(result.score), 4), _explain(result)))
        return sorted(hits, key=lambda h: -h.score)


_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def _person(item: Any, where: str) -> Person:
    from smartborders.reference.countries import iso_alpha3

    if not isinstance(item, dict):
        raise InvalidInput(f"{where}: expected an object with id and name, got {json.dumps(item)[:60]}")
    pid = item.get("id")
    if isinstance(pid, bool) or not isinstance(pid, (str, int)) or pid == "":
        raise InvalidInput(f"{where}.id: expected a non-empty string or an integer")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{where}.name: expected a non-empty string")
    if len(name) > 300:
        raise InvalidInput(f"{where}.name: longer than 300 characters")
    born = item.get("birth_date")
    if born is not None:
        m = _PARTIAL_DATE.fullmatch(born) if isinstance(born, str) else None
        if m is None:
            raise InvalidInput(f"{where}.birth_date: expected YYYY-MM-DD (or YYYY-MM, YYYY), got {json.dumps(born)}")
        try:
            date(int(m[1]), int(m[2] or 1), int(m[3] or 1))
        except ValueError:
            raise InvalidInput(f"{where}.birth_date: {born} is not a calendar date") from None
    nat = item.get("nationality")
    if nat is not None and (not isinstance(nat, str) or nat not in iso_alpha3()):
        raise InvalidInput(f"{where}.nationality: expected an ISO 3166-1 alpha-3 code, got {json.dumps(nat)}")
    return Person(pid, name.strip(), born, nat)


def parse_request(payload: Any) -> tuple[list[Person], list[Person]]:
    """The `watchlist match` input, checked: every problem names where it is."""
    if not isinstance(payload, dict):
        raise InvalidInput("expected a JSON object with \"watchlist\" and \"queries\"")
    out = []
    for part in ("watchlist", "queries"):
        items = payload.get(part)
        if not isinstance(items, list):
            raise InvalidInput(f"{part}: expected a list")
        people = [_person(item, f"{part}[{i}]") for i, item in enumerate(items)]
        seen: set[Any] = set()
        for i, p in enumerate(people):
            if p.id in seen:
                raise InvalidInput(f"{part}[{i}].id: {json.dumps(p.id)} appears twice")
            seen.add(p.id)
        out.append(people)
    return out[0], out[1]


def screen(entries: Sequence[Person], queries: Sequence[Person], threshold: float = THRESHOLD
           ) -> list[tuple[Any, list[Hit]]]:
    """Each query against the entries (the `smartborders watchlist match` contract)."""
    wl = Watchlist(entries)
    return [(q.id, wl.match(q, threshold)) for q in queries]
