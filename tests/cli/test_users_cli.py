"""`agentos users create|list` and `agentos token` against both deployments."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from agentos.cli.main import app
from agentos.db.models import SystemEvent
from agentos.services.runtime import Runtime
from agentos.services.security import authn
from agentos.services.security.tokens import decode_access_token
from agentos.settings import Settings

runner = CliRunner()


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_create_prints_one_time_password_that_logs_in(
    cli_settings: Settings, cli_runtime: Runtime
) -> None:
    code, out, _ = _run("users", "create", "alice", "--role", "operator")
    assert code == 0
    assert "alice" in out
    one_time = out.strip().splitlines()[-1]
    assert len(one_time) >= 20
    with cli_runtime.session() as session:
        pair = authn.login(session, username="alice", password=one_time, ip="127.0.0.1")
    assert decode_access_token(cli_settings, pair.access_token).role == "operator"


def test_create_with_password_stdin_json(cli_settings: Settings, cli_runtime: Runtime) -> None:
    code, out, _ = _run(
        "users",
        "create",
        "bob",
        "--role",
        "user",
        "--password-stdin",
        "--email",
        "b@x.io",
        "--json",
        stdin="s3cret-enough\n",
    )
    assert code == 0
    body = json.loads(out)
    assert body["one_time_password"] is None
    assert (body["user"]["username"], body["user"]["email"]) == ("bob", "b@x.io")
    with cli_runtime.session() as session:
        authn.login(session, username="bob", password="s3cret-enough", ip="127.0.0.1")


@pytest.mark.parametrize(
    ("args", "exit_code", "code"),
    [
        (["users", "create", "carl", "--role", "root"], 2, "VALIDATION_ERROR"),
        (["users", "create", "dup", "--role", "user"], 4, "USER_EXISTS"),
        (["token", "nobody"], 3, "USER_NOT_FOUND"),
        # Account administration works remotely (the Managers actions): it needs a login.
        (["users", "list", "--server", "http://127.0.0.1:9"], 5, "NOT_LOGGED_IN"),
        (["token", "nobody", "--server", "http://127.0.0.1:9"], 2, "LOCAL_ONLY"),
    ],
)
def test_errors_exit_with_their_code(
    cli_settings: Settings, args: list[str], exit_code: int, code: str
) -> None:
    assert _run("users", "create", "dup", "--role", "user")[0] == 0
    status, _, err = _run(*args)
    assert status == exit_code
    assert code in err
    assert "Traceback" not in err


def test_password_stdin_refuses_empty_input(cli_settings: Settings) -> None:
    status, _, err = _run("users", "create", "eve", "--role", "user", "--password-stdin", stdin="")
    assert status == 2
    assert "stdin" in err


def test_list_human_and_json(cli_settings: Settings) -> None:
    for name, role in (("zed", "readonly"), ("amy", "admin")):
        assert _run("users", "create", name, "--role", role)[0] == 0
    code, out, _ = _run("users", "list", "--json")
    assert code == 0
    body = json.loads(out)
    assert [(user["username"], user["role"]) for user in body["data"]] == [
        ("amy", "admin"),
        ("zed", "readonly"),
    ]
    assert body["pagination"]["total"] == 2
    code, out, _ = _run("users", "list")
    assert code == 0
    assert "amy" in out
    assert "readonly" in out


def test_token_prints_a_working_token_and_records_it(
    cli_settings: Settings, cli_runtime: Runtime
) -> None:
    assert _run("users", "create", "scripter", "--role", "supervisor")[0] == 0
    code, out, _ = _run("token", "scripter", "--ttl", "120")
    assert code == 0
    token = out.strip()
    claims = decode_access_token(cli_settings, token)
    assert (claims.name, claims.role) == ("scripter", "supervisor")
    assert (claims.exp - claims.iat).total_seconds() == 120
    with cli_runtime.session() as session:
        assert authn.authenticate(session, token).name == "scripter"
        events = session.scalars(
            select(SystemEvent).where(SystemEvent.kind == "token_minted")
        ).all()
    assert len(events) == 1
    assert events[0].source == "security"
    assert "scripter" in events[0].message
