"""`agentos action`: local through the pipeline, and --server through the HTTP endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentos.cli.main import app
from agentos.services.actions import registry
from agentos.services.runtime import Runtime
from tests.services.actions.helpers import audit_rows, prepare
from tests.services.actions.servers import serve
from tests.support.auth import create_user_and_token
from tests.support.jobs import make_actor, make_job

runner = CliRunner()


@pytest.fixture
def local(cli_runtime: Runtime) -> Runtime:
    prepare(cli_runtime)
    return cli_runtime


def _queued(runtime: Runtime) -> str:
    with runtime.session() as session:
        return str(make_job(session, make_actor(session, "user"), "queued").id)


def test_list_json_is_one_object_per_action(local: Runtime) -> None:
    result = runner.invoke(app, ["action", "--list", "--json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert [item["name"] for item in items] == [spec.name for spec in registry.all_actions()]
    assert {"name", "view", "permission", "rate_class", "dangerous"} <= set(items[0])


def test_local_run_is_audited_as_the_local_operator(local: Runtime) -> None:
    job_id = _queued(local)
    result = runner.invoke(
        app, ["action", "job.set_priority", f"job_id={job_id}", "priority=7", "--json"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["result"]["priority"] == 7
    [record] = audit_rows(local, "job.set_priority")
    assert record.actor_name == local.settings.local_operator
    assert record.source == "cli"
    assert record.role == "admin"
    # The OS user is where the request came from (the source details), not a reason.
    assert record.reason is None
    assert record.user_agent
    assert record.user_agent.startswith("agentos-cli (")


def test_the_reason_is_what_the_operator_typed(local: Runtime) -> None:
    job_id = _queued(local)
    args = ["action", "job.cancel", job_id, "--reason", "stuck since 02:10", "--json"]
    assert runner.invoke(app, args).exit_code == 0
    [record] = audit_rows(local, "job.cancel")
    assert record.reason == "stuck since 02:10"


def test_dangerous_needs_yes_without_a_tty(local: Runtime) -> None:
    _queued(local)
    refused = runner.invoke(app, ["action", "queue.clear"])
    assert refused.exit_code == 2
    assert "--yes" in refused.output
    preview = runner.invoke(app, ["action", "queue.clear", "dry_run=true", "--json"])
    assert preview.exit_code == 0
    assert json.loads(preview.stdout)["result"]["count"] == 1
    done = runner.invoke(app, ["action", "queue.clear", "--yes", "--json"])
    assert done.exit_code == 0
    assert json.loads(done.stdout)["result"]["count"] == 1


def test_errors_map_to_exit_codes(local: Runtime) -> None:
    assert runner.invoke(app, ["action", "job.cancel", "job_id=nope"]).exit_code == 2
    missing = runner.invoke(
        app,
        ["action", "job.cancel", "--payload", '{"job_id": "00000000-0000-0000-0000-000000000000"}'],
    )
    assert missing.exit_code == 3
    assert runner.invoke(app, ["action", "no.such"]).exit_code == 2
    assert runner.invoke(app, ["action", "queue.pause", "--payload", "[1]"]).exit_code == 2


def test_idempotency_key_replays(local: Runtime) -> None:
    first = runner.invoke(app, ["action", "queue.pause", "--idempotency-key", "k", "--json"])
    again = runner.invoke(app, ["action", "queue.pause", "--idempotency-key", "k", "--json"])
    assert json.loads(again.stdout)["replayed"] is True
    assert json.loads(first.stdout)["audit_seq"] == json.loads(again.stdout)["audit_seq"]


@pytest.mark.slow
def test_server_mode_goes_through_http(local: Runtime, tmp_path: Path) -> None:
    _, token = create_user_and_token(local, role="operator")
    job_id = _queued(local)
    with serve(local.settings, tmp_path / "serve.log") as url:
        listed = runner.invoke(
            app, ["action", "--list", "--json", "--server", url, "--token", token]
        )
        assert listed.exit_code == 0, listed.output
        assert len(json.loads(listed.stdout)) == len(registry.all_actions())
        args = ["action", "job.cancel", f"job_id={job_id}", "--json", "--server", url]
        done = runner.invoke(app, [*args, "--token", token])
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout)["result"]["status"] == "cancelled"
        denied = runner.invoke(app, ["action", "audit.verify", "--server", url, "--token", "bad"])
        assert denied.exit_code == 5
    [record] = audit_rows(local, "job.cancel")
    assert record.source == "api"
    assert record.role == "operator"
    assert record.ip == "127.0.0.1"


def test_action_help_shows_the_payload_fields(local: Runtime) -> None:
    result = runner.invoke(app, ["action", "job.set_priority", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Move a queued job in the dispatch order" in result.stdout
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "uuid" in lines["job_id"]
    assert "required" in lines["job_id"]
    assert "integer -100..100" in lines["priority"]
    assert "dangerous" not in result.stdout.split("job.set_priority:")[1]
    dangerous = runner.invoke(app, ["action", "queue.clear", "--help"], env={"COLUMNS": "120"})
    assert "dangerous: asks before it runs" in dangerous.stdout
    assert "dry_run" in dangerous.stdout


def test_list_describes_every_action(local: Runtime) -> None:
    result = runner.invoke(app, ["action", "--list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for spec in registry.all_actions():
        assert spec.name in result.stdout
    assert "Move a queued job in the dispatch order" in result.stdout


def test_a_single_field_action_takes_the_bare_value_and_a_short_id(local: Runtime) -> None:
    job_id = _queued(local)
    result = runner.invoke(app, ["action", "job.cancel", job_id[:8], "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"]["status"] == "cancelled"


def test_a_bare_value_for_several_fields_names_them(local: Runtime) -> None:
    result = runner.invoke(app, ["action", "job.set_priority", "be1ce8cf"])
    assert result.exit_code == 2
    assert "job_id=..., priority=..." in result.stderr
    unknown = runner.invoke(app, ["action", "job.cancel", "job=be1ce8cf"])
    assert unknown.exit_code == 2
    assert "has no field 'job'" in unknown.stderr


def test_text_fields_keep_digits_as_text(local: Runtime) -> None:
    # An all-digit id prefix is text for a text field, not the number JSON would make it.
    result = runner.invoke(app, ["action", "job.cancel", "job_id=00000000"])
    assert result.exit_code == 3, result.output
    assert "no job id starts with '00000000'" in result.stderr


def test_dry_runs_and_replays_are_visible(local: Runtime) -> None:
    _queued(local)
    preview = runner.invoke(app, ["action", "queue.clear", "dry_run=true"])
    assert preview.exit_code == 0, preview.output
    assert "DRY RUN: nothing was changed" in preview.stdout
    args = ["action", "queue.pause", "--idempotency-key", "same"]
    first = runner.invoke(app, args)
    assert "REPLAYED" not in first.stdout
    again = runner.invoke(app, args)
    assert "REPLAYED: the stored answer to this idempotency key" in again.stdout
