"""Who is using a console, and what they may open. Until issue 7 brings real accounts (argon2
passwords, OIDC), a demo login: pick a role (and, for some, a Member State or a crossing point); the
choice lives in a signed session cookie. The roles and what each console needs are already the real
ones, so only the login changes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from smartborders.web.i18n import N_

ROLES = {
    "border_guard": N_("Border guard"),
    "etias_central_unit": N_("ETIAS Central Unit officer"),
    "etias_national_unit": N_("ETIAS national unit officer"),
    "traveller": N_("Traveller"),
    "analyst": N_("Analyst / supervisor"),
}
# Where each role lands, and the consoles it may open (path prefixes).
HOME = {
    "border_guard": "/border",
    "etias_central_unit": "/etias",
    "etias_national_unit": "/etias",
    "traveller": "/traveller",
    "analyst": "/analyst",
}
CONSOLES = {
    "/border": {"border_guard"},
    "/etias": {"etias_central_unit", "etias_national_unit"},
    "/traveller": {"traveller", "border_guard", "analyst", "etias_central_unit", "etias_national_unit"},
    "/analyst": {"analyst"},
}


@dataclass(frozen=True)
class User:
    name: str
    role: str
    state: str | None = None  # ETIAS national unit: the Member State (alpha-3)
    bcp: str | None = None  # border guard: the crossing point

    @property
    def role_label(self) -> str:
        return ROLES[self.role]


def current(request: Request) -> User | None:
    data: Any = request.session.get("user")
    if not isinstance(data, dict) or data.get("role") not in ROLES:
        return None
    return User(name=str(data.get("name", "")), role=data["role"], state=data.get("state"), bcp=data.get("bcp"))


def sign_in(request: Request, user: User) -> None:
    request.session.clear()
    request.session["user"] = {"name": user.name, "role": user.role, "state": user.state, "bcp": user.bcp}
    request.session["csrf"] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def csrf_ok(request: Request, given: str | None) -> bool:
    token = request.session.get("csrf")
    return bool(token and given and secrets.compare_digest(str(token), given))


def nav(user: User | None) -> list[tuple[str, str]]:
    """The consoles this user may open, as (path, label)."""
    if user is None:
        return []
    labels = {"/border": N_("Border check"), "/etias": N_("ETIAS cases"), "/traveller": N_("Traveller"),
              "/analyst": N_("Dashboards")}
    return [(path, labels[path]) for path, roles in CONSOLES.items() if user.role in roles]
