"""`agentos jobs list|show|watch`, locally on both deployments and with --server."""

from __future__ import annotations

import json
import shlex
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from agentos.cli import _backend as cli_backend
from agentos.cli import _output as output
from agentos.cli import jobs as jobs_cli
from agentos.client import Backend
from agentos.client.http import HttpBackend
from agentos.server.app import create_app
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.support.auth import auth_headers, create_user_and_token
from tests.support.jobs import make_actor, make_job

runner = CliRunner()


@pytest.fixture
def seeded(cli_settings: Settings, cli_runtime: Runtime) -> dict[str, uuid.UUID]:
    with cli_runtime.session() as session:
        ensure_default_agents(session)
        user = make_actor(session)
        return {
            "queued": make_job(session, user, title="waiting").id,
            "failed": make_job(session, user, "failed", stages=1, title="broken").id,
        }


def test_list_json_and_filter(seeded: dict[str, uuid.UUID]) -> None:
    result = runner.invoke(jobs_cli.app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert {job["id"] for job in body["data"]} == {str(v) for v in seeded.values()}
    failed = runner.invoke(jobs_cli.app, ["list", "--status", "failed", "--json"])
    assert [job["id"] for job in json.loads(failed.stdout)["data"]] == [str(seeded["failed"])]
    table = runner.invoke(jobs_cli.app, ["list"])
    assert "broken" in table.stdout
    assert "2 jobs" in table.stdout
    assert runner.invoke(jobs_cli.app, ["list", "--status", "asleep"]).exit_code == 2


def test_show_steps_and_errors(seeded: dict[str, uuid.UUID]) -> None:
    result = runner.invoke(jobs_cli.app, ["show", str(seeded["failed"]), "--json"])
    assert result.exit_code == 0, result.output
    detail = json.loads(result.stdout)
    assert [(s["agent"], s["status"]) for s in detail["steps"]] == [
        ("ingest", "completed"),
        ("probe", "failed"),
    ]
    text = runner.invoke(jobs_cli.app, ["show", str(seeded["failed"])])
    assert "boom" in text.stdout
    missing = runner.invoke(jobs_cli.app, ["show", str(uuid.uuid4())])
    assert missing.exit_code == 3
    assert "not found" in missing.stderr


def test_watch_redraws_until_interrupted(
    seeded: dict[str, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks: list[float] = []

    def fake_sleep(seconds: float) -> None:
        ticks.append(seconds)
        if len(ticks) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(jobs_cli.time, "sleep", fake_sleep)
    result = runner.invoke(jobs_cli.app, ["watch"])
    assert result.exit_code == 130
    assert ticks == [1.0, 1.0]
    assert "waiting" in result.stdout


@pytest.fixture
def remote(
    cli_settings: Settings, cli_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    _, token = create_user_and_token(cli_runtime, role="operator")
    http = TestClient(create_app(cli_runtime), headers=auth_headers(token))

    def connect(*, server: str | None = None, token: str | None = None, **_: object) -> Backend:
        assert server == "http://testserver"
        return HttpBackend(server, token, client=http)

    monkeypatch.setattr(cli_backend, "connect", connect)
    yield token
    http.close()


def test_server_mode(seeded: dict[str, uuid.UUID], remote: str) -> None:
    options = ["--server", "http://testserver", "--token", remote, "--json"]
    listed = runner.invoke(jobs_cli.app, ["list", *options])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["pagination"]["total"] == 2
    shown = runner.invoke(jobs_cli.app, ["show", str(seeded["queued"]), *options])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["status"] == "queued"
    missing = runner.invoke(jobs_cli.app, ["show", str(uuid.uuid4()), *options])
    assert missing.exit_code == 3


def test_show_takes_a_unique_prefix(seeded: dict[str, uuid.UUID]) -> None:
    wanted = str(seeded["failed"])
    local = runner.invoke(jobs_cli.app, ["show", wanted[:8], "--json"])
    assert local.exit_code == 0, local.output
    assert json.loads(local.stdout)["id"] == wanted
    assert runner.invoke(jobs_cli.app, ["show", "ffffffffff"]).exit_code == 3
    assert runner.invoke(jobs_cli.app, ["show", "xyz"]).exit_code == 2


def test_show_takes_a_unique_prefix_remotely(seeded: dict[str, uuid.UUID], remote: str) -> None:
    wanted = str(seeded["failed"])
    options = ["--server", "http://testserver", "--token", remote, "--json"]
    shown = runner.invoke(jobs_cli.app, ["show", wanted[:6], *options])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["id"] == wanted
    assert runner.invoke(jobs_cli.app, ["show", "ffffffffff", *options]).exit_code == 3
    assert runner.invoke(jobs_cli.app, ["show", "xyz", *options]).exit_code == 2


def test_ids_are_full_when_piped_and_short_unique_prefixes_on_a_terminal(
    seeded: dict[str, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    piped = runner.invoke(jobs_cli.app, ["list"])
    for job_id in seeded.values():
        assert str(job_id) in piped.stdout
    monkeypatch.setattr(output.console, "_force_terminal", True)
    shown = output.short_ids(["be1ce8cf-0000-4000-8000-000000000000",
                              "be1ce8cf-1111-4000-8000-000000000000",
                              "0badcafe-2222-4000-8000-000000000000"])  # fmt: skip
    assert list(shown.values()) == ["be1ce8cf-0", "be1ce8cf-1", "0badcafe"]
    on_terminal = runner.invoke(jobs_cli.app, ["list"], env={"COLUMNS": "80"})
    for job_id in seeded.values():
        assert str(job_id)[:8] in on_terminal.stdout
        assert str(job_id) not in on_terminal.stdout


def test_empty_list_suggests_submitting_not_resetting(cli_settings: Settings) -> None:
    empty = runner.invoke(jobs_cli.app, ["list"])
    assert empty.exit_code == 0
    assert "no jobs yet: `agentos jobs submit FILE`" in empty.stdout
    assert "reset-and-seed" not in empty.stdout
    filtered = runner.invoke(jobs_cli.app, ["list", "--status", "failed"])
    assert "no jobs match" in filtered.stdout


def _walk(options: list[str]) -> list[str]:
    """The ids of every page of one job each, read by following pagination.next_cursor."""
    ids: list[str] = []
    cursor: list[str] = []
    while True:
        page = runner.invoke(jobs_cli.app, ["list", "--per-page", "1", *cursor, *options])
        assert page.exit_code == 0, page.output
        body = json.loads(page.stdout)
        ids += [job["id"] for job in body["data"]]
        if body["pagination"]["next_cursor"] is None:
            return ids
        cursor = ["--cursor", body["pagination"]["next_cursor"]]


def test_list_walks_pages_by_cursor(seeded: dict[str, uuid.UUID]) -> None:
    """Issue 19: `--cursor` (the `next:` line, or pagination.next_cursor) reads the next page
    without an OFFSET; a cursor from elsewhere exits 2 (BAD_CURSOR)."""
    local = _walk(["--json"])
    assert sorted(local) == sorted(str(value) for value in seeded.values())
    first = runner.invoke(jobs_cli.app, ["list", "--per-page", "1"])
    (hint,) = [line for line in first.stdout.splitlines() if line.startswith("next: ")]
    command = shlex.split(hint.removeprefix("next: "))
    assert command[:3] == ["agentos", "jobs", "list"]
    second = runner.invoke(jobs_cli.app, [*command[2:], "--json"])
    assert [job["id"] for job in json.loads(second.stdout)["data"]] == local[1:2]
    refused = runner.invoke(jobs_cli.app, ["list", "--cursor", "not-a-cursor"])
    assert refused.exit_code == 2, refused.output


def test_list_walks_pages_by_cursor_remotely(seeded: dict[str, uuid.UUID], remote: str) -> None:
    server = ["--server", "http://testserver", "--token", remote]
    walked = _walk([*server, "--json"])
    assert sorted(walked) == sorted(str(value) for value in seeded.values())
    refused = runner.invoke(jobs_cli.app, ["list", "--cursor", "not-a-cursor", *server])
    assert refused.exit_code == 2, refused.output
