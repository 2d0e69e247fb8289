"""Every API route against every role, over real HTTP: only the pairs the law allows get past the door.

The table below is written out by hand from the regulations (EES Art. 9(2), 12, 13, 23-35, 52, 63;
ETIAS Art. 17, 22, 26-45, 84; Reg. 2019/817 Art. 29; Reg. 2025/1534), independently of the code's own
table (core/access.py): a route that is missing here, or a pair that the server answers differently,
fails. "Past the door" means any answer but 401 and 403: the request then meets the route's own
validation (an empty body answers 422, an unknown id 404). Scope (a Member State's own cases, a guard's
own crossing point, an officer's own name) is proven in test_auth_http.py.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from smartborders.core import auth, clients
from smartborders.core.db import unit_of_work

PUBLIC = "public"
# Who may call each route, by role. PUBLIC: anyone, with or without credentials.
BORDER = {"border_guard", "bcp"}
NU, CU = {"etias_national_unit"}, {"etias_central_unit"}
DSR = {"supervisor", "immigration_authority", "border_guard"}
MID = {"etias_central_unit", "border_guard", "immigration_authority"}
EXPECTED: dict[tuple[str, str], Any] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("GET", "/api/v1/auth/me"): "any",
    ("POST", "/api/v1/border/checks"): BORDER,
    ("POST", "/api/v1/border/searches"): BORDER | {"visa_authority", "immigration_authority"},
    ("POST", "/api/v1/border/entries"): BORDER,
    ("POST", "/api/v1/border/exits"): BORDER,
    ("POST", "/api/v1/border/refusals"): BORDER,
    ("GET", "/api/v1/files/{file_id}"): BORDER | {"visa_authority", "immigration_authority"},
    ("DELETE", "/api/v1/files/{file_id}"): {"immigration_authority", "supervisor"},
    ("POST", "/api/v1/records/{record_id}/amendments"): {"border_guard", "immigration_authority", "supervisor"},
    ("POST", "/api/v1/rebuttals"): {"border_guard", "immigration_authority"},
    ("GET", "/api/v1/overstayers"): {"immigration_authority", "supervisor"},
    ("POST", "/api/v1/overstays/sweeps"): {"operator"},
    ("POST", "/api/v1/retention/purges"): {"operator"},
    ("POST", "/api/v1/traveller/stay-queries"): PUBLIC,
    ("POST", "/api/v1/calculator"): PUBLIC,
    ("POST", "/api/v1/carrier/visa-checks"): {"carrier"},
    ("GET", "/api/v1/statistics"): {"analyst", "supervisor", "operator"},
    ("GET", "/api/v1/bcps/{code}/modes"): BORDER | {"supervisor"},
    ("POST", "/api/v1/bcps/{code}/modes"): {"supervisor"},
    ("POST", "/api/v1/bcps/{code}/modes/{mode_id}/end"): {"supervisor"},
    ("GET", "/api/v1/mid/links"): MID,
    ("GET", "/api/v1/mid/links/{link_id}"): MID,
    ("POST", "/api/v1/mid/links/{link_id}/verification"): MID,
    ("POST", "/api/v1/etias/applications"): PUBLIC,
    ("GET", "/api/v1/etias/applications/{number}"): PUBLIC,
    ("POST", "/api/v1/etias/applications/{number}/answers"): PUBLIC,
    ("POST", "/api/v1/etias/applications/{number}/revocation-request"): PUBLIC,
    ("POST", "/api/v1/etias/applications/{number}/retention-consent"): PUBLIC,
    ("POST", "/api/v1/etias/applications/{number}/retention-consent/withdrawal"): PUBLIC,
    ("POST", "/api/v1/etias/carrier-checks"): {"carrier"},
    ("GET", "/api/v1/etias/central-unit/queue"): CU,
    ("GET", "/api/v1/etias/cases/{number}"): CU | NU,
    ("POST", "/api/v1/etias/applications/{number}/verification"): CU,
    ("POST", "/api/v1/etias/applications/{number}/decision"): NU,
    ("GET", "/api/v1/etias/national-units/{state}/queue"): NU,
    ("POST", "/api/v1/etias/applications/{number}/requests"): NU,
    ("POST", "/api/v1/etias/applications/{number}/requests/{request_id}/interview"): NU,
    ("POST", "/api/v1/etias/applications/{number}/consultations"): NU,
    ("POST", "/api/v1/etias/applications/{number}/consultations/{consultation_id}/opinion"): NU,
    ("POST", "/api/v1/etias/applications/{number}/ltv"): NU,
    ("POST", "/api/v1/etias/applications/{number}/annulment"): NU,
    ("POST", "/api/v1/etias/applications/{number}/revocation"): NU,
    ("POST", "/api/v1/etias/applications/{number}/review"): NU,
    ("POST", "/api/v1/etias/applications/{number}/appeals"): NU,
    ("POST", "/api/v1/etias/applications/{number}/appeals/{appeal_id}/outcome"): NU,
    ("POST", "/api/v1/etias/lists/{list_name}/entries"): CU | NU,
    ("DELETE", "/api/v1/etias/lists/{list_name}/entries/{reference}"): CU | NU,
    ("POST", "/api/v1/etias/lists/watchlist/entries/{reference}/review"): CU | NU,
    ("GET", "/api/v1/etias/lists/watchlist/review-due"): CU | NU,
    ("GET", "/api/v1/etias/statistics"): {"analyst", "supervisor"} | CU,
    ("GET", "/api/v1/etias/screening-rules"): CU,
    ("POST", "/api/v1/etias/screening-rules"): CU,
    ("POST", "/api/v1/etias/screening-rules/{rule_id}/{version}/activation"): CU,
    ("POST", "/api/v1/etias/screening-rules/{rule_id}/{version}/retirement"): CU,
    ("GET", "/api/v1/etias/fairness-report"): CU | {"analyst"},
    ("POST", "/api/v1/data-subject-requests"): DSR,
    ("GET", "/api/v1/data-subject-requests"): DSR,
    ("GET", "/api/v1/data-subject-requests/{request_id}"): DSR,
    ("POST", "/api/v1/data-subject-requests/{request_id}/forwarding"): DSR,
    ("POST", "/api/v1/data-subject-requests/{request_id}/answer"): DSR,
    ("POST", "/api/v1/law-enforcement/requests"): {"law_enforcement"},
    ("GET", "/api/v1/law-enforcement/requests"): {"law_enforcement", "central_access_point"},
    ("GET", "/api/v1/law-enforcement/requests/{request_id}"): {"law_enforcement", "central_access_point"},
    ("POST", "/api/v1/law-enforcement/requests/{request_id}/verification"): {"central_access_point"},
    ("POST", "/api/v1/law-enforcement/requests/{request_id}/erasure"): {"law_enforcement"},
}
# A syntactically valid value for each path parameter.
VALUES = {"file_id": str(uuid.uuid4()), "record_id": str(uuid.uuid4()), "code": "NL-AMS", "mode_id": str(uuid.uuid4()),
          "link_id": str(uuid.uuid4()), "number": "E00000-00000-00000", "request_id": str(uuid.uuid4()),
          "consultation_id": str(uuid.uuid4()), "appeal_id": str(uuid.uuid4()), "state": "NLD",
          "list_name": "watchlist", "reference": "REF-1", "rule_id": "SYN-1", "version": "1"}


def _credentials(server: Any) -> dict[str, dict[str, str]]:
    """One principal per role, each with that role alone: people by token, machines by key."""
    now = server.clock.now()
    out: dict[str, dict[str, str]] = {"anonymous": {}}
    with unit_of_work(server.engine) as s:
        for role in auth.PERSON_ROLES:
            bcp = "NL-AMS" if role == "border_guard" else None
            acc, _ = auth.create_account(s, f"matrix.{role}", f"Matrix {role}", [role], now, state="NLD", bcp=bcp)
            out[role] = {"Authorization": "Bearer " + auth.issue_token(acc.principal("token"), now)[0]}
        for kind, code, bcp in (("carrier", "MX", None), ("bcp", "NL-AMS-MX", "NL-AMS")):
            _, key = clients.create(s, kind, code, f"matrix {kind}", datetime.now(UTC), bcp=bcp)
            out[kind] = {"Authorization": f"Bearer {key}"}
    return out


def test_every_route_against_every_role(server):
    spec = server.http.get("/openapi.json").json()
    routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert routes == set(EXPECTED), (f"routes without an expected row: {sorted(routes - set(EXPECTED))}; "
                                     f"rows for no route: {sorted(set(EXPECTED) - routes)}")
    who = _credentials(server)
    assert set(who) == {"anonymous", *auth.ROLES}
    wrong: list[str] = []
    tried = 0
    with httpx.Client(base_url=server.url, timeout=30) as http:  # no automatic sign-in: exactly these headers
        for (method, template), allowed in sorted(EXPECTED.items()):
            path = re.sub(r"\{([^}]+)\}", lambda m: VALUES[m.group(1)], template)
            for role, headers in who.items():
                kw: dict[str, Any] = {"headers": headers}
                if method == "POST":
                    kw["json"] = {}
                r = http.request(method, path, **kw)
                tried += 1
                if allowed == PUBLIC:
                    ok = r.status_code not in (401, 403)
                elif role == "anonymous":
                    ok = r.status_code == 401 and r.headers.get("www-authenticate", "").startswith("Bearer")
                elif allowed == "any" or role in allowed:
                    ok = r.status_code not in (401, 403)
                else:
                    ok = r.status_code == 403 and r.json()["type"] == "/problems/forbidden"
                if not ok:
                    wrong.append(f"{role} {method} {path}: {r.status_code} {r.text[:120]}")
    assert not wrong, f"{len(wrong)} of {tried} pairs answered wrongly:\n" + "\n".join(wrong)
    assert tried == len(EXPECTED) * len(who)
