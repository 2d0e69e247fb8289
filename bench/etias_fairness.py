"""The ETIAS screening rules on a synthetic population, and their fairness report:
`python -m bench.etias_fairness --applications 3000`.

Visa-exempt synthetic travellers (sim/population.py: nationality, sex, birth date) get an education and a
job group drawn by age, and apply through the use case on a fresh SQLite database with two synthetic
screening rules in use (not real risk indicators: no such list is public). The bench prints the time the
rules take per application, how the files ended, and the fairness report the Fundamental Rights Guidance
Board would read: hit and manual-referral rates by nationality, sex and age band, overall and per rule,
with the groups outside the four-fifths band flagged.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.table import print_table

NOW = datetime(2026, 12, 20, 10, 0, tzinfo=UTC)
KEPT = 0.4  # share of rule hits the Central Unit sends on to manual processing (synthetic)
RULES = [
    {"id": "SYN-IM-1", "version": 1, "risk": "illegal_immigration", "basis": "33(2)(c)",
     "description": "synthetic: young unemployed applicants of two nationalities",
     "conditions": [{"attribute": "nationality", "op": "in", "value": ["UKR", "SRB"]},
                    {"attribute": "age", "op": "between", "value": [18, 30]},
                    {"attribute": "job_group", "op": "in", "value": ["U"]}]},
    {"id": "SYN-SEC-1", "version": 1, "risk": "security", "basis": "33(2)(d)",
     "description": "synthetic: a residence city and occupation group named by a Member State",
     "conditions": [{"attribute": "country_of_residence", "op": "eq", "value": "USA"},
                    {"attribute": "job_group", "op": "in", "value": ["83", "93"]}]},
]


def _bodies(n: int, seed: int) -> list[dict[str, Any]]:
    from smartborders.etias import rules
    from smartborders.sim.population import from_day_number, generate_population

    pop = generate_population(n * 4, seed=seed, on=NOW.date())
    codes = pop.codes
    ok = np.array([rules.required(str(c)).required for c in codes])
    idx = np.flatnonzero(ok)[:n]
    rng = np.random.default_rng(seed)
    sur, giv = pop.surnames(idx), pop.given_names(idx)
    out = []
    for j, i in enumerate(idx.tolist()):
        born = from_day_number(int(pop.birth[i]))
        age = (NOW.date() - born).days // 365
        nat = str(codes[i])
        job = "S" if age < 22 and rng.random() < 0.7 else "R" if age > 65 else str(rng.choice(
            ["U", "25", "52", "83", "93", "22", "41"], p=[0.12, 0.15, 0.2, 0.13, 0.1, 0.15, 0.15]))
        body: dict[str, Any] = {
            "client_id": f"fair-{j:07d}",
            "person": {"surname": str(sur[j]), "given_names": str(giv[j]), "birth_date": born.isoformat(),
                       "birth_place": "CAPITAL", "birth_country": nat, "sex": "MFX"[int(pop.sex[i])],
                       "nationality": nat, "parents_first_names": ["ALEX"]},
            "document": {"number": pop.document_numbers(np.array([i]))[0], "issuing_country": nat,
                         "issued_on": "2024-01-01", "expires_on": from_day_number(int(pop.expiry[i])).isoformat()},
            "residence": {"city": "CAPITAL", "country": nat},
            "contact": {"email": f"applicant{j}@example.org"},
            "education": "none" if age < 6 else str(rng.choice(["primary", "secondary", "higher"], p=[.2, .5, .3])),
            "job_group": job, "first_member_state": "NLD",
            "background": {"conviction": {"answer": False}, "conflict_zone": {"answer": False},
                           "removal": {"answer": False}},
            "declarations": {"data_true_and_complete": True, "aware_of_entry_conditions": True},
        }
        if age < 18:
            body["guardian"] = {"surname": str(sur[j]), "address": "1 Main Street", "email": f"g{j}@example.org"}
        amount, _ = rules.fee(born, NOW.date())
        if amount > 0:
            body["payment"] = {"reference": f"PAY-{j}", "amount_eur": str(amount)}
        out.append(body)
    return out


def run(applications: int, seed: int = 4404, min_group: int = 30) -> tuple[list[tuple[str, str, str, str]], str]:
    from smartborders.core.clock import FixedClock
    from smartborders.core.db import make_engine
    from smartborders.core.migrate import upgrade
    from smartborders.ees.service import run as run_uc
    from smartborders.etias import schemas as S
    from smartborders.etias import screening, screening_rules, service, sri

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'fair.db'}")
        upgrade(engine)
        clock = FixedClock(NOW)
        for r in RULES:
            run_uc(engine, clock, lambda ctx, r=r: screening_rules.propose(ctx, S.RuleProposalIn(officer="cu.a",
                                                                                              rule=r)))
            run_uc(engine, clock, lambda ctx, r=r: screening_rules.activate(ctx, r["id"], 1, S.RuleActivationIn(
                officer="cu.b", screening_board="synthetic bench")))
        screening.warm(engine)
        bodies = _bodies(applications, seed)
        status: Counter[str] = Counter()
        rng = np.random.default_rng(seed + 1)
        for b in bodies:
            cmd = S.ApplicationIn.model_validate(b)
            out = run_uc(engine, clock, lambda ctx, cmd=cmd: service.submit(ctx, cmd))
            status[out.status] += 1
            if out.status == service.CENTRAL_UNIT:
                # The Central Unit keeps a share of the rule hits as doubtful (manual processing, Art. 22(5)).
                case = run_uc(engine, clock, lambda ctx, n=out.number: service.case(ctx, n), readonly=True)
                keep = bool(rng.random() < KEPT)
                verdict = S.VerificationIn(officer="cu.bench", hits=[S.HitDecisionIn(
                    id=h.id, outcome="doubt" if keep else "discarded", reason="synthetic") for h in case.hits])
                status["referred"] += run_uc(engine, clock, lambda ctx, n=out.number, v=verdict: service.verify(
                    ctx, n, v)).status == service.MANUAL
        with engine.connect() as conn:
            rs = screening_rules.active(conn)
        data = [dict(b, client_id=None) for b in bodies]
        t0 = time.perf_counter()
        matched = sum(len(rs.evaluate(d, NOW.date(), family_member=False)) for d in data)
        per_app = (time.perf_counter() - t0) / len(data)
        report = run_uc(engine, clock, lambda ctx: screening_rules.fairness(ctx, date(2026, 12, 1),
                                                                            date(2026, 12, 31), min_group=min_group),
                        readonly=True)
        engine.dispose()
    rows = [
        ("applications", f"{len(bodies):,}", "", "visa-exempt synthetic population"),
        ("rules in use", str(len(RULES)), "", "synthetic, not real risk indicators"),
        ("rule evaluation", f"{per_app * 1e6:.1f} µs an application", "", f"{matched} matches"),
        ("issued at once", f"{status['issued']:,}", "", f"{status['issued'] / len(bodies):.1%}"),
        ("to the Central Unit", f"{status['central_unit_verification']:,}", "",
         f"{status['central_unit_verification'] / len(bodies):.1%}"),
        ("to manual processing", f"{status['referred']:,}", "", f"the Central Unit kept {KEPT:.0%} of rule hits"),
        ("groups flagged", str(len(report.flags)), "", f"four-fifths band, groups of >= {min_group}"),
    ]
    return rows, sri.render_markdown(report)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--applications", type=int, default=3000)
    ap.add_argument("--min-group", type=int, default=30)
    ap.add_argument("--report", type=Path, help="write the fairness report (markdown) here too")
    a = ap.parse_args()
    rows, md = run(a.applications, min_group=a.min_group)
    print_table("ETIAS screening rules on a synthetic population", ("what", "measured", "goal", "note"), rows)
    print()
    print(md)
    if a.report:
        a.report.write_text(md)


if __name__ == "__main__":
    main()
