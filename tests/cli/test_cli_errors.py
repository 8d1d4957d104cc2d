"""How the CLI fails: JSON on stdout under --json (same exit code), one unwrapped line on
stderr otherwise, usage errors included, and a rate limit says when to retry."""

from __future__ import annotations

import json
import uuid

import pytest
import typer
from typer.testing import CliRunner

from agentos import errors
from agentos.cli._options import JsonOption
from agentos.cli._output import handle_errors
from agentos.cli.main import app
from agentos.settings import Settings

runner = CliRunner()


def _failing(error: Exception) -> typer.Typer:
    sample = typer.Typer()

    @sample.command()
    @handle_errors
    def fail(as_json: JsonOption = False) -> None:
        raise error

    return sample


def test_json_errors_are_the_error_document_on_stdout() -> None:
    error = errors.NotFoundError("no job like that", code="JOB_NOT_FOUND", details={"id": "x"})
    result = runner.invoke(_failing(error), ["--json"])
    assert result.exit_code == 3
    body = json.loads(result.stdout)
    assert body["success"] is False
    assert body["error_code"] == "JOB_NOT_FOUND"
    assert body["error"] == "no job like that"
    assert body["exit_code"] == 3
    assert body["details"] == {"id": "x"}
    assert result.stderr == ""


def test_a_rate_limit_says_when_to_retry() -> None:
    error = errors.RateLimitedError("too many job.cancel", retry_after_s=12.2)
    text = runner.invoke(_failing(error), [])
    assert text.exit_code == 6
    assert "retry in 12 s (at " in text.stderr
    as_json = runner.invoke(_failing(error), ["--json"])
    assert as_json.exit_code == 6
    body = json.loads(as_json.stdout)
    assert body["details"]["retry_after_s"] == 12.2
    assert "retry in 12 s" in body["error"]


def test_errors_are_one_line_whatever_their_length() -> None:
    message = "the database is unavailable: " + "connection refused, " * 20
    result = runner.invoke(_failing(errors.UnavailableError(message)), [])
    assert result.exit_code == 7
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: the database is unavailable")


def test_messages_are_not_read_as_markup() -> None:
    result = runner.invoke(_failing(errors.InvalidError("bad value [bold]x[/bold]")), [])
    assert "[bold]x[/bold]" in result.stderr


def test_usage_errors_are_plain_lines_or_json() -> None:
    plain = runner.invoke(app, ["jobs", "list", "--status", "asleep"])
    assert plain.exit_code == 2
    assert plain.stderr.startswith("error: Invalid value for '--status'")
    assert len(plain.stderr.strip().splitlines()) == 1
    assert "╭" not in plain.stderr
    as_json = runner.invoke(app, ["jobs", "list", "--bogus", "--json"])
    assert as_json.exit_code == 2
    body = json.loads(as_json.stdout)
    assert body["error_code"] == "USAGE_ERROR"
    assert "--bogus" in body["error"]


@pytest.mark.usefixtures("cli_settings")
def test_a_core_error_under_json_keeps_its_exit_code(settings: Settings) -> None:
    missing = runner.invoke(app, ["jobs", "show", str(uuid.uuid4()), "--json"])
    assert missing.exit_code == 3
    body = json.loads(missing.stdout)
    assert body["error_code"] == "JOB_NOT_FOUND"
    unknown = runner.invoke(app, ["action", "no.such", "--json"])
    assert unknown.exit_code == 2
    assert json.loads(unknown.stdout)["success"] is False
