"""The analyst and supervisor console (issue 6): dashboards of crossings per day and crossing point,
refusals by reason, overstays by nationality, ETIAS decisions and deadlines, and the ETIAS queues;
filtered by a GET form (a bookmarkable URL; htmx swaps the panels in place), each panel downloadable
as CSV with the same figures.

Every figure comes from an existing use case, read in one read-only transaction: the EES statistics
(`ees.service.statistics`, by day, crossing point and nationality), the EES overstayers list (Art. 12(3)),
the ETIAS figures (`etias.statistics.report`) and the ETIAS queues. Counts only: no name reaches the page.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from smartborders.core.clock import today
from smartborders.ees.service import Context
from smartborders.web import charts
from smartborders.web.auth import User
from smartborders.web.charts import Series
from smartborders.web.common import _, attempt, is_htmx, render, require

router = APIRouter(include_in_schema=False)

PANELS = ("crossings", "refusals", "overstays", "etias", "queues")
DEFAULT_DAYS = 30
MAX_DAYS = 366  # a dashboard's day-by-day chart stays readable up to a year
TOP_BCPS = 6  # crossing points with a colour of their own; the rest are "other"
TOP_NATIONALITIES = 12
# The overstayers list and the queues are read as the units read them, a page at a time; past these
# many the dashboard says "at least" rather than hold up the page.
OVERSTAYERS_PAGE = 5000
OVERSTAYERS_CAP = 50_000
QUEUE_CAP = 500


# ---- filters ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    bcp: str | None = None
    nationality: str | None = None

    def query(self) -> str:
        q = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat()}
        if self.bcp:
            q["bcp"] = self.bcp
        if self.nationality:
            q["nationality"] = self.nationality
        return urlencode(q)

    def filename(self, panel: str) -> str:
        parts = [panel, self.date_from.isoformat(), self.date_to.isoformat(), self.bcp, self.nationality]
        return "_".join(p for p in parts if p) + ".csv"


def _bcps() -> dict[str, Any]:
    from smartborders.reference.bcps import crossing_points

    return crossing_points()


def _nationalities() -> dict[str, str]:
    """The nationalities the EES registers (Art. 2), code -> name, by name."""
    from smartborders.reference.countries import iso_alpha3
    from smartborders.reference.policy import in_ees_scope

    return dict(sorted(((c, n) for c, n in iso_alpha3().items() if in_ees_scope(c)), key=lambda x: x[1]))


def country(code: str) -> str:
    from smartborders.reference.countries import icao_codes

    return icao_codes().get(code, code)


def parse(request: Request, params: Mapping[str, str], on: date) -> tuple[Filters, dict[str, str]]:
    """The filters from the query string (the last 30 days by default) and a message per bad field."""
    errors: dict[str, str] = {}

    def day(name: str, default: date) -> date:
        raw = (params.get(name) or "").strip()
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors[name] = _(request, "Give a date as YYYY-MM-DD.")
            return default

    date_to = day("date_to", on)
    date_from = day("date_from", date_to - timedelta(days=DEFAULT_DAYS - 1))
    if not errors:
        if date_to < date_from:
            errors["date_to"] = _(request, "The end date lies before the start date.")
        elif (date_to - date_from).days + 1 > MAX_DAYS:
            errors["date_to"] = _(request, "At most %(n)s days at once.", n=MAX_DAYS)
    bcp = (params.get("bcp") or "").strip().upper() or None
    if bcp and bcp not in _bcps():
        errors["bcp"] = _(request, "No crossing point has the code %(code)s.", code=bcp)
    nationality = (params.get("nationality") or "").strip().upper() or None
    if nationality and nationality not in _nationalities():
        errors["nationality"] = _(request, "%(code)s is not a nationality the EES registers.", code=nationality)
    return Filters(date_from, date_to, bcp, nationality), errors


# ---- the figures -----------------------------------------------------------------------------------


@dataclass
class CrossingRow:
    day: date
    bcp: str
    entries: int = 0
    exits: int = 0
    refusals: int = 0

    @property
    def crossings(self) -> int:
        return self.entries + self.exits


@dataclass
class Queue:
    unit: str  # "CU" or a Member State's alpha-3
    waiting: int
    overdue: int
    capped: bool = False


@dataclass
class Figures:
    filters: Filters
    crossings: list[CrossingRow] = field(default_factory=list)
    refusals: list[tuple[str, str, int]] = field(default_factory=list)  # letter, reason, refusals citing it
    refusal_records: int = 0
    overstays: list[tuple[str, int, int]] = field(default_factory=list)  # nationality, in the period, now
    overstayers_capped: bool = False
    etias: dict[str, Any] = field(default_factory=dict)
    queues: list[Queue] = field(default_factory=list)


def _statistics(ctx: Context, f: Filters, groups: list[str]) -> list[Any]:
    """The EES statistics rows grouped by `groups`, with the crossing point and nationality filters
    applied (grouping by them too where a filter needs it)."""
    from smartborders.ees import service as ees

    extra = [g for g, v in (("bcp", f.bcp), ("nationality", f.nationality)) if v and g not in groups]
    out = ees.statistics(ctx, f.date_from, f.date_to, groups + extra)
    return [r for r in out.rows
            if (not f.bcp or r.bcp == f.bcp) and (not f.nationality or r.nationality == f.nationality)]


def _crossings(ctx: Context, fig: Figures) -> None:
    from smartborders.reference.policy import refusal_reasons

    f = fig.filters
    by: dict[tuple[date, str], CrossingRow] = {}
    reasons: Counter[str] = Counter()
    for r in _statistics(ctx, f, ["day", "bcp"]):
        if not (r.entries or r.exits or r.refusals):
            continue  # a row of overstays alone (its day is the end of the authorised stay)
        row = by.setdefault((r.day, r.bcp), CrossingRow(r.day, r.bcp))
        row.entries += r.entries
        row.exits += r.exits
        row.refusals += r.refusals
        reasons.update(r.refusals_by_reason)
        fig.refusal_records += r.refusals
    fig.crossings = [by[k] for k in sorted(by)]
    known = refusal_reasons()
    fig.refusals = [(k, known.get(k, k), reasons.get(k, 0)) for k in sorted(set(known) | set(reasons))]


def _overstays(ctx: Context, fig: Figures) -> None:
    from smartborders.ees import service as ees

    f = fig.filters
    ended: Counter[str] = Counter()
    for r in _statistics(ctx, f, ["nationality"]):
        ended[r.nationality] += r.overstays
    # Still overstaying today (Art. 12(3)): the list the competent authorities work from, counted.
    now: Counter[str] = Counter()
    offset = 0
    while offset < OVERSTAYERS_CAP:
        page = ees.overstayers(ctx, limit=OVERSTAYERS_PAGE, offset=offset)
        for o in page:
            if (not f.bcp or o.entry_bcp == f.bcp) and (not f.nationality or o.nationality == f.nationality):
                now[o.nationality] += 1
        if len(page) < OVERSTAYERS_PAGE:
            break
        offset += OVERSTAYERS_PAGE
    else:
        fig.overstayers_capped = True
    codes = {c for c in set(ended) | set(now) if ended[c] or now[c]}
    fig.overstays = sorted(((c, ended[c], now[c]) for c in codes), key=lambda t: (-t[1] - t[2], t[0]))


def _etias(ctx: Context, fig: Figures) -> None:
    from smartborders.etias import statistics

    # The supervisors' own figures (Art. 7(3)), exact: the published statistics of Art. 84 hide small counts.
    fig.etias = statistics.report(ctx, fig.filters.date_from, fig.filters.date_to, k=1).figures


def _queues(ctx: Context, fig: Figures) -> None:
    from smartborders.etias import service as etias
    from smartborders.etias.rules import ETIAS_COUNTRIES

    def queue(unit: str, cases: list[Any]) -> Queue:
        return Queue(unit, len(cases), sum(1 for c in cases if c.overdue), capped=len(cases) >= QUEUE_CAP)

    fig.queues = [queue("CU", etias.central_unit_queue(ctx, QUEUE_CAP))]
    fig.queues += [queue(s, etias.national_unit_queue(ctx, s, QUEUE_CAP)) for s in sorted(ETIAS_COUNTRIES)]


def gather(ctx: Context, f: Filters, panels: tuple[str, ...] = PANELS) -> Figures:
    fig = Figures(f)
    if "crossings" in panels or "refusals" in panels:
        _crossings(ctx, fig)
    if "overstays" in panels:
        _overstays(ctx, fig)
    if "etias" in panels:
        _etias(ctx, fig)
    if "queues" in panels:
        _queues(ctx, fig)
    return fig


# ---- labels ------------------------------------------------------------------------------------------

ETIAS_LABELS = {
    "travel_authorisation_requested": "Requested",
    "issued": "Issued",
    "central_unit_verification": "Central Unit verification",
    "manual_processing": "Manual processing",
    "refused": "Refused",
    "annulled": "Annulled",
    "revoked": "Revoked",
    "issued_automatically": "Issued automatically",
    "issued_after_central_unit_verification": "Issued after Central Unit verification",
    "decided_by_national_unit": "Decided by a national unit",
    "central_unit_met": "Central Unit verification within 12 hours",
    "central_unit_missed": "Central Unit verification after 12 hours",
    "decision_met": "National unit decision within 96 hours",
    "decision_missed": "National unit decision after 96 hours",
    "applications": "Applications",
    "decided": "Decided",
    "ltv_issued": "Authorisations with limited territorial validity",
    "manual_share": "Share sent to manual processing",
    "issued_automatically_share": "Share of decisions issued automatically",
}
ETIAS_SECTIONS = {
    "totals": "Totals",
    "applications_by_status": "Applications by status",
    "how_decided": "How they were decided",
    "deadlines": "Deadlines",
    "hits_by_source": "Hits by source",
    "grounds_refused_annulled_revoked": "Grounds of refusal, annulment and revocation",
    "manual_decisions_by_state": "Manual decisions by Member State",
}


def etias_label(request: Request, key: str) -> str:
    return _(request, ETIAS_LABELS[key]) if key in ETIAS_LABELS else key.replace("_", " ")


def etias_value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value * 100:.1f} %"
    return str(value)


def unit_label(request: Request, unit: str) -> str:
    return _(request, "Central Unit") if unit == "CU" else _(request, "National unit %(state)s", state=unit)


# ---- CSV -----------------------------------------------------------------------------------------------


def table(panel: str, fig: Figures) -> tuple[list[str], list[list[Any]]]:
    """One panel's figures as a header and rows: what its table shows and its CSV holds."""
    if panel == "crossings":
        return (["day", "bcp", "entries", "exits", "crossings", "refusals"],
                [[r.day.isoformat(), r.bcp, r.entries, r.exits, r.crossings, r.refusals] for r in fig.crossings])
    if panel == "refusals":
        return ["reason", "description", "refusals"], [[k, text, n] for k, text, n in fig.refusals]
    if panel == "overstays":
        return (["nationality", "country", "overstays_ended_in_period", "overstaying_now"],
                [[c, country(c), a, b] for c, a, b in fig.overstays])
    if panel == "etias":
        rows: list[list[Any]] = []
        for section in ETIAS_SECTIONS:
            for key, value in (fig.etias.get(section) or {}).items():
                rows.append([section, key, "" if value is None else value])
        return ["figure", "key", "value"], rows
    if panel == "queues":
        return (["queue", "waiting", "overdue"],
                [[q.unit, f"{q.waiting}+" if q.capped else q.waiting, q.overdue] for q in fig.queues])
    raise KeyError(panel)


