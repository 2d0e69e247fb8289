"""ETIAS automated processing (Reg. 2018/1240 Art. 20) and its result (Art. 21).

Each application file is compared, individually, with:
- the lists in `etias_list_entry`: SIS lost/stolen documents (20(2)(a)), Interpol SLTD (20(2)(b)), SIS
  refusal-of-entry (20(2)(c)) and arrest (20(2)(d)) alerts, and the ETIAS watchlist (20(4));
  for a minor, the guardian against the SIS alerts too (20(2)(m)) [K];
- ETIAS's own files: a refused, revoked or annulled authorisation of the same person and document
  (20(2)(e)), and the same document under other identity data (20(2)(f));
- the EES, through its service: a recorded overstay (20(2)(g), not for family members, Art. 24(3))
  and a refusal of entry (20(2)(h));
- the answers to the background questions (20(3)): a "yes" sends the file to the national unit.

Names are compared with the screening of etias/watchlist.py (any script, explained); documents by
number and issuing country. Each process keeps one name index per list, caught up from the table by
id before every screening (entries are only added; a removed one is dropped when it would hit).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from smartborders.etias.models import Application, ListEntry
from smartborders.etias.watchlist import THRESHOLD, Person, Query, Watchlist

NAME_LISTS = ("sis_refusal", "sis_arrest", "watchlist")
DOCUMENT_LISTS = {"sis_document": ("20(2)(a)", "SIS"), "sltd": ("20(2)(b)", "SLTD")}
NAME_CHECKS = {"sis_refusal": ("20(2)(c)", "SIS"), "sis_arrest": ("20(2)(d)", "SIS"), "watchlist": ("20(4)", "WATCHLIST")}
REFUSED = ("refused", "revoked", "annulled")
RECHECK = 64  # list entries are re-read by id this far back from the newest seen


@dataclass(frozen=True)
class Found:
    article: str
    source: str
    reference: str
    explanation: str
    score: float | None = None
    supplied_by: str | None = None


class _NameIndex:
    """The name lists of one database, in this process's memory."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lists = {k: Watchlist() for k in NAME_LISTS}
        self.entry_of: dict[tuple[str, str], int] = {}
        self.last_id = 0
        self.seen: set[int] = set()  # ids read, near the end (see RECHECK)

    def catch_up(self, engine: Engine, session: Any = None) -> None:
        """Entries added since the last catch-up. In the caller's session where there is one (no
        connection of its own: on SQLite that would wait for the caller's write lock, and opening
        one cost a few milliseconds an application), else on a reading connection.

        The first load reads the name lists only (the document lists may be far larger). Later ones
        read the ids at the end of the primary key (the last RECHECK, whatever the planner's
        statistics), and only if one is new read its entry, keeping those of the name lists. One
        query with the list condition cost 5 ms an application to find nothing, with 100,000
        watchlist entries: SQLite walked the (list, reference) index through all of them, and
        PostgreSQL, without fresh statistics, scanned the table (measured, bench/etias.py)."""
        columns = (ListEntry.id, ListEntry.list, ListEntry.reference, ListEntry.name, ListEntry.birth_date,
                   ListEntry.nationality)
        first = select(*columns).where(ListEntry.list.in_(NAME_LISTS), ListEntry.name.is_not(None))

        def read(db: Any) -> list[Any]:
            if self.last_id == 0:
                return db.execute(first.order_by(ListEntry.id)).all()
            # The ids near the end, by primary key: on PostgreSQL a transaction may commit an entry with
            # a lower id after one with a higher id was read; the window catches it when it lands.
            recent = db.execute(select(ListEntry.id).where(ListEntry.id > self.last_id - RECHECK)).scalars().all()
            new = [i for i in recent if i not in self.seen]
            if not new:
                return []
            return db.execute(select(*columns).where(ListEntry.id.in_(new)).order_by(ListEntry.id)).all()

        if session is not None:
            rows = read(session)
        else:
            with engine.execution_options(sqlite_begin="DEFERRED").connect() as conn:
                rows = read(conn)
        for r in rows:
            self.seen.add(r.id)
            if r.list in self.lists and r.name is not None:
                self.lists[r.list].add(Person(r.reference, r.name, r.birth_date, r.nationality))
                self.entry_of[(r.list, r.reference)] = r.id
            self.last_id = max(self.last_id, r.id)


_indexes: dict[str, _NameIndex] = {}
_indexes_lock = threading.Lock()


def name_index(engine: Engine) -> _NameIndex:
    key = engine.url.render_as_string(hide_password=True)
    with _indexes_lock:
        return _indexes.setdefault(key, _NameIndex())


def warm(engine: Engine) -> int:
    """Load the name lists and the matcher's data now (a server calls it at start, on a thread: the
    first comparison loads about 10 s of name data)."""
    from smartborders.etias.watchlist import _algorithm, _entity

    index = name_index(engine)
    with index.lock:
        index.catch_up(engine)
        algo, config = _algorithm()
        algo.compare(_entity(Person("a", "Warm Up")), _entity(Person("b", "Warm Up")), config)
        return sum(len(w) for w in index.lists.values())


def _names(session: Any, engine: Engine, who: Person, lists: tuple[str, ...], as_guardian: bool = False
           ) -> list[Found]:
    index = name_index(engine)
    out = []
    query = Query(who)  # keys and entity made once for every list
    with index.lock:
        for name in lists:
            for hit in index.lists[name].match(query, THRESHOLD):
                entry = session.get(ListEntry, index.entry_of[(name, hit.entry)])
                if entry is None or entry.removed_at is not None:
                    continue
                article, source = NAME_CHECKS[name]
                if as_guardian:
                    article = "20(2)(m)"
                whom = "the guardian" if as_guardian else "the applicant"
                out.append(Found(article, source, str(hit.entry), f"{whom}: {hit.explanation}", hit.score,
                                 entry.supplied_by))
    return out


