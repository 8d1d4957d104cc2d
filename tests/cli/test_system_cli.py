"""`agentos backup ...` and `agentos maintenance ...` on both deployments."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentos.cli.main import app
from agentos.services import maintenance
from agentos.services.runtime import Runtime
from agentos.settings import Settings

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_backup_create_list_verify_restore_delete(
    cli_settings: Settings, cli_runtime: Runtime
) -> None:
    code, out, _ = _run("backup", "list")
    assert code == 0
    assert "no backups yet" in out

    code, out, err = _run("backup", "create", "--label", "nightly", "--json")
    assert code == 0, err
    taken = json.loads(out)
    assert Path(taken["path"]).is_file()
    assert taken["label"] == "nightly"

    code, out, _ = _run("backup", "list", "--json")
    assert [item["id"] for item in json.loads(out)["backups"]] == [taken["id"]]
    code, out, _ = _run("backup", "list")
    assert taken["id"] in out

    code, out, _ = _run("backup", "verify", taken["id"])
    assert code == 0
    assert "checksum matches" in out

    code, _, err = _run("backup", "restore", taken["id"])  # no tty, no --yes
    assert code == 2
    assert "pass --yes" in err
    code, out, _ = _run("backup", "restore", taken["id"], "--dry-run")
    assert code == 0
    assert "Nothing was changed" in out
    code, out, err = _run("backup", "restore", taken["id"], "--yes", "--json")
    assert code == 0, err
    assert Path(json.loads(out)["audit_export_path"]).is_file()

    code, out, _ = _run("backup", "delete", taken["id"], "--yes")
    assert code == 0
    assert "deleted" in out
    assert not Path(taken["path"]).exists()


def test_verify_of_a_corrupted_backup_exits_non_zero(cli_settings: Settings) -> None:
    code, out, _ = _run("backup", "create", "--json")
    taken = json.loads(out)
    Path(taken["path"]).write_bytes(b"not a backup")
    code, _, err = _run("backup", "verify", taken["id"])
    assert code == 2
    assert "checksum" in err
    code, _, err = _run("backup", "restore", taken["id"], "--yes")
    assert code == 2
    assert "BACKUP_CORRUPT" in err


def test_unknown_backup_is_one_line_and_exit_3(cli_settings: Settings) -> None:
    code, _, err = _run("backup", "verify", "3f2b7a8e-0000-4000-8000-000000000000")
    assert code == 3
    assert "BACKUP_NOT_FOUND" in err
    code, _, err = _run("backup", "verify", "not-an-id")
    assert code == 2
    assert "Traceback" not in err


def test_maintenance_on_status_off(cli_settings: Settings, cli_runtime: Runtime) -> None:
    code, out, _ = _run("maintenance", "on", "upgrading the database", "--retry-after", "120")
    assert code == 0
    assert "upgrading the database" in out
    with cli_runtime.session() as session:
        state = maintenance.read(session)
    assert state.enabled is True
    assert state.retry_after_s == 120

    code, out, _ = _run("maintenance", "status", "--json")
    assert code == 0
    assert json.loads(out)["message"] == "upgrading the database"

    code, out, _ = _run("maintenance", "off")
    assert code == 0
    assert "off" in out
    with cli_runtime.session() as session:
        assert maintenance.read(session).enabled is False
