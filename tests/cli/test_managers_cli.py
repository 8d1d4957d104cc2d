"""`agentos users disable|enable|set-role|unlock|revoke-tokens|list` and `agentos apikeys
create|list|revoke`, locally and with --server, each command's effect checked where it
shows: logins, tokens, API keys on a real server, and the audit trail."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from agentos.cli.main import app
from agentos.errors import UnauthenticatedError
from agentos.services.runtime import Runtime
from agentos.services.security import authn, lockout
from agentos.settings import Settings
from tests.cli.conftest import Remote
from tests.services.actions.helpers import audit_rows
from tests.support.auth import TEST_PASSWORD, create_user_and_token

runner = CliRunner()


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def _ok(*args: str) -> str:
    code, out, err = _run(*args)
    assert code == 0, err
    return out


def _logs_in(runtime: Runtime, username: str) -> bool:
    try:
        with runtime.session() as session:
            authn.login(session, username=username, password=TEST_PASSWORD, ip="10.9.9.9")
    except UnauthenticatedError:
        return False
    return True


def test_user_commands_locally_are_audited_actions(
    cli_settings: Settings, cli_runtime: Runtime
) -> None:
    user_id, _ = create_user_and_token(cli_runtime, role="user", username="erin")

    assert "disabled" in _ok("users", "disable", "erin")
    assert not _logs_in(cli_runtime, "erin")
    enabled = json.loads(_ok("users", "enable", str(user_id), "--json"))
    assert (enabled["username"], enabled["is_active"]) == ("erin", True)
    assert _logs_in(cli_runtime, "erin")

    changed = json.loads(_ok("users", "set-role", "ERIN", "supervisor", "--json"))
    assert changed["role"] == "supervisor"

    with cli_runtime.session() as session:
        for _ in range(cli_settings.lockout_attempts):
            lockout.record_failure(session, username="erin", ip=None)
    assert not _logs_in(cli_runtime, "erin")
    assert "unlocked" in _ok("users", "unlock", "erin")
    assert _logs_in(cli_runtime, "erin")

    revoked = json.loads(_ok("users", "revoke-tokens", "erin", "--json"))
    assert revoked["refresh_tokens"] >= 2  # the two logins above
    for action in ("user.disable", "user.enable", "user.set_role", "user.unlock"):
        [record] = audit_rows(cli_runtime, action)
        assert (record.outcome, record.source) == ("success", "cli")


def test_create_goes_through_the_audited_action(
    cli_settings: Settings, cli_runtime: Runtime
) -> None:
    created = json.loads(_ok("users", "create", "fay", "--role", "readonly", "--json"))
    assert created["user"]["must_change_password"] is True
    assert created["one_time_password"]
    [record] = audit_rows(cli_runtime, "user.create")
    assert record.outcome == "success"
    assert record.result is not None
    assert record.result["one_time_password"] == "[Filtered]"


@pytest.mark.parametrize(
    ("args", "exit_code", "code"),
    [
        (["users", "disable", "nobody"], 3, "USER_NOT_FOUND"),
        (["users", "set-role", "gus", "root"], 2, "VALIDATION_ERROR"),
        (["users", "enable", "3f2b7a8e-0000-4000-8000-000000000000"], 3, "USER_NOT_FOUND"),
        (["apikeys", "create", "nobody", "--name", "x"], 3, "USER_NOT_FOUND"),
        (["apikeys", "create", "gus", "--name", "x", "--scope", "Bad Scope"], 2, "VALIDATION"),
        (["apikeys", "revoke", "not-an-id"], 3, "API_KEY_NOT_FOUND"),
    ],
)
def test_errors_are_one_line_with_their_exit_code(
    cli_settings: Settings, cli_runtime: Runtime, args: list[str], exit_code: int, code: str
) -> None:
    create_user_and_token(cli_runtime, role="user", username="gus")
    status, _, err = _run(*args)
    assert status == exit_code
    assert code in err
    assert len(err.strip().splitlines()) == 1


def test_user_commands_remotely(live_server: Remote, session_file: Path) -> None:
    create_user_and_token(live_server.runtime, role="operator", username="hal")
    code, _, err = _run(
        "login", "--server", live_server.url, "-u", "hal", "--password-stdin",
        stdin=TEST_PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, err
    admin = live_server.admin_options()

    listed = json.loads(_ok("users", "list", "--per-page", "1", "--json", *admin))
    assert listed["pagination"]["total"] == 2
    assert [user["username"] for user in listed["data"]] == ["hal"]

    # A role change refuses hal's access token; the stored session renews into the new role.
    assert json.loads(_ok("users", "set-role", "hal", "readonly", "--json", *admin))["role"] == (
        "readonly"
    )
    _ok("jobs", "list", "--server", live_server.url)
    stored = json.loads(session_file.read_text())["sessions"][live_server.url]
    claims = jwt.decode(stored["access_token"], options={"verify_signature": False})
    assert claims["role"] == "readonly"

    _ok("users", "disable", "hal", *admin)
    code, _, err = _run("jobs", "list", "--server", live_server.url)
    assert code == 5
    assert "USER_DISABLED" in err or "SESSION_EXPIRED" in err
    _ok("users", "enable", "hal", *admin)
    for action in ("user.set_role", "user.disable", "user.enable"):
        [record] = audit_rows(live_server.runtime, action)
        assert (record.source, record.actor_name) == ("api", "root-admin")


def test_api_key_lifecycle(live_server: Remote) -> None:
    owner_id, _ = create_user_and_token(live_server.runtime, role="operator", username="ivy")
    code, out, err = _run(
        "apikeys",
        "create",
        "ivy",
        "--name",
        "ci-uploader",
        "--scope",
        "agent",
        "--expires-days",
        "30",
    )  # fmt: skip  (locally)
    assert code == 0, err
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("ak_")
    assert "shown this once" in err
    made = json.loads(
        _ok("apikeys", "create", str(owner_id), "--name", "second", "--json", *live_server.admin_options())
    )  # fmt: skip
    assert made["secret"].startswith("ak_")
    assert made["key"]["user_id"] == str(owner_id)

    # The key authenticates a request to the server.
    assert _run("jobs", "list", "--server", live_server.url, "--token", secret)[0] == 0

    listed_out = _ok("apikeys", "list", "--user", "ivy", "--json")
    listed = json.loads(listed_out)
    assert {key["name"] for key in listed} == {"ci-uploader", "second"}
    assert secret not in listed_out
    assert made["secret"] not in listed_out
    assert all("secret" not in key for key in listed)
    first = next(key for key in listed if key["name"] == "ci-uploader")
    assert first["scopes"] == ["agent"]
    assert first["expires_at"] is not None
    human = _ok("apikeys", "list", *live_server.admin_options())
    assert first["prefix"] in human
    assert "ci-uploader" in human
    assert "ivy" in human
    assert json.loads(_ok("apikeys", "list", "--user", "root-admin", "--json")) == []

    revoked = json.loads(
        _ok("apikeys", "revoke", first["prefix"], "--json", *live_server.admin_options())
    )
    assert (revoked["id"], revoked["revoked_at"] is not None) == (first["id"], True)
    code, _, err = _run("jobs", "list", "--server", live_server.url, "--token", secret)
    assert code == 5
    assert "Traceback" not in err
    assert "revoked" in _ok("apikeys", "list")
    assert "revoked" in _ok("apikeys", "revoke", made["key"]["id"])  # by id
    records = audit_rows(live_server.runtime, "apikey.revoke")
    assert [(r.source, r.outcome) for r in records] == [("api", "success"), ("cli", "success")]
