"""Errors that carry their own RFC 9457 problem+json shape.

Every failure a user can cause is a `Problem` subclass with a stable `type` (a URI reference under
/problems/), a short `title` and an HTTP `status`. The API turns them into problem+json, the CLI
into a message on stderr and a non-zero exit. Pure rule modules raise them too: they carry no I/O.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "/problems/"


class Problem(Exception):
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"
    status: ClassVar[int] = 500

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            body["instance"] = instance
        body.update(self.extensions)
        return body


class InvalidInput(Problem):
    slug = "invalid-input"
    title = "The input is not valid"
    status = 422


class NotFound(Problem):
    slug = "not-found"
    title = "Not found"
    status = 404


class Conflict(Problem):
    slug = "conflict"
    title = "The request conflicts with the current state"
    status = 409


class Unauthenticated(Problem):
    slug = "unauthenticated"
    title = "Credentials are missing or not valid"
    status = 401


class Forbidden(Problem):
    slug = "forbidden"
    title = "These credentials do not allow this"
    status = 403
