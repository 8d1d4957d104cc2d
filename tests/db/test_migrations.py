"""Alembic migrations on both databases, `ensure_schema`, `reset_schema` and `compare()`."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, inspect, text

from agentos.db import migrate
from agentos.services.runtime import Runtime
from agentos.services.schema_check import compare
from agentos.settings import Settings
from tests.support import services


@pytest.fixture(params=["embedded", "distributed"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The engine of a deployment whose database exists but has never been migrated."""
    if request.param == "embedded":
        runtime = Runtime(Settings(home=tmp_path / "fresh"))
        yield runtime.engine
        runtime.close()
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    name = f"agentos_fresh_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(services._libpq(admin_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    url = services.database_url(admin_url, name)
    runtime = Runtime(Settings(home=tmp_path / "fresh", database_url=url))
    yield runtime.engine
    runtime.close()
    services.drop_postgres_database(admin_url, name)


def test_migrated_database_matches_the_models(runtime: Runtime) -> None:
    engine = runtime.engine
    report = compare(engine)
    assert report.differences == []
    assert report.revision == migrate.head_revision()
    assert report.tables_checked >= 20


def test_fresh_database_migrates_to_head(fresh: Engine) -> None:
    engine = fresh
    assert migrate.current_revision(engine) is None
    report = compare(engine)
    programs = {"missing_trigger"} | (
        {"missing_function"} if engine.dialect.name == "postgresql" else set()
    )
    assert {d.kind for d in report.differences} == {"revision", "missing_table"} | programs

    migrate.ensure_schema(fresh)

    assert migrate.current_revision(engine) == migrate.head_revision()
    assert compare(engine).differences == []


def test_ensure_schema_is_idempotent_and_safe_concurrently(fresh: Engine) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate.ensure_schema(fresh)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    migrate.ensure_schema(fresh)
    engine = fresh
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert [row[0] for row in versions] == [migrate.head_revision()]
    assert compare(engine).differences == []


def test_reset_schema_drops_everything_and_migrates(runtime: Runtime) -> None:
    engine = runtime.engine
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE leftover (id INTEGER PRIMARY KEY)"))
        connection.execute(text("DROP INDEX ix_jobs_finished_at"))
    assert {d.kind for d in compare(engine).differences} == {"extra_table", "missing_index"}

    migrate.reset_schema(engine)

    assert "leftover" not in inspect(engine).get_table_names()
    assert compare(engine).differences == []
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_compare_names_each_kind_of_difference(runtime: Runtime) -> None:
    engine = runtime.engine
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_jobs_finished_at"))
        connection.execute(text("ALTER TABLE clips DROP COLUMN thumbnail_path"))
        connection.execute(text("CREATE INDEX ix_users_email ON users (email)"))
        connection.execute(text("ALTER TABLE users ADD COLUMN nickname VARCHAR(20)"))
        connection.execute(text("DROP TABLE upload_chunks"))
    found = {(d.kind, d.table, d.name) for d in compare(engine).differences}
    assert found == {
        ("missing_index", "jobs", "ix_jobs_finished_at"),
        ("missing_column", "clips", "thumbnail_path"),
        ("extra_index", "users", "ix_users_email"),
        ("extra_column", "users", "nickname"),
        ("missing_table", "upload_chunks", None),
    }


def test_compare_reports_a_database_behind_head(runtime: Runtime) -> None:
    engine = runtime.engine
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
    report = compare(engine)
    assert [d.kind for d in report.differences] == ["revision"]
    assert report.revision is None
