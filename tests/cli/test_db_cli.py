"""`agentos db migrate|check|reset-and-seed` against both deployments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from agentos.cli.main import app
from agentos.db.models import Agent, Job, User
from agentos.services.runtime import Runtime
from agentos.settings import Settings, reset_settings_cache

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_migrate_and_check_on_a_migrated_database(cli_settings: Settings) -> None:
    code, out, _ = _run("db", "migrate")
    assert code == 0
    assert "already at head" in out
    code, out, _ = _run("db", "check")
    assert code == 0
    assert "schema matches the models" in out


def test_check_names_a_dropped_index_and_column(cli_runtime: Runtime) -> None:
    with cli_runtime.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_jobs_status_updated_at"))
        connection.execute(text("ALTER TABLE clips DROP COLUMN codec"))

    code, out, _ = _run("db", "check")
    assert code == 1
    assert "missing_index jobs.ix_jobs_status_updated_at" in out
    assert "missing_column clips.codec" in out

    code, out, _ = _run("db", "check", "--json")
    assert code == 1
    found = {(d["kind"], d["table"], d["name"]) for d in json.loads(out)["differences"]}
    assert found == {
        ("missing_index", "jobs", "ix_jobs_status_updated_at"),
        ("missing_column", "clips", "codec"),
    }


def test_check_names_dropped_audit_triggers_and_a_disabled_one(cli_runtime: Runtime) -> None:
    """Dropping the audit log's append-only triggers is a difference (it used to pass)."""
    postgres = cli_runtime.engine.dialect.name == "postgresql"
    dropped = (
        ["audit_log_no_update_delete", "audit_log_no_truncate"]
        if postgres
        else ["audit_log_no_update", "audit_log_no_delete"]
    )
    with cli_runtime.engine.begin() as connection:
        for name in dropped:
            connection.execute(text(f"DROP TRIGGER {name}" + (" ON audit_log" if postgres else "")))
        if postgres:
            connection.execute(text("ALTER TABLE jobs DISABLE TRIGGER job_rollup_insert"))
            connection.execute(text("DROP FUNCTION audit_log_append_only()"))

    code, out, _ = _run("db", "check", "--json")
    assert code == 1
    found = {(d["kind"], d["name"]) for d in json.loads(out)["differences"]}
    expected = {("missing_trigger", name) for name in dropped}
    if postgres:
        expected |= {
            ("disabled_trigger", "job_rollup_insert"),
            ("missing_function", "audit_log_append_only"),
        }
    assert found == expected


def test_reset_and_seed_json_verifies_and_prints_the_password(
    cli_settings: Settings, cli_runtime: Runtime
) -> None:
    # The cache is shared with the CLI's own runtime only on Redis (embedded, it is per process).
    shared = not cli_settings.is_embedded
    if shared:
        cli_runtime.backends.cache.set(cli_settings.ssot_cache_key, b"stale")
    code, out, _ = _run(
        "db", "reset-and-seed", "--jobs", "12", "--events", "9", "--seed", "4", "--json"
    )
    assert code == 0, out
    body = json.loads(out)
    assert body["verified"] is True
    assert body["problems"] == []
    assert body["random_seed"] == 4
    assert sum(body["jobs_by_status"].values()) == 12
    assert len(body["admin_password"]) >= 20
    if shared:
        assert cli_runtime.backends.cache.get(cli_settings.ssot_cache_key) is None
    with cli_runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 12
        assert session.scalar(select(User.role).where(User.username == "admin")) == "admin"


def test_reset_and_seed_refuses_a_non_empty_database_without_yes(
    cli_settings: Settings, cli_runtime: Runtime
) -> None:
    code, out, _ = _run("db", "reset-and-seed", "--jobs", "3", "--events", "1", "--yes")
    assert code == 0, out
    assert "one-time password" in out
    assert "verified" in out

    code, out, err = _run("db", "reset-and-seed", "--jobs", "5")
    assert code == 4
    assert "not empty" in err
    assert "--yes" in err
    assert len(err.strip().splitlines()) == 1
    with cli_runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 3


def test_db_commands_are_local_only(cli_settings: Settings) -> None:
    for command in (["check"], ["migrate"], ["reset-and-seed", "--yes"]):
        code, _, err = _run("db", *command, "--server", "http://127.0.0.1:9")
        assert code == 2
        assert "works only locally" in err
        assert "Traceback" not in err


def test_migrate_gives_a_fresh_home_its_agents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migrated but unseeded home shows its six agents (not `agents 0/0`)."""
    monkeypatch.setenv("AGENTOS_HOME", str(tmp_path / "fresh-home"))
    monkeypatch.setenv("AGENTOS_SERVER", "http://127.0.0.1:9")  # set for remote work: ignored
    reset_settings_cache()
    code, out, err = _run("db", "migrate")
    assert code == 0, err
    assert "migrated from empty" in out
    assert "created 6 pipeline agent(s)" in out
    code, out, _ = _run("db", "migrate", "--json")
    assert code == 0
    assert json.loads(out)["agents_created"] == 0
    runtime = Runtime(Settings(home=tmp_path / "fresh-home"))
    try:
        with runtime.session() as session:
            assert session.scalar(select(func.count()).select_from(Agent)) == 6
    finally:
        runtime.close()
