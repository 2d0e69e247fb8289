"""Machine clients and their keys: carriers (ETIAS Art. 45, EES Art. 13(3)) and, later, crossing-point
systems. Each client has its own key, shown once when it is made and stored only as a hash; a key is
revoked, never edited. A request authenticates with `Authorization: Bearer sbk_<client id>_<secret>`.

The keys are 256-bit random secrets, so a plain SHA-256 of the secret is enough to store them (a slow
password hash such as argon2 protects low-entropy human passwords; issue 7 uses it for people).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, Uuid, select
from sqlalchemy.orm import Mapped, mapped_column

from smartborders.core.db import Base, UTCDateTime
from smartborders.core.errors import Conflict, Forbidden, NotFound, Unauthenticated

KINDS = ("carrier", "bcp")  # a carrier, or a crossing point's own system (kiosks, e-gates, booths)
_TOKEN = re.compile(r"^Bearer sbk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")


class ApiClient(Base):
    __tablename__ = "api_client"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(16), unique=True)  # e.g. the carrier's IATA code
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bcp: Mapped[str | None] = mapped_column(String(16))  # a crossing-point client: where it records

    def principal(self):  # type: ignore[no-untyped-def]
        from smartborders.core.auth import Principal, state_of_bcp

        return Principal(subject=self.code, kind="client", roles=frozenset({self.kind}), name=self.name,
                         authority=self.name, state=state_of_bcp(self.bcp) if self.bcp else None, bcp=self.bcp,
                         via="key")


class ClientExists(Conflict):
    slug = "client-exists"
    title = "A client with this code exists"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(session, kind: str, code: str, name: str, now: datetime,  # type: ignore[no-untyped-def]
           bcp: str | None = None) -> tuple[ApiClient, str]:
    """A new client and its key (returned once, never stored). A crossing-point client records at one
    crossing point only (`bcp`)."""
    from smartborders.reference.bcps import crossing_points

    if kind not in KINDS:
        raise ValueError(f"kind: one of {', '.join(KINDS)}")
    if kind == "bcp" and bcp not in crossing_points():
        raise ValueError(f"bcp: a crossing-point client needs a known crossing point, not {bcp}")
    if kind != "bcp" and bcp is not None:
        raise ValueError("bcp: only for a crossing-point client")
    if not re.fullmatch(r"[A-Z0-9-]{2,16}", code):
        raise ValueError("code: 2-16 capital letters, digits or hyphens")
    if session.scalar(select(ApiClient).where(ApiClient.code == code)) is not None:
        raise ClientExists(f"a client {code} exists (a revoked client keeps its code: give the new one another)")
    secret = secrets.token_urlsafe(32)
    c = ApiClient(kind=kind, code=code, name=name, key_hash=_hash(secret), created_at=now, bcp=bcp)
    session.add(c)
    session.flush()
    return c, f"sbk_{c.id.hex}_{secret}"


def revoke(session, code: str, now: datetime) -> ApiClient:  # type: ignore[no-untyped-def]
    """Revoked at once in this process; other server processes stop honouring the key within
    KEY_CACHE_SECONDS."""
    c = session.scalar(select(ApiClient).where(ApiClient.code == code))
    if c is None:
        raise NotFound(f"no client {code}")
    if c.revoked_at is None:
        c.revoked_at = now
    session.flush()
    with _cache_lock:
        _cache.clear()
    return c


# A crossing point sends its key with every crossing: checking it against the database each time cost a
# transaction per request. A valid key is remembered (by a hash of the whole header) for this long.
KEY_CACHE_SECONDS = 30.0
_cache: dict[str, tuple[Any, float]] = {}
_cache_lock = threading.Lock()


def cached_principal(authorization: str):  # type: ignore[no-untyped-def]
    """The principal of a key checked less than KEY_CACHE_SECONDS ago, else None (check it again)."""
    digest = hashlib.sha256(authorization.encode()).hexdigest()
    with _cache_lock:
        hit = _cache.get(digest)
    if hit is not None and time.monotonic() - hit[1] < KEY_CACHE_SECONDS:
        return hit[0]
    return None


def remember(authorization: str, principal) -> None:  # type: ignore[no-untyped-def]
    digest = hashlib.sha256(authorization.encode()).hexdigest()
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[digest] = (principal, time.monotonic())


def authenticate(session, authorization: str | None, kind: str | None) -> ApiClient:  # type: ignore[no-untyped-def]
    """The client this header proves, or 401 (missing, malformed, unknown, wrong secret, revoked) /
    403 (a client of another kind than `kind`, when given)."""
    m = _TOKEN.match(authorization or "")
    if m is None:
        raise Unauthenticated("give the client's key: Authorization: Bearer sbk_...")
    c = session.get(ApiClient, uuid.UUID(m.group(1)))
    if c is None or not hmac.compare_digest(c.key_hash, _hash(m.group(2))) or c.revoked_at is not None:
        raise Unauthenticated("the key is not valid, or was revoked")
    if kind is not None and c.kind != kind:
        raise Forbidden(f"a {c.kind} client may not do this")
    return c
