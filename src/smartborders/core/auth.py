"""Who is asking: people (accounts with argon2 passwords; console sessions; bearer tokens) and machines
(carrier and crossing-point keys, core/clients.py). EES Art. 9(2) and ETIAS Art. 13: each authority reaches
only what its tasks need, so every request is made by a `Principal` holding roles, and every route says
which roles may call it (core/access.py).

Bearer tokens are JWTs with OpenID Connect's claims (iss, sub, aud, exp, iat, name) plus ours (roles,
authority, state, bcp). We sign our own with HS256 and the service's secret; a deployment with an OIDC
provider sets `oidc_issuer`, `oidc_audience` and `oidc_jwks_url` and its tokens are accepted beside ours
(RS256/ES256 checked against the provider's published keys).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from sqlalchemy import Integer, String, Uuid, select
from sqlalchemy.orm import Mapped, mapped_column

from smartborders.core.db import Base, UTCDateTime
from smartborders.core.errors import Conflict, InvalidInput, NotFound, Unauthenticated

# The roles, each an authority and purpose of the law. A person may hold several (a border guard who is
# also the supervisor of the crossing point); a machine client holds one.
ROLES: dict[str, str] = {
    "border_guard": "Border authority (EES Art. 23, 27)",
    "supervisor": "Border authority supervisor: heavy-traffic modes, statistics, data-subject requests "
                  "(Reg. 2025/1534; EES Art. 52, 63)",
    "visa_authority": "Visa authority (EES Art. 24)",
    "immigration_authority": "Immigration authority (EES Art. 26, 27, 35)",
    "etias_central_unit": "ETIAS Central Unit (ETIAS Art. 7, 22, 33)",
    "etias_national_unit": "ETIAS national unit (ETIAS Art. 8, 26-44)",
    "law_enforcement": "Designated authority's operating unit (EES Art. 29-32)",
    "central_access_point": "Central access point (EES Art. 29(3), 31)",
    "analyst": "Analyst: anonymous statistics only (EES Art. 63, ETIAS Art. 84)",
    "operator": "System operator: automatic erasure, the overstay sweep (EES Art. 12, 34)",
    "carrier": "Carrier (EES Art. 13(3), ETIAS Art. 45)",
    "bcp": "Crossing-point system (EES Art. 21, 23)",
}
# Roles a person's account may hold (machine clients are `carrier` and `bcp`, core/clients.py).
PERSON_ROLES = tuple(r for r in ROLES if r not in ("carrier", "bcp"))
# Roles that act for one Member State, and those that act at one crossing point.
STATE_ROLES = ("etias_national_unit", "law_enforcement", "central_access_point", "immigration_authority",
               "visa_authority", "supervisor", "border_guard")
BCP_ROLES = ("border_guard", "bcp")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. `kind`: person (token or console session) or client (machine key)."""

    subject: str  # the account's user name, or the client's code
    kind: str  # "person" | "client"
    roles: frozenset[str] = field(default_factory=frozenset)
    name: str = ""
    authority: str | None = None  # e.g. "Koninklijke Marechaussee, Schiphol"
    state: str | None = None  # Member State (alpha-3) the principal acts for
    bcp: str | None = None  # crossing point the principal works at
    via: str = "token"  # token | oidc | session | key

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def current_principal(request: Request) -> Principal:
    """The principal the access check (core/access.py) found for this request. Every route outside the
    traveller's public ones has one; a public route has an anonymous one (kind "anonymous")."""
    p = getattr(request.state, "principal", None)
    if p is None:
        return ANONYMOUS
    return p


ANONYMOUS = Principal(subject="anonymous", kind="anonymous")


# ---- accounts: people, with argon2 passwords --------------------------------------------------------




# argon2id with the library's defaults (RFC 9106's second recommended option: 64 MiB, 3 passes).
_hasher = PasswordHasher()
# Verified against when the user name is unknown, so that a wrong name costs the same time as a wrong
# password and the answer cannot tell which names exist.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))
MAX_FAILURES = 5  # then the account is locked for LOCK_MINUTES (a guessing attack is slowed to a crawl)
LOCK_MINUTES = 15
MIN_PASSWORD = 12  # characters; long passphrases beat complexity rules (NIST SP 800-63B 5.1.1)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")


class Account(Base):
    """A person who may use the system, with the roles their authority gave them. Each Member State
    keeps the records of the staff authorised to process EES data (EES Art. 46(3))."""

    __tablename__ = "account"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    roles: Mapped[str] = mapped_column(String(400))  # space-separated, from ROLES
    authority: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str | None] = mapped_column(String(3))
    bcp: Mapped[str | None] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def principal(self, via: str) -> Principal:
        return Principal(subject=self.username, kind="person", roles=frozenset(self.roles.split()),
                         name=self.name, authority=self.authority, state=self.state, bcp=self.bcp, via=via)


class AccountExists(Conflict):
    slug = "account-exists"
    title = "An account with this user name exists"