def to_csv(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


# ---- charts ----------------------------------------------------------------------------------------------


def _crossings_chart(request: Request, fig: Figures) -> Any:
    f = fig.filters
    days = [f.date_from + timedelta(days=i) for i in range((f.date_to - f.date_from).days + 1)]
    per_bcp: dict[str, Counter[date]] = defaultdict(Counter)
    for r in fig.crossings:
        per_bcp[r.bcp][r.day] += r.crossings
    ranked = sorted(per_bcp, key=lambda b: (-sum(per_bcp[b].values()), b))
    shown, rest = ranked[:TOP_BCPS], ranked[TOP_BCPS:]
    series = [Series(b, [per_bcp[b][d] for d in days]) for b in shown]
    if rest:
        series.append(Series(_(request, "Other crossing points (%(n)s)", n=len(rest)),
                             [sum(per_bcp[b][d] for b in rest) for d in days], charts.GREY))
    totals = [sum(s.values[i] for s in series) for i in range(len(days))]
    total = sum(totals)
    busiest = max(range(len(days)), key=lambda i: totals[i]) if days else 0
    desc = _(request, "Stacked columns, one a day from %(a)s to %(b)s, one colour per crossing point; "
                      "%(n)s crossings in all, the most on %(day)s (%(most)s). The figures are in the table "
                      "below the chart.", a=f.date_from.isoformat(), b=f.date_to.isoformat(), n=total,
             day=days[busiest].isoformat() if days else "", most=totals[busiest] if days else 0)
    return charts.columns("chart-crossings", _(request, "Crossings (entries and exits) per day and crossing point"),
                          desc, [d.isoformat() for d in days], series, y_title=_(request, "Crossings"),
                          x_title=_(request, "Day (local date at the crossing point)"))


def _refusals_chart(request: Request, fig: Figures) -> Any:
    given = [(k, text, n) for k, text, n in fig.refusals if n]  # the table lists every reason
    labels = [f"{k} · {text}" for k, text, _n in given]
    desc = _(request, "Horizontal bars, one per reason of Annex V Part B given in the period; %(n)s refusals, "
                      "a refusal may give several reasons.", n=fig.refusal_records)
    return charts.bars("chart-refusals", _(request, "Refusals of entry by reason"), desc, labels,
                       [Series(_(request, "Refusals"), [n for *_x, n in given])])


def _overstays_chart(request: Request, fig: Figures) -> Any:
    top = fig.overstays[:TOP_NATIONALITIES]
    labels = [f"{c} · {country(c)}" for c, _a, _b in top]
    series = [Series(_(request, "Authorised stay ended in the period"), [a for _c, a, _b in top]),
              Series(_(request, "Still overstaying now"), [b for _c, _a, b in top], charts.PALETTE[5])]
    desc = _(request, "Pairs of horizontal bars for the %(n)s nationalities with the most overstays: those "
                      "whose authorised stay ended in the period, and those still overstaying today.", n=len(top))
    return charts.bars("chart-overstays", _(request, "Overstays by nationality"), desc, labels, series,
                       stacked=False)


def _etias_charts(request: Request, fig: Figures) -> tuple[Any, Any]:
    status = fig.etias.get("applications_by_status") or {}
    keys = list(status)
    by_status = charts.bars(
        "chart-etias-status", _(request, "ETIAS applications by status"),
        _(request, "Horizontal bars, one per status of the applications submitted in the period."),
        [etias_label(request, k) for k in keys], [Series(_(request, "Applications"), [status[k] or 0 for k in keys])])
    d = fig.etias.get("deadlines") or {}
    deadlines = charts.bars(
        "chart-etias-deadlines", _(request, "ETIAS deadlines met and missed"),
        _(request, "Stacked horizontal bars: the Central Unit's 12 hours (Art. 22(6)) and the national units' "
                   "96 hours (Art. 32), met and missed."),
        [_(request, "Central Unit verification (12 h)"), _(request, "National unit decision (96 h)")],
        [Series(_(request, "Met"), [d.get("central_unit_met", 0), d.get("decision_met", 0)], charts.PALETTE[0]),
         Series(_(request, "Missed"), [d.get("central_unit_missed", 0), d.get("decision_missed", 0)],
                charts.PALETTE[5])])
    return by_status, deadlines


def _queues_chart(request: Request, fig: Figures) -> Any:
    shown = [q for q in fig.queues if q.unit == "CU" or q.waiting]
    desc = _(request, "Stacked horizontal bars, one per queue with files waiting: within the deadline and overdue.")
    return charts.bars(
        "chart-queues", _(request, "ETIAS queues now"), desc, [unit_label(request, q.unit) for q in shown],
        [Series(_(request, "Within the deadline"), [q.waiting - q.overdue for q in shown], charts.PALETTE[0]),
         Series(_(request, "Overdue"), [q.overdue for q in shown], charts.PALETTE[5])],
        totals=[f"{q.waiting}+" if q.capped else str(q.waiting) for q in shown])


# ---- pages ---------------------------------------------------------------------------------------------


def _today(request: Request) -> date:
    return today(request.app.state.sb.clock)


@router.get("/analyst")
async def dashboard(request: Request, user: User = Depends(require("analyst"))):  # type: ignore[no-untyped-def]  # noqa: B008
    params = dict(request.query_params)
    f, errors = parse(request, params, _today(request))
    ctx: dict[str, Any] = {
        "title": _(request, "Dashboards"), "f": f, "errors": errors, "values": params,
        "bcps": sorted(_bcps().values(), key=lambda b: b.code), "nationalities": _nationalities(),
    }
    fig, problem = (None, None) if errors else await attempt(request, lambda c: gather(c, f), readonly=True)
    ctx["problem"] = problem
    if fig is not None:
        by_status, deadlines = _etias_charts(request, fig)
        ctx.update(
            fig=fig, query=f.query(), etias_label=lambda k: etias_label(request, k), etias_value=etias_value,
            unit_label=lambda u: unit_label(request, u), sections=ETIAS_SECTIONS, country=country,
            crossings_chart=_crossings_chart(request, fig), refusals_chart=_refusals_chart(request, fig),
            overstays_chart=_overstays_chart(request, fig), etias_status_chart=by_status,
            etias_deadlines_chart=deadlines, queues_chart=_queues_chart(request, fig),
            totals={"entries": sum(r.entries for r in fig.crossings), "exits": sum(r.exits for r in fig.crossings),
                    "refusals": fig.refusal_records, "ended": sum(a for _c, a, _b in fig.overstays),
                    "now": sum(b for _c, _a, b in fig.overstays)},
            bcp_name=_bcps()[f.bcp].name if f.bcp else None,
            nationality_name=country(f.nationality) if f.nationality else None,
        )
    # htmx swaps the dashboard in place; a plain request (or htmx restoring history) gets the whole page.
    fragment = is_htmx(request) and request.headers.get("hx-history-restore-request") != "true"
    template = "analyst/_dashboard.html" if fragment else "analyst/dashboard.html"
    # htmx swaps only 2xx answers: a bad filter comes back as 200 there, as 422 to a plain form.
    failed = bool(errors) or problem is not None
    status = (problem.status if problem else 422) if failed and not fragment else 200
    response = render(request, template, status_code=status, **ctx)
    if fragment and not failed:
        response.headers["HX-Push-Url"] = f"/analyst?{f.query()}"  # the bookmark without empty fields
    return response


@router.get("/analyst/export/{panel}.csv")
async def export(request: Request, panel: str, user: User = Depends(require("analyst"))):  # type: ignore[no-untyped-def]  # noqa: B008
    if panel not in PANELS:
        return render(request, "error.html", status_code=404, title=_(request, "Not found"),
                      message=_(request, "There is no panel %(panel)s.", panel=panel))
    f, errors = parse(request, dict(request.query_params), _today(request))
    if errors:
        return Response("; ".join(f"{k}: {v}" for k, v in errors.items()) + "\n", status_code=422,
                        media_type="text/plain; charset=utf-8")
    fig, problem = await attempt(request, lambda c: gather(c, f, (panel,)), readonly=True)
    if problem is not None or fig is None:
        return Response(f"{problem.detail if problem else ''}\n", status_code=problem.status if problem else 500,
                        media_type="text/plain; charset=utf-8")
    header, rows = table(panel, fig)
    return Response(to_csv(header, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{f.filename(panel)}"',
                             "Cache-Control": "no-store"})
