"""The ETIAS email service (Reg. 2018/1240 Art. 6(2)(f)): every notice an applicant is given (receipt,
request for information, decision, annulment, revocation, Art. 19(5), 27, 38, 42) is mailed to the
contact address of the application.

`drain` sends what is pending, one application per transaction: the row is locked, its unsent notices
are sent as one message each, and the counter moves on in the same transaction. A failed send rolls
back and the notices stay pending (nothing acknowledged is lost); a crash between the send and the
commit sends them again, with the same Message-ID, so a receiving system can drop the copy.
Transports: an SMTP server, or a folder of .eml files (offline use and tests).
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from smartborders.core.db import unit_of_work
from smartborders.etias.models import Application

SENDER = "ETIAS <no-reply@etias.example.eu>"


def _message(a: Application, index: int, text: str, sender: str) -> EmailMessage:
    from datetime import datetime

    stamp, _, body = text.partition(" ")
    m = EmailMessage()
    m["From"] = sender
    m["To"] = a.email
    m["Subject"] = f"ETIAS application {a.number}"
    m["Message-ID"] = f"<{a.number}.{index}@etias.smartborders>"
    try:
        m["Date"] = format_datetime(datetime.fromisoformat(stamp))
    except ValueError:
        body = text
    m.set_content(f"Application {a.number}\n\n{body}\n\nThis message was sent by the ETIAS email service; "
                  "do not reply to it. Your application's status: the ETIAS verification tool, with its number.\n")
    return m


def to_folder(folder: Path) -> Callable[[EmailMessage], None]:
    folder.mkdir(parents=True, exist_ok=True)

    def send(m: EmailMessage) -> None:
        name = str(m["Message-ID"]).strip("<>").replace("@", "_")
        tmp = folder / f".{name}.tmp"
        tmp.write_bytes(bytes(m))
        tmp.replace(folder / f"{name}.eml")  # whole files only

    return send


def to_smtp(host: str, port: int, starttls: bool = False) -> Callable[[EmailMessage], None]:
    def send(m: EmailMessage) -> None:
        with smtplib.SMTP(host, port, timeout=30) as s:
            if starttls:
                s.starttls()
            s.send_message(m)

    return send


def drain(engine: Engine, send: Callable[[EmailMessage], None], *, sender: str = SENDER, limit: int = 1000
          ) -> dict[str, Any]:
    """Send the pending notices of at most `limit` applications; answers how many were sent."""
    with unit_of_work(engine, readonly=True) as s:
        ids = s.scalars(select(Application.id).where(Application.mail_pending.is_(True)).limit(limit)).all()
    sent = failed = 0
    errors: list[str] = []
    for app_id in ids:
        try:
            with unit_of_work(engine) as s:
                a = s.scalar(select(Application).where(Application.id == app_id).with_for_update())
                if a is None or not a.mail_pending:
                    continue
                notices = list(a.notices or [])
                for i in range(a.notices_sent or 0, len(notices)):
                    send(_message(a, i, notices[i], sender))
                    sent += 1
                a.notices_sent, a.mail_pending = len(notices), False
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
    return {"applications": len(ids), "messages_sent": sent, "failed": failed, "errors": errors[:10]}
