"""EES over HTTP: each route translates to one use case in `ees.service` and back."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import BaseModel

from smartborders.api.app import run_use_case
from smartborders.core.errors import InvalidInput
from smartborders.ees import modes, service
from smartborders.ees import schemas as S
from smartborders.ees.service import Context

router = APIRouter(prefix="/api/v1")
T = TypeVar("T", bound=BaseModel)

PROBLEMS = {
    404: {"description": "Not found (problem+json)"},
    409: {"description": "Conflict with the recorded state (problem+json)"},
    422: {"description": "Invalid input (problem+json)"},
}


async def _run(request: Request, use_case: Callable[[Context], T], *, readonly: bool = False) -> T:
    return await run_use_case(request, use_case, readonly=readonly)


async def _border(request: Request, use_case: Callable[[Context], T], *, readonly: bool = False) -> T:
    """The border path: crossing points and travellers wait on it."""
    return await run_use_case(request, use_case, readonly=readonly, border=True)


# ---- border authorities (Art. 14, 23) ------------------------------------------------------------


@router.post("/border/checks", tags=["border"], responses=PROBLEMS)
async def border_check(body: S.BorderCheckRequest, request: Request) -> S.BorderCheckResult:
    """Before recording a crossing: the file, the open record, the authorised stay and what to act on."""
    return await _border(request, lambda ctx: service.border_check(ctx, body), readonly=True)


@router.post("/border/searches", tags=["border"], responses=PROBLEMS)
async def search(body: S.SearchRequest, request: Request) -> S.SearchResult:
    """Art. 23(2): find the individual file by travel document, or by identity."""
    return await _border(request, lambda ctx: service.search(ctx, body), readonly=True)


@router.post("/border/entries", tags=["border"], status_code=status.HTTP_201_CREATED, responses={**PROBLEMS, 409: {
    "description": "Conflict with the recorded state (problem+json); among them /problems/no-heavy-traffic-mode: "
    "`heavy_traffic` was sent while no supervisor's no_biometrics mode is in force at the crossing point at the "
    "crossing's time (a supervisor sets it: POST /api/v1/bcps/{code}/modes), and /problems/ees-suspended: EES "
    "registration is suspended there (Reg. 2025/1534)"}})
async def record_entry(body: S.EntryCommand, request: Request) -> S.EntryResult:
    """Record an entry (Art. 14, 16(2)); answers the maximum authorised stay (Art. 11(2)(a)).
    Idempotent by `client_id`."""
    return await _border(request, lambda ctx: service.record_entry(ctx, body))


@router.post("/border/exits", tags=["border"], status_code=status.HTTP_201_CREATED, responses={**PROBLEMS, 409: {
    "description": "Conflict with the recorded state (problem+json); among them /problems/no-heavy-traffic-mode: "
    "`heavy_traffic` was sent while no supervisor's no_biometrics mode is in force at the crossing point at the "
    "crossing's time (a supervisor sets it: POST /api/v1/bcps/{code}/modes), and /problems/ees-suspended: EES "
    "registration is suspended there (Reg. 2025/1534)"}})
async def record_exit(body: S.ExitCommand, request: Request) -> S.ExitResult:
    """Record an exit (Art. 16(3)); answers any overstay (Art. 11(2)(c)). Idempotent by `client_id`."""
    return await _border(request, lambda ctx: service.record_exit(ctx, body))


@router.post("/border/refusals", tags=["border"], status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def record_refusal(body: S.RefusalCommand, request: Request) -> S.RefusalResult:
    """Record a refusal of entry with its Annex V Part B reasons (Art. 18). Idempotent by `client_id`."""
    return await _border(request, lambda ctx: service.record_refusal(ctx, body))


@router.get("/files/{file_id}", tags=["border"], responses=PROBLEMS)
async def get_file(file_id: uuid.UUID, request: Request) -> S.FileOut:
    """One individual file with its documents, entry/exit records and refusal records."""
    return await _border(request, lambda ctx: service.get_file(ctx, file_id), readonly=True)


@router.post("/records/{record_id}/amendments", tags=["border"], status_code=status.HTTP_201_CREATED,
             responses=PROBLEMS)
async def amend(record_id: uuid.UUID, body: S.AmendmentCommand, request: Request) -> S.AmendmentResult:
    """Art. 19: revocation, annulment or extension of the authorised stay or visa."""
    return await _run(request, lambda ctx: service.amend_record(ctx, record_id, body))


@router.post("/rebuttals", tags=["immigration"], status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def rebut(body: S.RebuttalCommand, request: Request) -> S.RebuttalResult:
    """Art. 20: the presumption of overstay is rebutted; complete the records or erase the file."""
    return await _run(request, lambda ctx: service.rebut_presumption(ctx, body))


# ---- overstays (Art. 12) -------------------------------------------------------------------------


@router.get("/overstayers", tags=["overstays"], responses=PROBLEMS)
async def overstayers(
    request: Request,
    include_exited: bool = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> list[S.OverstayerOut]:
    """Art. 12(3): the identified overstayers, for the competent national authorities."""
    return await _run(request, lambda ctx: service.overstayers(ctx, include_exited=include_exited, limit=limit,
                                                         offset=offset), readonly=True)


@router.post("/overstays/sweeps", tags=["overstays"], responses=PROBLEMS)
async def sweep(request: Request, full: bool = False) -> S.SweepResultOut:
    """Art. 12(1): flag the records whose authorised stay ended without an exit (incremental)."""
    return await _run(request, lambda ctx: service.sweep_overstays(ctx, full=full))


# ---- retention (Art. 34-35) ----------------------------------------------------------------------


@router.post("/retention/purges", tags=["retention"], responses=PROBLEMS)
async def purge(request: Request, dry_run: bool = False, as_of: date | None = None) -> S.PurgeResultOut:
    """Art. 34: erase what the retention periods no longer allow to keep (a dry run only counts)."""
    from smartborders.ees.purge import purge as run_purge

    if as_of is not None and not date(2000, 1, 1) <= as_of <= date(2200, 12, 31):
        from smartborders.core.errors import InvalidInput

        raise InvalidInput("as_of: a day between 2000-01-01 and 2200-12-31 (the retention periods count back "
                           "from it)")

    return await _run(request, lambda ctx: run_purge(ctx, as_of=as_of, dry_run=dry_run))


@router.delete("/files/{file_id}", tags=["retention"], responses=PROBLEMS)
async def erase_file(file_id: uuid.UUID, request: Request,
               basis: Literal["nationality", "residence_permit", "residence_card", "long_stay_visa"]
               ) -> S.PurgeResultOut:
    """Art. 35: advance erasure when the person becomes an EU national or falls under Art. 2(3)."""
    from smartborders.ees.purge import erase_file as run_erase

    return await _run(request, lambda ctx: run_erase(ctx, file_id, basis=basis))


# ---- web service for travellers and carriers (Art. 13) --------------------------------------------


@router.post("/traveller/stay-queries", tags=["traveller"], responses=PROBLEMS)
async def traveller_query(body: S.TravellerQuery, request: Request) -> S.WebServiceAnswer:
    """Art. 13(1): OK / NOT OK for intended dates, and the remaining authorised stay."""
    return await _border(request, lambda ctx: service.traveller_query(ctx, body), readonly=True)


@router.post("/carrier/visa-checks", tags=["carrier"], responses=PROBLEMS)
async def carrier_query(body: S.CarrierQuery, request: Request) -> S.CarrierAnswer:
    """Art. 13(3): OK / NOT OK on whether a single- or double-entry visa's entries are used."""
    return await _border(request, lambda ctx: service.carrier_query(ctx, body), readonly=True)


