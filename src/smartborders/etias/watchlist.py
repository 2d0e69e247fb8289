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

Gotcha (notes/libraries.md): logic-v2 caches by entity id, so every entity compared gets an id unique
to this process.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
import re
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


def _entity(p: Person) -> Any:
    from followthemoney import model
    from rigour.territories import lookup_territory

    e = model.make_entity("Person")
    e.id = f"p{_unique()}"
    e.add("name", p.name)
    if p.birth_date:
        e.add("birthDate", p.birth_date)
    if p.nationality:
        t = lookup_territory(p.nationality)
        if t is not None:
            e.add("nationality", t.code)
    return e


def _keys(name: str) -> set[str]:
    from rigour.text import ascii_text, metaphone, soundex

    out = set()
    tokens = ["".join(c for c in t if c.isalnum()) for t in ascii_text(name).lower().replace("-", " ").replace(
        "'", " ").split()]
    tokens = [t for t in tokens if t]
    # Adjacent tokens joined too: "Al Hassan" ~ "Alhasan", "Abdul Rahman" ~ "Abdulrahman".
    for token in tokens + [a + b for a, b in itertools.pairwise(tokens)]:
        if len(token) < 2:
            continue
        out.add("a:" + token)
        if token.isalpha():
            out.add("m:" + metaphone(token))
            out.add("s:" + soundex(token))
            # The consonants: scripts that write few vowels (Arabic, Hebrew) transliterate without them.
            skeleton = "".join(c for c, _ in itertools.groupby(token) if c not in "aeiouyw")
            if len(skeleton) >= 3:
                out.add("c:" + skeleton)
    return out


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

    def candidates(self, query: Person, limit: int = CANDIDATES) -> list[int]:
        keys = [k for k in _keys(query.name) if k in self._postings]
        rare = [k for k in keys if len(self._postings[k]) <= COMMON] or keys
        n = max(len(self._entries), 1)
        votes: Counter[int] = Counter()
        for k in rare:
            posting = self._postings[k]
            weight = math.log(1 + n / len(posting))
            for i in posting:
                votes[i] += weight
        return [i for i, _ in votes.most_common(limit)]

    def match(self, query: Person, threshold: float = THRESHOLD, limit: int = CANDIDATES) -> list[Hit]:
        """Entries scoring at or above `threshold`, best first."""
        algo, config = _algorithm()
        q = _entity(query)
        hits = []
        for i in self.candidates(query, limit):
            result = algo.compare(q, self._entities[i], config)
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