def process(session: Any, engine: Engine, a: Application) -> tuple[list[Found], bool]:
    """Art. 20: the hits of one application file, and whether a background answer was "yes"."""
    data = a.data
    person = data["person"]
    index = name_index(engine)
    with index.lock:
        index.catch_up(engine, session)
    family = data.get("family_member") is not None
    found: list[Found] = []
    # (a), (b): the travel document in SIS or SLTD.
    for e in session.scalars(select(ListEntry).where(
            ListEntry.document_number == a.document_number, ListEntry.document_country == a.document_country,
            ListEntry.list.in_(list(DOCUMENT_LISTS)), ListEntry.removed_at.is_(None))):
        article, source = DOCUMENT_LISTS[e.list]
        found.append(Found(article, source, e.reference, f"travel document {a.document_country} "
                           f"{a.document_number} reported lost, stolen or invalidated ({source})",
                           supplied_by=e.supplied_by))
    # (c), (d), (4): the applicant's names (with aliases) in SIS alerts and the watchlist.
    full = " ".join(x for x in (person["given_names"], person["surname"]) if x)
    names = [full] + list(person.get("other_names") or [])
    seen: set[tuple[str, str]] = set()
    for n in names:
        for f in _names(session, engine, Person("applicant", n, person["birth_date"], person["nationality"]),
                        NAME_LISTS):
            if (f.article, f.reference) not in seen:
                seen.add((f.article, f.reference))
                found.append(f)
    # (m): a minor's guardian in SIS alerts.
    guardian = data.get("guardian")
    if guardian:
        gname = " ".join(x for x in (guardian["given_names"], guardian["surname"]) if x)
        found += _names(session, engine, Person("guardian", gname), ("sis_refusal", "sis_arrest"), as_guardian=True)
    # (e), (f): ETIAS's own files.
    for other in session.scalars(select(Application).where(
            Application.document_number == a.document_number, Application.document_country == a.document_country,
            Application.id != a.id)):
        same_person = (other.surname.upper(), other.given_names.upper(), other.birth_date) == (
            a.surname.upper(), a.given_names.upper(), a.birth_date)
        if same_person and other.status in REFUSED:
            found.append(Found("20(2)(e)", "ETIAS", other.number,
                               f"the same person and document had an authorisation {other.status} ({other.number})"))
        elif not same_person:
            found.append(Found("20(2)(f)", "ETIAS", other.number,
                               f"the same travel document was used in application {other.number} with other "
                               f"identity data ({other.surname}, {other.given_names}, born {other.birth_date})"))
    # (g), (h): the EES.
    found += _ees(session, a, family)
    bg = data["background"]
    yes = bool(bg["conviction"]["answer"] or bg["conflict_zone"]["answer"]
               or (bg.get("removal") or {}).get("answer"))
    return found, yes


def _ees(session: Any, a: Application, family: bool) -> list[Found]:
    from smartborders.core.clock import FixedClock
    from smartborders.core.errors import Problem
    from smartborders.ees import schemas as ES
    from smartborders.ees import service as ees

    try:
        req = ES.SearchRequest(document=ES.DocumentIn(document_type="P", number=a.document_number,
                                                      issuing_state=a.document_country))
    except ValueError:
        return []
    ctx = ees.Context(session, FixedClock(a.submitted_at))
    try:
        result = ees.search(ctx, req)
    except Problem:
        return []
    if not result.found or result.file is None:
        return []
    f = result.file
    out = []
    overstays = [r for r in f.records if r.overstay]
    if overstays and not family:
        last = overstays[-1]
        out.append(Found("20(2)(g)", "EES", f.id, f"recorded in the EES as an overstayer (entry {last.entry_date}, "
                         f"authorised until {last.authorised_until}, exit {last.exit_date or 'none recorded'})"))
    if f.refusals:
        last_refusal = f.refusals[-1]
        out.append(Found("20(2)(h)", "EES", f.id, f"recorded in the EES as refused entry on "
                         f"{last_refusal.refusal_date} at {last_refusal.bcp} (reasons "
                         f"{', '.join(last_refusal.reasons)})"))
    return out


def add_entry(session: Any, list_name: str, reference: str, at: Any, *, supplied_by: str, name: str | None = None,
              birth_date: str | None = None, nationality: str | None = None, document_number: str | None = None,
              document_country: str | None = None) -> ListEntry:
    """Add one entry to a list (a SIS or SLTD feed, or the watchlist of Art. 34-35)."""
    if list_name not in NAME_LISTS and list_name not in DOCUMENT_LISTS:
        raise ValueError(f"no list {list_name!r}")
    if list_name in DOCUMENT_LISTS and not (document_number and document_country):
        raise ValueError(f"{list_name}: an entry is a travel document (number and issuing country)")
    if list_name in NAME_LISTS and not name:
        raise ValueError(f"{list_name}: an entry needs a name")
    e = ListEntry(list=list_name, reference=reference, name=name, birth_date=birth_date, nationality=nationality,
                  document_number=document_number, document_country=document_country, supplied_by=supplied_by,
                  added_at=at)
    session.add(e)
    session.flush()
    return e
