"""A fixture factory for travellers and crossings: synthetic people only, each test builds its own."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

from smartborders.core.clock import FixedClock
from smartborders.ees import schemas as S

_counter = itertools.count(1)

START = datetime(2026, 4, 10, 9, 0, tzinfo=timezone.utc)  # the EES started on 10 April 2026 (full operation)


def client_id() -> str:
    return uuid.uuid4().hex


def document(number: str | None = None, state: str = "USA", **kw: Any) -> S.DocumentIn:
    return S.DocumentIn(document_type=kw.pop("document_type", "P"),
                        number=number or f"T{next(_counter):08d}", issuing_state=state, **kw)


def identity(nationality: str = "USA", **kw: Any) -> S.IdentityIn:
    n = next(_counter)
    base = dict(surname=f"TESTER{chr(65 + n % 26)}", given_names=f"ALEX {chr(65 + (n // 26) % 26)}",
                birth_date=date(1980, 1, 1) + timedelta(days=n % 9000), sex="X", nationality=nationality)
    base.update(kw)
    return S.IdentityIn(**base)


def visa(sticker: str | None = None, **kw: Any) -> S.VisaIn:
    base = dict(sticker=sticker or f"V{next(_counter):08d}", issuing_state="NLD", entries=None, duration_days=90,
                valid_from=date(2026, 1, 1), valid_until=date(2027, 12, 31))
    base.update(kw)
    return S.VisaIn(**base)


class Traveller:
    """One synthetic traveller with a document, crossing through the service."""

    def __init__(self, nationality: str = "USA", **identity_kw: Any) -> None:
        self.identity = identity(nationality, **identity_kw)
        self.document = document(state=nationality if len(nationality) == 3 else "USA")

    def entry(self, bcp: str = "NL-AMS", at: datetime | None = None, **kw: Any) -> S.EntryCommand:
        return S.EntryCommand(client_id=kw.pop("client_id", client_id()), bcp=bcp, authority="NL-KMAR", at=at,
                              document=self.document, identity=self.identity, **kw)

    def exit(self, bcp: str = "NL-AMS", at: datetime | None = None, **kw: Any) -> S.ExitCommand:
        return S.ExitCommand(client_id=kw.pop("client_id", client_id()), bcp=bcp, authority="NL-KMAR", at=at,
                             document=self.document, **kw)


def clock(start: datetime = START) -> FixedClock:
    return FixedClock(start)
