"""The lists the ETIAS automated processing compares against, and their management: the SIS and SLTD
feeds (a slice), and the ETIAS watchlist of Reg. 2018/1240 Art. 34-35, entered by Member States and
Europol, each responsible for its own entries.

Art. 35(1), before an entry goes in: (b) its impact on the share of applications sent to manual
processing is assessed (here: against the most recent applications, and answered with the entry);
(c) data that correspond to a SIS alert are not entered (SIS has priority). Entries are reviewed at
least once a year and withdrawn when obsolete (Art. 35(5)) [K: paragraph]. Every new entry is compared
with the valid authorisations (Art. 41(3)-(5), `manual.monitor`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from smartborders.core.errors import Conflict, InvalidInput, NotFound
from smartborders.ees.service import Context
from smartborders.etias import schemas as S
from smartborders.etias.manual import log, monitor
from smartborders.etias.models import Application, ListEntry
from smartborders.etias.screening import DOCUMENT_LISTS, NAME_LISTS, add_entry, name_index
from smartborders.etias.watchlist import THRESHOLD, Person, Watchlist

LISTS = (*NAME_LISTS, *DOCUMENT_LISTS)
IMPACT_SAMPLE = 1000  # the most recent applications an entry is tried against (Art. 35(1)(b))
REVIEW_DAYS = 365


class EntryExists(Conflict):
    slug = "etias-list-entry-exists"
    title = "An entry with this reference is already on the list"


class InSis(Conflict):
    slug = "etias-watchlist-in-sis"
    title = "The data correspond to a SIS alert: they are not entered in the watchlist (Art. 35(1)(c))"


class EntryNotFound(NotFound):
    slug = "etias-list-entry-not-found"
    title = "No such entry on this list"


def _out(e: ListEntry, **extra: object) -> S.ListEntryOut:
    return S.ListEntryOut(list=e.list, reference=e.reference, supplied_by=e.supplied_by, added_at=e.added_at,
                          removed_at=e.removed_at, reviewed_at=e.reviewed_at, **extra)  # type: ignore[arg-type]


def _impact(ctx: Context, body: S.ListEntryIn) -> dict[str, float | int]:
    """Art. 35(1)(b): how many of the most recent applications this entry would have sent to the Central
    Unit, by name (at the screening threshold) or by document."""
    rows = ctx.session.scalars(select(Application).order_by(Application.submitted_at.desc()).limit(IMPACT_SAMPLE)).all()
    hits = 0
    if body.name:
        one = Watchlist([Person(body.reference, body.name, body.birth_date, body.nationality)])
        for a in rows:
            p = a.data["person"]
            name = " ".join(x for x in (p["given_names"], p["surname"]) if x)
            if one.match(Person(a.number, name, p["birth_date"], p["nationality"]), THRESHOLD):
                hits += 1
    elif body.document_number:
        hits = sum(1 for a in rows if (a.document_number, a.document_country) == (body.document_number,
                                                                                   body.document_country))
    return {"applications_compared": len(rows), "would_hit": hits,
            "share": round(hits / len(rows), 6) if rows else 0.0}


def add(ctx: Context, list_name: str, body: S.ListEntryIn) -> S.ListEntryOut:
    if list_name not in LISTS:
        raise InvalidInput(f"no list {list_name!r}: one of {', '.join(LISTS)}")
    if list_name in DOCUMENT_LISTS and not (body.document_number and body.document_country):
        raise InvalidInput(f"{list_name}: an entry is a travel document: document_number and document_country")
    if list_name in NAME_LISTS and not body.name:
        raise InvalidInput(f"{list_name}: an entry needs a name")
    if list_name == "watchlist" and body.supplied_by == "INTERPOL":
        raise InvalidInput("supplied_by: the watchlist is entered by Member States and Europol (Art. 34(3))")
    if list_name == "watchlist" and not body.reason:
        raise InvalidInput("reason: a watchlist entry states the terrorist or serious criminal offence information "
                           "behind it (Art. 34(1)-(2))")
    if ctx.session.scalar(select(ListEntry.id).where(ListEntry.list == list_name,
                                                     ListEntry.reference == body.reference)) is not None:
        raise EntryExists(f"{list_name} already has an entry {body.reference}")
    if list_name == "watchlist" and body.name:
        index = name_index(ctx.session.get_bind())
        with index.lock:
            index.catch_up(ctx.session.get_bind(), ctx.session)
            who = Person(body.reference, body.name, body.birth_date, body.nationality)
            for sis in ("sis_refusal", "sis_arrest"):
                for h in index.lists[sis].match(who, THRESHOLD):
                    alert = ctx.session.get(ListEntry, index.entry_of[(sis, h.entry)])
                    if alert is not None and alert.removed_at is None:
                        raise InSis(f"corresponds to SIS alert {h.entry}: {h.explanation}", sis_alert=str(h.entry))
    impact = _impact(ctx, body) if list_name == "watchlist" else None
    e = add_entry(ctx.session, list_name, body.reference, ctx.now(), supplied_by=body.supplied_by, name=body.name,
                  birth_date=body.birth_date, nationality=body.nationality, document_number=body.document_number,
                  document_country=body.document_country)
    e.reason, e.reviewed_at = body.reason, e.added_at
    log(ctx, f"list:{body.supplied_by}", body.supplied_by, "ETIAS Art. 34-35" if list_name == "watchlist" else
        "ETIAS Art. 20(2)", "list_add", None, list=list_name, reference=body.reference)
    hit = monitor(ctx, e)
    return _out(e, impact=impact, monitoring_hits=hit)


def _entry(ctx: Context, list_name: str, reference: str) -> ListEntry:
    e = ctx.session.scalar(select(ListEntry).where(ListEntry.list == list_name, ListEntry.reference == reference))
    if e is None or e.removed_at is not None:
        raise EntryNotFound(f"{list_name} has no entry {reference}")
    return e


def remove(ctx: Context, list_name: str, reference: str) -> S.ListEntryOut:
    """The entry is withdrawn (it stays, marked, for the files it caused: Art. 54(1)(b) then deletes a
    refused file within 7 days, `retention.purge`)."""
    e = _entry(ctx, list_name, reference)
    e.removed_at = ctx.now()
    log(ctx, f"list:{e.supplied_by}", e.supplied_by, "ETIAS Art. 35", "list_remove", None, list=list_name,
        reference=reference)
    ctx.session.flush()
    return _out(e)


def review(ctx: Context, reference: str) -> S.ListEntryOut:
    """Art. 35(5) [K]: the entering party confirms a watchlist entry is still needed."""
    e = _entry(ctx, "watchlist", reference)
    e.reviewed_at = ctx.now()
    log(ctx, f"list:{e.supplied_by}", e.supplied_by, "ETIAS Art. 35", "list_review", None, reference=reference)
    ctx.session.flush()
    return _out(e)


def review_due(ctx: Context, limit: int = 500) -> list[S.ListEntryOut]:
    """Watchlist entries not reviewed for a year, the oldest first."""
    cutoff = ctx.now() - timedelta(days=REVIEW_DAYS)
    rows = ctx.session.scalars(select(ListEntry).where(
        ListEntry.list == "watchlist", ListEntry.removed_at.is_(None), func.coalesce(ListEntry.reviewed_at, ListEntry.added_at) < cutoff,
    ).order_by(func.coalesce(ListEntry.reviewed_at, ListEntry.added_at)).limit(limit))
    return [_out(e) for e in rows]
