"""Synthetic ETIAS data for the demo, so that the ETIAS consoles have work on them: SIS alerts and
watchlist entries on synthetic names, and applications through the real use case, some clean (issued
at once), some hitting an entry (the Central Unit's queue), some with a "yes" to a background question
(the national unit's queue). Never real people: names and documents come from sim/population.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine

from smartborders.core.clock import FixedClock


def _body(pop: Any, i: int, k: int, *, yes: bool = False) -> dict[str, Any]:
    from smartborders.sim.population import NATIONALITY_CODES, from_day_number

    nat = NATIONALITY_CODES[pop.nationality[i]]
    born = from_day_number(int(pop.birth[i]))
    body: dict[str, Any] = {
        "client_id": f"demo-etias-{k:05d}",
        "person": {"surname": str(pop.surnames([i])[0]), "given_names": str(pop.given_names([i])[0]),
                   "birth_date": born.isoformat(), "birth_place": "CAPITAL", "birth_country": nat,
                   "sex": "MFX"[int(pop.sex[i])], "nationality": nat, "parents_first_names": ["ALEX"]},
        "document": {"number": pop.document_numbers(np.array([i]))[0], "issuing_country": nat,
                     "issued_on": "2024-01-01", "expires_on": from_day_number(int(pop.expiry[i])).isoformat()},
        "residence": {"city": "CAPITAL", "country": nat},
        "contact": {"email": f"applicant{k}@example.org"},
        "education": "secondary", "job_group": "52", "first_member_state": "NLD",
        "background": {"conviction": ({"answer": True, "when": "2019-05-01", "country": nat} if yes
                                      else {"answer": False}),
                       "conflict_zone": {"answer": False}, "removal": {"answer": False}},
        "declarations": {"data_true_and_complete": True, "aware_of_entry_conditions": True},
    }
    return body


def seed_etias(engine: Engine, now: datetime, *, seed: int = 4711, clean: int = 15, listed: int = 4,
               yes: int = 2) -> dict[str, int]:
    """Lists and applications for the demo; answers how many of each."""
    from smartborders.ees.service import run
    from smartborders.etias import rules, screening, service
    from smartborders.etias import schemas as S
    from smartborders.sim.population import from_day_number, generate_population

    pop = generate_population(2000, seed=seed, on=now.date())
    codes = pop.codes
    adults = [i for i in range(len(pop)) if rules.required(str(codes[i])).required
              and (now.date() - from_day_number(int(pop.birth[i]))).days > 20 * 366]
    picks = adults[: clean + listed + yes]
    clock = FixedClock(now - timedelta(hours=3))
    # Entries on the people who will apply with a hit, written another way (the matcher explains it).
    for n, i in enumerate(picks[clean:clean + listed]):
        name = f"{pop.surnames([i])[0]} {pop.given_names([i])[0]}"  # surname first
        kind, by = (("watchlist", "EUROPOL"), ("sis_refusal", "DE"), ("sis_arrest", "FR"), ("watchlist", "NL"))[n % 4]
        run(engine, clock, lambda ctx, kind=kind, by=by, name=name, n=n: screening.add_entry(
            ctx.session, kind, f"DEMO-{kind.upper()}-{n}", ctx.now(), supplied_by=by, name=name))
    counts = {"issued": 0, "central_unit": 0, "national_unit": 0}
    for k, i in enumerate(picks):
        body = _body(pop, i, k, yes=k >= clean + listed)
        amount, _why = rules.fee(from_day_number(int(pop.birth[i])), now.date())
        if amount > 0:
            body["payment"] = {"reference": f"DEMO-PAY-{k}", "amount_eur": str(amount)}
        cmd = S.ApplicationIn.model_validate(body)
        clock.advance(timedelta(minutes=7))
        out = run(engine, clock, lambda ctx, cmd=cmd: service.submit(ctx, cmd))
        counts[{"issued": "issued", "central_unit_verification": "central_unit"}.get(out.status, "national_unit")] += 1
    return counts
