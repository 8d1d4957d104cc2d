"""`agentos logs search|tail|export`, locally and against a live server, on both deployments."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentos.cli import logs as logs_cli
from agentos.cli.main import app
from agentos.db.models import LogRecord
from agentos.services.runtime import Runtime
from tests.cli.conftest import Remote
from tests.support.jobs import make_actor, make_job

runner = CliRunner()
JOB = uuid.uuid4()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _write(runtime: Runtime, *records: dict[str, Any]) -> None:
    with runtime.session() as session:
        for fields in records:
            session.add(LogRecord(**{"logger": "agentos.test", "source": "worker@h:1", **fields}))


def _at(seconds_ago: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds_ago)


@pytest.fixture
def logged(cli_runtime: Runtime) -> Runtime:
    """Six records an hour apart, newest first: one trace, one job, every level."""
    _write(
        cli_runtime,
        {"created_at": _at(60), "level": "ERROR", "message": "upload failed [disk]",
         "trace_id": "trace-one", "job_id": JOB},
        {"created_at": _at(3600), "level": "INFO", "message": "job created", "trace_id": "trace-one",
         "source": "server@h:2", "logger": "agentos.jobs"},
        {"created_at": _at(7200), "level": "WARNING", "message": "slow scene detection"},
        {"created_at": _at(10800), "level": "DEBUG", "message": "probe done", "job_id": JOB},
        {"created_at": _at(14400), "level": "CRITICAL", "message": "disk full"},
        {"created_at": _at(18000), "level": "INFO", "message": "worker ready"},
    )  # fmt: skip
    return cli_runtime


def _messages(out: str) -> list[str]:
    return [record["message"] for record in json.loads(out)["records"]]


def test_search_filters_by_trace_id(logged: Runtime) -> None:
    code, out, err = _run("logs", "search", "--trace-id", "trace-one", "--json")
    assert code == 0, err
    assert _messages(out) == ["upload failed [disk]", "job created"]
    code, out, _ = _run("logs", "search", "--trace-id", "trace-one")
    assert code == 0
    assert "[disk]" in out  # a message's brackets are text, not markup
    assert "2 record(s)" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--level", "warning"], ["upload failed [disk]", "slow scene detection", "disk full"]),
        (["--text", "DISK"], ["upload failed [disk]", "disk full"]),
        (["--source", "server"], ["job created"]),
        (["--job", str(JOB)], ["upload failed [disk]", "probe done"]),
        (["--since", "2h", "--until", "30m"], ["job created"]),
        (["--level", "info", "--since", "90m"], ["upload failed [disk]", "job created"]),
    ],
)
def test_search_filters(logged: Runtime, args: list[str], expected: list[str]) -> None:
    code, out, err = _run("logs", "search", *args, "--json")
    assert code == 0, err
    assert _messages(out) == expected


def test_search_pages_with_cursor_and_all(logged: Runtime) -> None:
    code, out, _ = _run("logs", "search", "--limit", "4", "--json")
    first = json.loads(out)
    assert len(first["records"]) == 4
    assert first["next_cursor"]
    code, out, _ = _run(
        "logs", "search", "--limit", "4", "--cursor", first["next_cursor"], "--json"
    )
    rest = json.loads(out)
    assert _messages(out) == ["disk full", "worker ready"]
    assert rest["next_cursor"] is None

    code, out, err = _run("logs", "search", "--limit", "2", "--all", "--jsonl")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 6
    assert len({line["id"] for line in lines}) == 6

    code, out, _ = _run("logs", "search", "--limit", "4")
    assert "--cursor" in out  # the table says how to go on


def test_search_nothing_matches(logged: Runtime) -> None:
    code, out, _ = _run("logs", "search", "--trace-id", "no-such-trace")
    assert code == 0
    assert "no log records match" in out


@pytest.mark.parametrize(
    ("args", "code_name"),
    [
        (["--since", "yesterday-ish"], "INVALID_TIME"),
        (["--until", "2024-13-45"], "INVALID_TIME"),
        (["--since", "1h", "--until", "2h"], "INVALID_TIME"),
        (["--level", "loud"], "VALIDATION_ERROR"),
        (["--job", "not-a-uuid"], "INVALID_ID"),  # an id, or a unique prefix of one
        (["--cursor", "garbage"], "BAD_CURSOR"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    cli_runtime: Runtime, args: list[str], code_name: str
) -> None:
    code, out, err = _run("logs", "search", *args)
    assert code == 2
    assert code_name in err
    assert err.strip().count("\n") == 0
    assert "Traceback" not in err + out


def test_export_writes_the_file_with_its_count(logged: Runtime) -> None:
    code, out, err = _run("logs", "export", "--since", "3h", "--json")
    assert code == 0, err
    done = json.loads(out)
    assert done["count"] == 3
    lines = Path(done["path"]).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["message"] for line in lines] == [
        "slow scene detection",
        "job created",
        "upload failed [disk]",
    ]  # oldest first

    code, out, err = _run("logs", "export", "--format", "CSV", "--level", "error")
    assert code == 0, err
    assert "2 log record(s) written to" in out
    path = Path(out.split(" written to ")[1].split(" (")[0])
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["message"] for row in rows] == ["disk full", "upload failed [disk]"]


def test_export_refuses_an_unknown_format(cli_runtime: Runtime) -> None:
    code, _, err = _run("logs", "export", "--format", "xml")
    assert code == 2
    assert "VALIDATION_ERROR" in err
    assert err.strip().count("\n") == 0


# --- tail -------------------------------------------------------------------------------------


def _clock(steps: list[Callable[[], None]]) -> Callable[[float], None]:
    """Stands in for the pause between polls: each pause runs the next step, then Ctrl-C."""
    pending: Iterator[Callable[[], None]] = iter(steps)

    def pause(_seconds: float) -> None:
        step = next(pending, None)
        if step is None:
            raise KeyboardInterrupt
        step()

    return pause


def test_tail_prints_the_last_lines_then_new_records_until_ctrl_c(
    logged: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    late = uuid.uuid4()
    steps = [
        lambda: _write(logged, {"level": "ERROR", "message": "fresh failure", "trace_id": "t2"}),
        # Written a moment in the past but stored only now (a writer flush late): not lost.
        lambda: _write(logged, {"id": late, "created_at": _at(1), "level": "INFO",
                                "message": "late arrival"}),
        lambda: None,  # nothing new: nothing printed twice
    ]  # fmt: skip
    monkeypatch.setattr(logs_cli, "pause", _clock(steps))
    code, out, err = _run("logs", "tail", "-n", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 4
    assert "job created" in lines[0]
    assert "upload failed [disk]" in lines[1]  # oldest first, like tail
    assert "ERROR" in lines[2]
    assert "fresh failure" in lines[2]
    assert "trace t2" in lines[2]
    assert "late arrival" in lines[3]


def test_tail_json_is_jsonl_with_the_filters(
    logged: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = [
        lambda: _write(
            logged,
            {"level": "INFO", "message": "other trace", "trace_id": "trace-two"},
            {"level": "INFO", "message": "same trace", "trace_id": "trace-one"},
        )
    ]
    monkeypatch.setattr(logs_cli, "pause", _clock(steps))
    code, out, err = _run("logs", "tail", "--trace-id", "trace-one", "--json", "-n", "1")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [record["message"] for record in records] == ["upload failed [disk]", "same trace"]
    assert {record["trace_id"] for record in records} == {"trace-one"}


def test_tail_with_no_earlier_lines_shows_only_new_ones(
    logged: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = [lambda: _write(logged, {"level": "INFO", "message": "brand new"})]
    monkeypatch.setattr(logs_cli, "pause", _clock(steps))
    code, out, _ = _run("logs", "tail", "-n", "0")
    assert code == 0
    assert [line.split(": ", 1)[1] for line in out.splitlines()] == ["brand new"]


def test_tail_bad_since_is_one_line(cli_runtime: Runtime) -> None:
    code, _, err = _run("logs", "tail", "--since", "soon")
    assert code == 2
    assert "INVALID_TIME" in err
    assert err.strip().count("\n") == 0


# --- remote ------------------------------------------------------------------------------------


def test_remote_search_tail_and_export(
    live_server: Remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(
        live_server.runtime,
        {"created_at": _at(30), "level": "ERROR", "message": "remote failure", "trace_id": "rt-1"},
        {"created_at": _at(20), "level": "INFO", "message": "unrelated"},
    )
    remote = live_server.admin_options()
    code, out, err = _run("logs", "search", "--trace-id", "rt-1", "--json", *remote)
    assert code == 0, err
    assert _messages(out) == ["remote failure"]

    steps = [lambda: _write(live_server.runtime, {"level": "ERROR", "message": "remote new"})]
    monkeypatch.setattr(logs_cli, "pause", _clock(steps))
    code, out, err = _run("logs", "tail", "--level", "error", "-n", "5", *remote)
    assert code == 0, err
    assert "remote failure" in out
    assert "remote new" in out
    assert "unrelated" not in out

    code, out, err = _run("logs", "export", "--trace-id", "rt-1", *remote)
    assert code == 0, err
    assert "1 log record(s) written to" in out
    assert "on the server's host" in out

    code, _, err = _run("logs", "search", "--server", live_server.url, "--token", "bad")
    assert code == 5
    assert err.strip().count("\n") == 0


def test_job_takes_a_short_id(cli_runtime: Runtime) -> None:
    """`--job` takes the 8-character id the TUI and `jobs list` show."""
    with cli_runtime.session() as session:
        job = make_job(session, make_actor(session))
    code, _, err = _run("logs", "search", "--job", str(job.id)[:8], "--json")
    assert code == 0, err
    code, _, err = _run("logs", "search", "--job", "ffffffff")
    assert code == 3
    assert "JOB_NOT_FOUND" in err
