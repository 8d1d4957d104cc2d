"""Test databases and Redis prefixes: created per test, removed afterwards."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import redis
from sqlalchemy.engine import make_url

from agentos.db.session import build_engine
from agentos.settings import REDIS_DB_BY_ROLE, Settings

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def postgres_admin_url() -> str:
    return os.environ.get("AGENTOS_TEST_POSTGRES_URL", DEFAULT_POSTGRES)


def redis_url() -> str:
    return os.environ.get("AGENTOS_TEST_REDIS_URL", DEFAULT_REDIS)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def postgres_unreachable(url: str) -> str | None:
    try:
        with psycopg.connect(_libpq(url), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except Exception as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def redis_unreachable(url: str) -> str | None:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        return str(exc) or type(exc).__name__
    return None


def _admin_execute(admin_url: str, sql: str) -> None:
    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def drop_postgres_database(admin_url: str, name: str) -> None:
    _admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clone_postgres_database(admin_url: str, *, template: str, name: str) -> None:
    _admin_execute(admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def _migrate(url: str) -> None:
    from agentos.db.migrate import upgrade_to_head

    engine = build_engine(url)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()


def create_postgres_template(admin_url: str) -> str:
    name = f"agentos_tmpl_{uuid.uuid4().hex[:12]}"
    _admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    _migrate(database_url(admin_url, name))
    return name


def create_sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


def flush_redis_prefix(settings: Settings) -> None:
    for role in REDIS_DB_BY_ROLE:
        client = redis.Redis.from_url(settings.redis_url_for(role))  # type: ignore[arg-type]
        try:
            keys = list(client.scan_iter(match=f"{settings.redis_key_prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
