"""`agentos login` / `logout` and the stored session: used by later commands, renewed when
it expires (ahead of time and after a 401), refused cleanly when revoked, shared safely by
concurrent processes; and the one-time password flow."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from agentos.cli.main import app
from agentos.client.http import HttpBackend
from agentos.client.session import SessionStore
from agentos.db.models import RefreshToken, User
from agentos.errors import AgentOSError
from agentos.services.runtime import Runtime
from tests.cli.conftest import Remote
from tests.support.auth import TEST_PASSWORD, create_user_and_token

runner = CliRunner()


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def _login(server: Remote, username: str, password: str = TEST_PASSWORD) -> None:
    code, _out, err = _run(
        "login", "--server", server.url, "-u", username, "--password-stdin", stdin=password + "\n"
    )
    assert code == 0, err


def _entry(path: Path, server: Remote) -> dict[str, Any]:
    return dict(json.loads(path.read_text())["sessions"][server.url])


def _edit(path: Path, server: Remote, **changes: Any) -> None:
    body = json.loads(path.read_text())
    body["sessions"][server.url].update(changes)
    path.write_text(json.dumps(body))


def _past() -> str:
    return (datetime.now(UTC) - timedelta(minutes=1)).isoformat()


def _family_rows(runtime: Runtime, username: str) -> list[RefreshToken]:
    with runtime.session() as session:
        user_id = session.scalar(select(User.id).where(User.username == username))
        rows = session.scalars(select(RefreshToken).where(RefreshToken.user_id == user_id))
        return list(rows)


def test_login_stores_a_private_session_that_later_commands_use(
    live_server: Remote, session_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = _run(
        "login", "--server", live_server.url + "/", "-u", "root-admin", stdin=TEST_PASSWORD + "\n"
    )
    assert code == 0, err
    assert "logged in" in out
    assert TEST_PASSWORD not in out + err  # prompted without echo
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    assert TEST_PASSWORD not in session_file.read_text()
    entry = _entry(session_file, live_server)
    assert entry["username"] == "root-admin"
    assert entry["refresh_token"].startswith("rt_")
    assert entry["must_change_password"] is False

    code, out, err = _run("users", "list", "--server", live_server.url, "--json")
    assert code == 0, err
    assert "root-admin" in [user["username"] for user in json.loads(out)["data"]]
    monkeypatch.setenv("AGENTOS_SERVER", live_server.url)
    code, out, err = _run("config", "get", "ssot_cache_ttl_s", "--json")
    assert code == 0, err
    assert [item["name"] for item in json.loads(out)["effective"]] == ["ssot_cache_ttl_s"]

    code, out, _ = _run("logout")
    assert code == 0
    assert live_server.url in out
    assert json.loads(session_file.read_text())["sessions"] == {}
    code, _, err = _run("users", "list", "--server", live_server.url)
    assert code == 5
    assert "NOT_LOGGED_IN" in err
    assert f"agentos login --server {live_server.url}" in err


def test_a_wrong_password_stores_nothing(live_server: Remote, session_file: Path) -> None:
    code, _, err = _run(
        "login", "--server", live_server.url, "-u", "root-admin", "--password-stdin",
        stdin="not the password\n",
    )  # fmt: skip
    assert code == 5
    assert "INVALID_CREDENTIALS" in err
    assert not session_file.exists()


def test_an_expiring_access_token_is_renewed_and_the_rotated_refresh_token_saved(
    live_server: Remote, session_file: Path
) -> None:
    _login(live_server, "root-admin")
    before = _entry(session_file, live_server)
    _edit(session_file, live_server, access_expires_at=_past())

    code, _, err = _run("jobs", "list", "--server", live_server.url, "--json")
    assert code == 0, err
    after = _entry(session_file, live_server)
    assert after["refresh_token"] != before["refresh_token"]
    assert after["access_token"] != before["access_token"]
    assert datetime.fromisoformat(after["access_expires_at"]) > datetime.now(UTC)
    rows = _family_rows(live_server.runtime, "root-admin")
    assert len(rows) == 2
    assert sum(row.rotated_at is not None for row in rows) == 1
    assert all(row.revoked_at is None for row in rows)
    # The saved (new) refresh token is the live one: the next renewal works too.
    _edit(session_file, live_server, access_expires_at=_past())
    assert _run("jobs", "list", "--server", live_server.url)[0] == 0


def test_a_401_saying_expired_renews_once_and_retries(
    live_server: Remote, session_file: Path
) -> None:
    _login(live_server, "root-admin")
    entry = _entry(session_file, live_server)
    settings = live_server.runtime.settings
    claims = jwt.decode(entry["access_token"], options={"verify_signature": False})
    now = datetime.now(UTC)
    claims.update(iat=now - timedelta(hours=1), nbf=now - timedelta(hours=1))
    claims["exp"] = now - timedelta(minutes=5)
    expired = jwt.encode(claims, settings.signing_key(), algorithm=settings.jwt_algorithm)
    # This machine believes the token is still good: only the server's 401 says otherwise.
    _edit(session_file, live_server, access_token=expired)

    code, _, err = _run("config", "get", "--server", live_server.url, "--json")
    assert code == 0, err
    after = _entry(session_file, live_server)
    assert after["access_token"] not in (expired, entry["access_token"])
    assert after["refresh_token"] != entry["refresh_token"]


def test_a_revoked_session_is_one_line_and_exit_5(live_server: Remote, session_file: Path) -> None:
    create_user_and_token(live_server.runtime, role="operator", username="alice")
    _login(live_server, "alice")
    code, _, err = _run("users", "revoke-tokens", "alice", *live_server.admin_options())
    assert code == 0, err

    for _ in range(2):  # the second time from the stored verdict, without asking the server
        code, out, err = _run("jobs", "list", "--server", live_server.url)
        assert code == 5
        assert out == ""
        assert len(err.strip().splitlines()) == 1
        assert "SESSION_EXPIRED" in err
        assert f"session for {live_server.url} expired or was revoked" in err
        assert f"agentos login --server {live_server.url}" in err
        assert "Traceback" not in err
    entry = _entry(session_file, live_server)
    assert entry["refused"] == "TOKEN_REVOKED"
    assert entry["refresh_token"] is None
    _login(live_server, "alice")  # a new login replaces the dead session
    assert _run("jobs", "list", "--server", live_server.url)[0] == 0


def test_a_reused_refresh_token_ends_the_session(live_server: Remote, session_file: Path) -> None:
    _login(live_server, "root-admin")
    stale = session_file.read_text()
    _edit(session_file, live_server, access_expires_at=_past())
    assert _run("jobs", "list", "--server", live_server.url)[0] == 0  # rotates
    session_file.write_text(stale)  # a copy holding the spent refresh token
    _edit(session_file, live_server, access_expires_at=_past())
    code, _, err = _run("jobs", "list", "--server", live_server.url)
    assert code == 5
    assert "SESSION_EXPIRED" in err
    assert _entry(session_file, live_server)["refused"] == "REFRESH_TOKEN_REUSED"


def test_concurrent_renewals_in_threads_do_not_burn_the_session(
    live_server: Remote, session_file: Path
) -> None:
    _login(live_server, "root-admin")
    _edit(session_file, live_server, access_expires_at=_past())
    errors: list[AgentOSError] = []
    start = threading.Barrier(4)

    def work() -> None:
        backend = HttpBackend(live_server.url, sessions=SessionStore(session_file))
        try:
            start.wait()
            backend.managers()
            backend.queue_status()
        except AgentOSError as error:
            errors.append(error)
        finally:
            backend.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    rows = _family_rows(live_server.runtime, "root-admin")
    assert len(rows) == 2  # one renewal for all four
    assert all(row.revoked_at is None for row in rows)
    assert _run("jobs", "list", "--server", live_server.url)[0] == 0


def test_concurrent_renewals_in_two_processes_do_not_burn_the_session(
    live_server: Remote, session_file: Path
) -> None:
    _login(live_server, "root-admin")
    _edit(session_file, live_server, access_expires_at=_past())
    env = {**os.environ, "AGENTOS_SESSION_FILE": str(session_file)}
    program = "from agentos.cli.main import run; run()"
    command = [sys.executable, "-c", program, "jobs", "list", "--server", live_server.url]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for process in processes:
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        assert b"Traceback" not in err
    rows = _family_rows(live_server.runtime, "root-admin")
    assert len(rows) == 2
    assert all(row.revoked_at is None for row in rows)


def test_one_time_password_must_be_changed_then_commands_work(
    live_server: Remote, session_file: Path
) -> None:
    code, out, err = _run(
        "users", "create", "carol", "--role", "operator", "--json", *live_server.admin_options()
    )
    assert code == 0, err
    one_time = json.loads(out)["one_time_password"]
    assert one_time

    code, out, err = _run(
        "login", "--server", live_server.url, "-u", "carol", "--password-stdin",
        stdin=one_time + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert f"agentos users passwd --server {live_server.url}" in err
    assert _entry(session_file, live_server)["must_change_password"] is True

    code, _, err = _run("jobs", "list", "--server", live_server.url)
    assert code == 5
    assert "PASSWORD_CHANGE_REQUIRED" in err

    new_password = "a much better password"
    code, out, err = _run(
        "users", "passwd", "--server", live_server.url, "--password-stdin",
        stdin=f"{one_time}\n{new_password}\n",
    )  # fmt: skip
    assert code == 0, err
    assert "password changed" in out
    entry = _entry(session_file, live_server)
    assert entry["must_change_password"] is False
    code, out, err = _run("jobs", "list", "--server", live_server.url, "--json")
    assert code == 0, err
    _login(live_server, "carol", new_password)  # and the new password logs in


def test_passwd_interactive_prompts_twice_without_echo(
    live_server: Remote, session_file: Path
) -> None:
    create_user_and_token(live_server.runtime, role="user", username="dave")
    _login(live_server, "dave")
    new_password = "another long password"
    code, out, err = _run(
        "users", "passwd", "--server", live_server.url,
        stdin=f"{TEST_PASSWORD}\n{new_password}\n{new_password}\n",
    )  # fmt: skip
    assert code == 0, err
    assert new_password not in out + err
    assert _run("jobs", "list", "--server", live_server.url)[0] == 0
    code, _, err = _run(
        "users", "passwd", "--server", live_server.url, "--password-stdin",
        stdin="wrong current\nyet another password\n",
    )  # fmt: skip
    assert code == 5
    assert "INVALID_CREDENTIALS" in err


def test_passwd_locally_is_remote_only(cli_settings: object) -> None:
    code, _, err = _run("users", "passwd", stdin="a\nb\n")
    assert code == 2
    assert "REMOTE_ONLY" in err
    assert "agentos users passwd --server URL" in err
