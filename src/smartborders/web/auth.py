"""Who is using a console, and what they may open. People sign in with their account (core/auth.py:
user name and argon2 password); the session is a signed cookie holding the account and the role they act
in. A disabled account's session ends within 30 seconds. The demo sign-in (pick a role, no password)
exists only where `settings.demo_login` is on: `smartborders demo` and the console tests.

The traveller's console needs no sign-in: a traveller proves who they are with their document data, form
by form (EES Art. 13, 52), like the public API routes.
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
    "analyst": N_("Analyst"),
    "supervisor": N_("Supervisor"),
}
# The roles the demo sign-in offers.
DEMO_ROLES = ("border_guard", "etias_central_unit", "etias_national_unit", "traveller", "analyst")
# Where each role lands, and the consoles it may open (path prefixes).
HOME = {
    "border_guard": "/border",
    "etias_central_unit": "/etias",
    "etias_national_unit": "/etias",
    "traveller": "/traveller",
    "analyst": "/analyst",
    "supervisor": "/analyst",
}
CONSOLES = {
    "/border": {"border_guard"},
    "/etias": {"etias_central_unit", "etias_national_unit"},
    "/traveller": {"traveller", "border_guard", "analyst", "supervisor", "etias_central_unit",
                   "etias_national_unit"},
    "/analyst": {"analyst", "supervisor"},
}


@dataclass(frozen=True)
class User:
    name: str
    role: str
    state: str | None = None  # ETIAS national unit: the Member State (alpha-3)
    bcp: str | None = None  # border guard: the crossing point
    username: str | None = None  # the account (None: the demo sign-in)

    @property
    def role_label(self) -> str:
        return ROLES[self.role]


def current(request: Request) -> User | None:
    data: Any = request.session.get("user")
    if not isinstance(data, dict) or data.get("role") not in ROLES:
        return None
    username = data.get("username")
    if username is None:
        from smartborders.core.settings import get_settings

        if not get_settings().demo_login:  # a demo session is worth nothing where the demo sign-in is off
            return None
    else:
        from smartborders.core.auth import account_active

        if not account_active(request.app.state.sb.engine, username):
            return None
    return User(name=str(data.get("name", "")), role=data["role"], state=data.get("state"), bcp=data.get("bcp"),
                username=username)


def console_roles(roles: frozenset[str] | set[str]) -> list[str]:
    """The roles of an account that have a console, in the order of ROLES."""
    return [r for r in ROLES if r in roles and r != "traveller"]


def sign_in(request: Request, user: User) -> None:
    request.session.clear()
    request.session["user"] = {"name": user.name, "role": user.role, "state": user.state, "bcp": user.bcp,
                               "username": user.username}
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
