from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from agentos.settings import Settings, get_settings, reset_settings_cache


def test_defaults_are_the_embedded_deployment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AGENTOS_HOME", raising=False)
    settings = Settings()
    assert settings.home_dir == (tmp_path / ".agentos").resolve()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / '.agentos' / 'agentos.db'}"
    assert settings.is_embedded
    assert settings.is_sqlite
    assert settings.ssot_cache_key == "admin:dashboard:v4"
    assert settings.ssot_cache_ttl_s == 15


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOS_DATABASE_URL", "postgresql://u@127.0.0.1:5432/db")
    monkeypatch.setenv("AGENTOS_REDIS_URL", "redis://127.0.0.1:6379/0")
    reset_settings_cache()
    settings = get_settings()
    assert settings.resolved_database_url == "postgresql+psycopg://u@127.0.0.1:5432/db"
    assert not settings.is_embedded
    assert not settings.is_sqlite


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AGENTOS_SSOT_CACHE_TTL_S=42\n")
    assert Settings().ssot_cache_ttl_s == 42


def test_blank_urls_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOS_REDIS_URL", "  ")
    assert Settings().redis_url is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("database_url", "mysql://x/y"), ("redis_url", "http://x"), ("ssot_cache_ttl_s", 0)],
)
def test_invalid_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Settings(**{field: value})


def test_redis_roles_use_the_seed_layout() -> None:
    settings = Settings(redis_url="redis://127.0.0.1:6379/0")
    assert settings.redis_url_for("cache") == "redis://127.0.0.1:6379/0"
    assert settings.redis_url_for("idempotency") == "redis://127.0.0.1:6379/1"
    assert settings.redis_url_for("ratelimit") == "redis://127.0.0.1:6379/2"
    assert settings.redis_url_for("breaker") == "redis://127.0.0.1:6379/3"


def test_signing_key_is_generated_once_with_private_permissions(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    key = settings.signing_key()
    path = tmp_path / "home" / "secret_key"
    assert len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(home=tmp_path / "home").signing_key() == key


def test_configured_signing_key_wins(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", secret_key="configured-secret")
    assert settings.signing_key() == "configured-secret"
    assert not (tmp_path / "home" / "secret_key").exists()


def test_an_action_rate_limit_outside_a_policys_bounds_is_refused_at_load() -> None:
    # It used to load and then fail every action of its class with a 500.
    with pytest.raises(ValidationError):
        Settings(action_rate_limits={"standard": 1_000_000_000})
    with pytest.raises(ValidationError):
        Settings(action_rate_limits={"standard": 0})
    assert Settings(action_rate_limits={"standard": 1_000_000}).action_rate_limits == {
        "standard": 1_000_000
    }
