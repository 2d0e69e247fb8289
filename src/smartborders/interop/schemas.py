"""API shapes of the interoperability components."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class LinkVerification(BaseModel):
    """Reg. 2019/817 Art. 29: the outcome of the manual verification of a yellow link."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    colour: Literal["white", "green", "red"] = Field(
        description="white: the same person, justified; green: different persons in good faith; red: an "
        "unjustified multiple identity or identity fraud")
    authority: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 ./:_-]+$")
    reason: str = Field(min_length=3, max_length=500)


class LinkEventOut(Out):
    at: datetime
    colour_from: str | None
    colour_to: str
    by: str
    reason: str


class LinkOut(Out):
    id: str
    colour: Literal["white", "yellow", "green", "red"]
    a: str = Field(description="system:reference of the record whose write created the link")
    b: str
    identity: Literal["same", "similar", "different"]
    same_biometrics: bool
    same_document: bool
    responsible: str
    created_at: datetime
    history: list[LinkEventOut] = Field(default_factory=list)