def _check_scope(roles: list[str], state: str | None, bcp: str | None) -> None:
    from smartborders.reference.bcps import crossing_points
    from smartborders.reference.countries import iso_alpha3

    unknown = [r for r in roles if r not in PERSON_ROLES]
    if not roles or unknown:
        raise InvalidInput(f"roles: one or more of {', '.join(PERSON_ROLES)}"
                           + (f" (not: {', '.join(unknown)})" if unknown else ""))
    if state is not None and state not in iso_alpha3() and state != "EUR":
        raise InvalidInput(f"state: an ISO 3166 alpha-3 code (or EUR for Europol), not {state}")
    if bcp is not None:
        point = crossing_points().get(bcp)
        if point is None:
            raise InvalidInput(f"bcp: no crossing point {bcp}")
        if state is not None and state_of_bcp(bcp) != state:
            raise InvalidInput(f"bcp: {bcp} is not in {state}")
    if "border_guard" in roles and bcp is None:
        raise InvalidInput("a border guard works at a crossing point: give bcp")
    needs_state = [r for r in roles if r in ("etias_national_unit", "law_enforcement", "central_access_point",
                                              "immigration_authority", "visa_authority")]
    if needs_state and state is None:
        raise InvalidInput(f"{needs_state[0]} acts for a Member State: give state")


def state_of_bcp(bcp: str) -> str | None:
    """The alpha-3 code of the Member State operating a crossing point."""
    from smartborders.reference.bcps import crossing_points

    point = crossing_points().get(bcp)
    return None if point is None else ALPHA2_TO_3.get(point.state)


# The Schengen states (EES and ETIAS operate in them), alpha-2 -> alpha-3.
ALPHA2_TO_3 = {
    "AT": "AUT", "BE": "BEL", "BG": "BGR", "HR": "HRV", "CY": "CYP", "CZ": "CZE", "DK": "DNK", "EE": "EST",
    "FI": "FIN", "FR": "FRA", "DE": "DEU", "GR": "GRC", "HU": "HUN", "IE": "IRL", "IT": "ITA", "LV": "LVA",
    "LT": "LTU", "LU": "LUX", "MT": "MLT", "NL": "NLD", "PL": "POL", "PT": "PRT", "RO": "ROU", "SK": "SVK",
    "SI": "SVN", "ES": "ESP", "SE": "SWE", "CH": "CHE", "IS": "ISL", "LI": "LIE", "NO": "NOR",
}


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > 256:
        raise InvalidInput("password: at most 256 characters")


def create_account(session: Any, username: str, name: str, roles: list[str], now: datetime, *,
                   password: str | None = None, authority: str | None = None, state: str | None = None,
                   bcp: str | None = None) -> tuple[Account, str]:
    """A new account; without a password one is generated and returned (shown once, never stored)."""
    if not USERNAME.fullmatch(username):
        raise InvalidInput("username: 2-64 of a-z 0-9 . _ @ -, starting with a letter or digit")
    if state is None and bcp is not None:
        state = state_of_bcp(bcp)
    _check_scope(roles, state, bcp)
    if password is None:
        password = secrets.token_urlsafe(15)
    check_password(password)
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise AccountExists(f"an account {username} exists")
    acc = Account(username=username, name=name, roles=" ".join(dict.fromkeys(roles)), authority=authority,
                  state=state, bcp=bcp, password_hash=_hasher.hash(password), created_at=now,
                  password_changed_at=now, failed_logins=0)
    session.add(acc)
    session.flush()
    return acc, password


def get_account(session: Any, username: str) -> Account:
    acc = session.scalar(select(Account).where(Account.username == username))
    if acc is None:
        raise NotFound(f"no account {username}")
    return acc


def set_password(session: Any, username: str, password: str, now: datetime) -> Account:
    check_password(password)
    acc = get_account(session, username)
    acc.password_hash, acc.password_changed_at = _hasher.hash(password), now
    acc.failed_logins, acc.locked_until = 0, None
    session.flush()
    return acc


def disable_account(session: Any, username: str, now: datetime) -> Account:
    """Disabled at once: its sessions and tokens stop working within ACTIVE_CACHE_SECONDS."""
    acc = get_account(session, username)
    if acc.disabled_at is None:
        acc.disabled_at = now
    session.flush()
    _active_cache.clear()
    return acc


def sign_in(session: Any, username: str, password: str, now: datetime, via: str = "token") -> Principal:
    """The principal these credentials prove, or 401 with one message for every failure (unknown name,
    wrong password, disabled, locked): the answer must not tell an attacker which part was wrong.
    Five failures in a row lock the account for 15 minutes."""
    failed = Unauthenticated("the user name or password is wrong, or the account is locked or disabled")
    acc = session.scalar(select(Account).where(Account.username == username)) if USERNAME.fullmatch(username) \
        else None
    if acc is None:
        try:
            _hasher.verify(_DUMMY, password)
        except VerificationError:
            pass
        raise failed
    if acc.disabled_at is not None or (acc.locked_until is not None and acc.locked_until > now):
        raise failed
    try:
        _hasher.verify(acc.password_hash, password)
    except (VerificationError, InvalidHashError):
        acc.failed_logins += 1
        if acc.failed_logins >= MAX_FAILURES:
            acc.locked_until, acc.failed_logins = now + timedelta(minutes=LOCK_MINUTES), 0
        session.flush()
        raise failed from None
    if _hasher.check_needs_rehash(acc.password_hash):
        acc.password_hash = _hasher.hash(password)
    acc.failed_logins, acc.locked_until = 0, None
    session.flush()
    return acc.principal(via)


