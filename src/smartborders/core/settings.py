"""Settings from the environment (`SMARTBORDERS_*`), with defaults that run on one laptop."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMARTBORDERS_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Where the embedded SQLite database lives.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means a SQLite file in data_dir (the embedded default).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_json: bool = Field(default=True, description="JSON logs for machines; False for a console.")
    timezone: str = Field(default="Europe/Brussels", description="Default local zone of a crossing point.")
    border_threads: int = Field(default=2, ge=1, le=64,
                                description="Threads per server process for border checks (see api/app.py).")
    # ETIAS Art. 83: the day operations start, the optional period (6 months, extendable by up to 6
    # months, twice) and the grace period after it (6 months).
    etias_start: date = Field(default=date(2026, 12, 31), description="The day ETIAS starts operating.")
    etias_optional_months: int = Field(default=6, ge=0, le=18, description="Art. 83(1): optional period.")
    etias_grace_months: int = Field(default=6, ge=0, le=12, description="Art. 83(2): grace period.")
    # The consoles' session cookies are signed with this key. Unset: a random key per process (fine for
    # one process and the demo; several workers or a restart then log everyone out).
    secret_key: str | None = Field(default=None, min_length=32,
                                   description="Signs the consoles' session cookies and the bearer tokens.")
    # Bearer tokens (core/auth.py): ours carry this issuer; an OIDC provider's are accepted when its issuer
    # and published keys (JWKS) are set, with the roles read from `oidc_roles_claim`.
    token_issuer: str = Field(default="smartborders", description="The `iss` of the tokens this service signs.")
    oidc_issuer: str | None = Field(default=None, description="An OIDC provider whose tokens are accepted.")
    oidc_jwks_url: str | None = Field(default=None, description="Where the provider publishes its keys (JWKS).")
    oidc_audience: str | None = Field(default=None, description="The `aud` the provider's tokens carry.")
    oidc_roles_claim: str = Field(default="roles", description="The claim that holds the provider's roles.")
    # The consoles' demo sign-in (pick a role, no password): for the demo and the console tests only.
    demo_login: bool = Field(default=False, description="Offer the demo sign-in on the consoles.")
    # Reg. 2025/1534: heavy-traffic modes per crossing point are allowed in this window only (after the
    # progressive start: 90 days from 10 April 2026, extended by 60 [R]); a new act moves it.
    ees_derogation_from: date = Field(default=date(2026, 4, 10), description="First day a BCP mode may be set.")
    ees_derogation_until: date = Field(default=date(2026, 9, 6), description="Last day a BCP mode may be in force.")
    # Rate limits on the public endpoints (api/guards.py): on by default; their counters in this process's
    # memory, or shared through `limits` storage such as redis://host:6379 when several workers serve.
    rate_limits: bool = Field(default=True, description="Limit the request rate of the public endpoints.")
    rate_limit_storage: str = Field(default="memory://", description="Where the rate-limit counters live.")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'smartborders.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