# ---- statistics ------------------------------------------------------------------------------------


@router.get("/statistics", tags=["analytics"], responses=PROBLEMS)
async def statistics(
    request: Request,
    date_from: date,
    date_to: date,
    group_by: Annotated[list[Literal["day", "bcp", "nationality"]], Query()] = [],  # noqa: B006
) -> S.StatisticsOut:
    """Crossings, refusals by reason and overstays, by day, crossing point and nationality."""
    return await _run(request, lambda ctx: service.statistics(ctx, date_from, date_to, list(group_by)), readonly=True)


# ---- the calculator, as the `smartborders stay` contract ------------------------------------------


class CalculatorRequest(S.Strict):
    stays: list[S.StayPair]
    date: S.IsoDate
    mode: Literal["check", "plan"]


@router.post("/calculator", tags=["traveller"], responses=PROBLEMS)
async def calculator(body: CalculatorRequest) -> S.StayOut:
    """The 90/180 calculator on given stays (SBC Art. 6): the same answer as `smartborders stay`."""
    from smartborders.travel.stay import StayInputError, assess

    try:
        a = assess([(a, b) for a, b in body.stays], body.date, body.mode)
    except StayInputError as exc:
        raise InvalidInput(exc.detail) from None
    return service.stay_out(a)


# ---- heavy-traffic modes of a crossing point (Reg. 2025/1534) ----------------------------------------


@router.get("/bcps/{code}/modes", tags=["border", "supervision"], responses=PROBLEMS)
async def bcp_modes(request: Request, code: str = Path(min_length=2, max_length=16, pattern=r"^[A-Z0-9-]+$")
                    ) -> modes.ModesOut:
    """The mode in force at a crossing point now (full, no_biometrics, suspended) and its history."""
    return await _run(request, lambda ctx: modes.modes(ctx, code), readonly=True)


@router.post("/bcps/{code}/modes", tags=["border", "supervision"], status_code=status.HTTP_201_CREATED,
             responses=PROBLEMS)
async def set_bcp_mode(body: modes.ModeIn, request: Request,
                       code: str = Path(min_length=2, max_length=16, pattern=r"^[A-Z0-9-]+$")) -> modes.ModeOut:
    """A supervisor lets the crossing point record without biometrics, or suspends EES registration there,
    for at most 6 hours, inside the window the law allows."""
    return await _run(request, lambda ctx: modes.set_mode(ctx, code, body))


@router.post("/bcps/{code}/modes/{mode_id}/end", tags=["border", "supervision"], responses=PROBLEMS)
async def end_bcp_mode(body: modes.ModeEndIn, request: Request,
                       code: str = Path(min_length=2, max_length=16, pattern=r"^[A-Z0-9-]+$"),
                       mode_id: str = Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")
                       ) -> modes.ModeOut:
    """End a mode early: full operation again."""
    return await _run(request, lambda ctx: modes.end_mode(ctx, code, mode_id, body))