# A token or session stays valid only while its account is enabled; that is checked at most this often.
ACTIVE_CACHE_SECONDS = 30.0
_active_cache: dict[tuple[str, str], tuple[bool, float]] = {}  # (database, user name) -> (active, when)
_active_lock = threading.Lock()


def account_active_cached(engine: Any, username: str) -> bool | None:
    """What account_active last found, if recent enough; None: ask the database."""
    with _active_lock:
        hit = _active_cache.get((str(engine.url), username))
    if hit is not None and time.monotonic() - hit[1] < ACTIVE_CACHE_SECONDS:
        return hit[0]
    return None


def account_active(engine: Any, username: str) -> bool:
    now = time.monotonic()
    cached = account_active_cached(engine, username)
    if cached is not None:
        return cached
    with engine.connect() as conn:
        row = conn.execute(select(Account.disabled_at).where(Account.username == username)).first()
    active = row is not None and row[0] is None
    with _active_lock:
        _active_cache[(str(engine.url), username)] = (active, now)
    return active


# ---- bearer tokens (OIDC-shaped JWTs) ---------------------------------------------------------------


AUDIENCE = "smartborders"
TOKEN_MINUTES = 60  # a border shift re-authenticates every hour; the console session lasts 12 hours
_process_key = secrets.token_urlsafe(48)


def signing_key() -> str:
    """The service's secret (settings.secret_key); unset, a random key of this process: fine for one
    process and the demo, but then tokens and sessions end with the process."""
    from smartborders.core.settings import get_settings

    return get_settings().secret_key or _process_key


def issuer() -> str:
    from smartborders.core.settings import get_settings

    return get_settings().token_issuer


def issue_token(principal: Principal, now: datetime, minutes: int = TOKEN_MINUTES) -> tuple[str, datetime]:
    """An access token for a person who signed in: OIDC's claims and ours, HS256."""
    exp = now + timedelta(minutes=minutes)
    claims = {"iss": issuer(), "sub": principal.subject, "aud": AUDIENCE, "iat": int(now.timestamp()),
              "exp": int(exp.timestamp()), "jti": uuid.uuid4().hex, "name": principal.name,
              "roles": sorted(principal.roles), "authority": principal.authority, "state": principal.state,
              "bcp": principal.bcp}
    return jwt.encode(claims, signing_key(), algorithm="HS256"), exp


_jwks_clients: dict[str, Any] = {}


def read_token(token: str, now: datetime) -> Principal:
    """The principal a bearer token proves: ours (HS256, our secret) or, where configured, the OIDC
    provider's (its published keys). Expiry is checked against the service's clock, so that a test or
    the simulator moving the clock moves it for tokens too. 401 for anything else."""
    from smartborders.core.settings import get_settings

    s = get_settings()
    try:
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        options = {"verify_exp": False, "verify_iat": False, "require": ["exp", "sub", "iss", "aud"]}
        if alg == "HS256":
            claims = jwt.decode(token, signing_key(), algorithms=["HS256"], audience=AUDIENCE,
                                issuer=issuer(), options=options)
            via = "token"
        elif alg in ("RS256", "ES256", "PS256") and s.oidc_issuer and s.oidc_jwks_url:
            client = _jwks_clients.get(s.oidc_jwks_url)
            if client is None:
                client = _jwks_clients[s.oidc_jwks_url] = jwt.PyJWKClient(s.oidc_jwks_url, cache_keys=True)
            key = client.get_signing_key_from_jwt(token).key
            claims = jwt.decode(token, key, algorithms=[alg], audience=s.oidc_audience or AUDIENCE,
                                issuer=s.oidc_issuer, options=options)
            via = "oidc"
        else:
            raise Unauthenticated("the token's signature algorithm is not accepted here")
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"the token is not valid: {exc}") from None
    if int(claims["exp"]) <= now.timestamp():
        raise Unauthenticated("the token has expired: sign in again")
    roles = claims.get(s.oidc_roles_claim if via == "oidc" else "roles") or []
    if isinstance(roles, str):
        roles = roles.split()
    if not isinstance(roles, list):
        raise Unauthenticated("the token's roles are not a list")
    return Principal(subject=str(claims["sub"]), kind="person",
                     roles=frozenset(str(r) for r in roles if str(r) in PERSON_ROLES),
                     name=str(claims.get("name") or ""), authority=claims.get("authority"),
                     state=claims.get("state"), bcp=claims.get("bcp"), via=via)
