"""All configuration, validated in one place.

Settings are read when `get_settings()` is first called, never at import time, so tests
and the CLI can point `AGENTOS_*` variables at another home before anything starts.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE_NAME = "secret_key"
AUDIT_KEY_FILE_NAME = "audit_key"
RedisRole = Literal["cache", "idempotency", "ratelimit", "breaker", "broker"]
# The seed's Redis layout: one logical database per concern.
REDIS_DB_BY_ROLE: dict[str, int] = {
    "cache": 0,
    "idempotency": 1,
    "ratelimit": 2,
    "breaker": 3,
    "broker": 4,
}


LOGGER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
RateAlgorithm = Literal["sliding_window", "token_bucket", "fixed_window"]


class RatePolicy(BaseModel):
    """A rate limit for one scope (see `Settings.rate_limit_policies`)."""

    limit: int = Field(ge=1, le=1_000_000)
    window_s: int = Field(ge=1, le=86_400)
    algorithm: RateAlgorithm = "sliding_window"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AGENTOS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(default=Path(".agentos"), description="Data directory")
    database_url: str | None = Field(default=None, description="unset = SQLite in the home")
    redis_url: str | None = Field(default=None, description="unset = embedded backends")
    redis_key_prefix: str = Field(default="", description="prefix for every Redis key")

    secret_key: SecretStr | None = Field(default=None, description="JWT signing key")
    audit_key: SecretStr | None = Field(
        default=None,
        description="key of the audit chain's HMAC (kept outside the database; every "
        "process of a deployment needs the same one)",
    )
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_issuer: str = "agentos"
    jwt_audience: str = "agentos-api"
    access_token_ttl_s: int = Field(default=900, ge=30)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=60)

    http_keep_alive_s: int = Field(
        default=75,
        ge=1,
        le=3600,
        description="how long `agentos serve` keeps an idle connection open: longer than a "
        "load balancer's idle timeout (60 s on most), so the server never closes a "
        "connection the balancer is about to reuse",
    )

    ssot_cache_key: str = "admin:dashboard:v4"
    ssot_cache_ttl_s: int = Field(default=15, ge=1)
    ssot_warm_interval_s: float = Field(default=5.0, gt=0)

    admin_ip_allowlist: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    trusted_proxies: list[str] = Field(default_factory=list)
    cors_origins: list[str] = Field(default_factory=list)
    max_request_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)

    lockout_attempts: int = Field(default=5, ge=1)
    lockout_seconds: int = Field(default=900, ge=1)
    # HTTP rate-limit tiers (seed), requests per minute; see agentos/server/ratelimit.py.
    ratelimit_public_per_min: int = Field(default=10, ge=1)
    ratelimit_user_per_min: int = Field(default=100, ge=1)
    ratelimit_admin_read_per_min: int = Field(default=500, ge=1)
    ratelimit_admin_action_per_min: int = Field(default=50, ge=1)
    # Upload chunks have their own tier: a 1 GB file is 128 chunks of 8 MB, more than the
    # user tier's 100/min, and chunks are bounded by size rather than by count.
    ratelimit_upload_per_min: int = Field(default=1200, ge=1)
    ratelimit_burst_factor: float = Field(default=2.0, ge=0, description="0 = no burst window")
    ratelimit_burst_window_s: int = Field(default=10, ge=1, le=60)
    idempotency_ttl_s: int = Field(default=3600, ge=1)
    idempotency_lock_ttl_s: int = Field(
        default=60,
        ge=1,
        description="lease of an unfinished idempotent request on its key (taken over at "
        "once when its process is gone from this host)",
    )
    # Admin action rate classes (per user and per action), seed: 50/10/5 per minute.
    # The same bounds as a policy's limit (`RatePolicy`): a value outside them is refused
    # when the settings load, not by every action at run time.
    action_rate_limits: dict[str, Annotated[int, Field(ge=1, le=1_000_000)]] = Field(
        default_factory=lambda: {"standard": 50, "high_risk": 10, "critical": 5}
    )
    action_rate_window_s: int = Field(default=60, ge=1)
    action_rate_algorithm: RateAlgorithm = "sliding_window"
    rate_limit_policies: dict[str, RatePolicy] = Field(
        default_factory=dict,
        description="limits by scope, over the defaults: an HTTP tier (public, user, upload, "
        "admin_read, admin_action), an action rate class (standard, high_risk, critical) or "
        "one action (job.retry); each with its own algorithm (ratelimit.policy.set)",
    )
    action_ip_restrictions: dict[str, list[str]] = Field(
        default_factory=dict,
        description="action name -> the CIDRs it may be run from, on top of the admin "
        "IP allow-list",
    )
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_cooldown_s: float = Field(default=30.0, gt=0)
    breaker_half_open_max_calls: int = Field(default=1, ge=1)

    upload_max_bytes: int = Field(default=20 * 1024**3, ge=1, description="largest upload")
    upload_chunk_min_bytes: int = Field(default=64 * 1024, ge=1)
    upload_chunk_max_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    upload_session_ttl_s: int = Field(default=24 * 3600, ge=60)
    upload_free_space_margin_bytes: int = Field(default=256 * 1024 * 1024, ge=0)

    local_operator: str = Field(default="local-operator", description="actor of local CLI/TUI")
    embedded_workers: bool = Field(default=True, description="run in-process workers in serve")
    bus_poll_interval_s: float = Field(default=0.25, gt=0)
    heartbeat_interval_s: float = Field(default=5.0, gt=0)
    stall_after_s: float = Field(default=120.0, gt=0)
    # Runner (embedded pools and Celery workers).
    worker_reply_timeout_s: float = Field(
        default=1.0,
        gt=0,
        le=30,
        description="How long the worker actions wait for each worker's reply",
    )
    worker_lost_after_s: float = Field(
        default=30.0, gt=0, description="a worker silent this long is gone; its steps re-queued"
    )
    cancel_check_interval_s: float = Field(
        default=0.5, gt=0, description="how often a running stage reads cancel_requested"
    )
    runner_poll_interval_s: float = Field(
        default=0.5, gt=0, description="embedded runner: look for queued work this often"
    )
    reclaim_interval_s: float = Field(default=30.0, gt=0)
    audit_anchor_interval_s: float = Field(
        default=60.0, gt=0, description="how often the audit chain head is exported to the home"
    )
    upload_cleanup_interval_s: float = Field(default=300.0, gt=0)
    celery_visibility_timeout_s: int = Field(
        default=3600, ge=1, description="Redis broker: unacked messages come back after this"
    )
    celery_dispatch_sweep_s: float = Field(
        default=2.0, gt=0, description="Celery workers send messages for unsent steps this often"
    )
    celery_send_grace_s: float = Field(
        default=30.0,
        gt=0,
        description="A step's reserved message not confirmed sent after this is sent again "
        "(its sender died between the commit and the send)",
    )
    pg_bin_dir: Path | None = Field(
        default=None,
        description="where pg_dump/pg_restore/psql of the server's major version live "
        "(default: /usr/lib/postgresql/<major>/bin, then PATH)",
    )
    log_level: str = "INFO"
    log_levels: dict[str, str] = Field(
        default_factory=dict,
        description="per logger (agentos.pipeline, uvicorn.error, ...): its own level "
        "(logs.set_level)",
    )
    log_retention_days: int = Field(
        default=14, ge=1, le=3650, description="log records older than this are purged"
    )

    @field_validator("action_ip_restrictions")
    @classmethod
    def _networks(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        cleaned = {}
        for action, cidrs in value.items():
            try:
                cleaned[action] = [
                    str(ipaddress.ip_network(c.strip(), strict=False)) for c in cidrs
                ]
            except ValueError as exc:
                raise ValueError(f"{action}: {exc}") from None
        return cleaned

    @field_validator("log_levels")
    @classmethod
    def _levels(cls, value: dict[str, str]) -> dict[str, str]:
        known = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "NOTSET")
        cleaned = {}
        for name, level in value.items():
            if not LOGGER_NAME.match(name):
                raise ValueError(f"{name!r} is not a logger name")
            if level.strip().upper() not in known:
                raise ValueError(f"{name}: level must be one of {', '.join(known)}")
            cleaned[name] = level.strip().upper()
        return cleaned

    @field_validator("database_url", "redis_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError(
                "AGENTOS_DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL"
            )
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("AGENTOS_REDIS_URL must be a redis:// URL")
        return value

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home_dir / 'agentos.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def is_embedded(self) -> bool:
        return self.redis_url is None

    @property
    def uploads_dir(self) -> Path:
        return self.home_dir / "uploads"

    @property
    def clips_dir(self) -> Path:
        return self.home_dir / "clips"

    @property
    def backups_dir(self) -> Path:
        return self.home_dir / "backups"

    def redis_url_for(self, role: RedisRole) -> str:
        """The Redis URL for one concern, on its own logical database (seed layout)."""
        if self.redis_url is None:
            raise ValueError("Redis is not configured")
        base = self.redis_url
        scheme, rest = base.split("://", 1)
        host_part, _, _db = rest.partition("/")
        query = ""
        if "?" in _db:
            query = "?" + _db.split("?", 1)[1]
        return f"{scheme}://{host_part}/{REDIS_DB_BY_ROLE[role]}{query}"

    def ensure_home(self) -> Path:
        """The home and its folders, private to this service (mode 0700)."""
        home = self.home_dir
        for directory in (home, self.uploads_dir, self.clips_dir, self.backups_dir):
            if not directory.is_dir():
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if directory.stat().st_mode & 0o077:
                directory.chmod(0o700)
        return home

    def signing_key(self) -> str:
        """The JWT key: configured, or generated once and kept in the home with mode 0600."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return self._home_secret(SECRET_FILE_NAME)

    def audit_mac_key(self) -> bytes:
        """The audit chain's HMAC key: configured, or generated once into the home (0600)."""
        if self.audit_key is not None:
            return self.audit_key.get_secret_value().encode()
        return self._home_secret(AUDIT_KEY_FILE_NAME).encode()

    def _home_secret(self, name: str) -> str:
        path = self.ensure_home() / name
        if path.exists():
            return path.read_text().strip()
        key = secrets.token_urlsafe(48)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process wrote it first: use theirs
            return path.read_text().strip()
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests and the CLI's --home switch use it)."""
    get_settings.cache_clear()
