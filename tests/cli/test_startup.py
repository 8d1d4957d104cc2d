"""Start-up: `agentos --help` and shell completion import no command module (nor the
client, pydantic, SQLAlchemy, Redis, Celery, PyAV or the action registry), and a remote
command never imports SQLAlchemy, Celery or PyAV. Asserted on the import set, not on time.

Also: every command's help has examples and no `<bool>`/`<str>` metavars, the root help
has the exit-code table (and the README the same), and completion is on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from agentos.cli._output import EXIT_CODE_BY_KIND, EXIT_CODES
from agentos.cli.main import COMMANDS, app

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "redis", "celery", "kombu", "av", "alembic", "numpy", "fastapi")
# What `agentos --help` and completion may import of the project.
LIGHT_AGENTOS = {
    "agentos",
    "agentos.errors",
    "agentos.cli",
    "agentos.cli._app",
    "agentos.cli._output",
    "agentos.cli.main",
}
PROGRAM = """
import json, sys
from agentos.cli.main import app
try:
    app(sys.argv[1:], prog_name="agentos")
except SystemExit as exit:
    code = exit.code
print("\\n@@MODULES@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, set[str]]:
    """Run the app in a fresh interpreter; its exit code, stdout and modules at the end."""
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    output, _, tail = result.stdout.rpartition("\n@@MODULES@@")
    assert tail, result.stderr
    state = json.loads(tail)
    return state["code"], output, set(state["modules"])


def _heavy(modules: set[str]) -> set[str]:
    return {name for name in modules if name.split(".")[0] in HEAVY}


def test_help_imports_no_command_module(tmp_path: Path) -> None:
    code, output, modules = _run(["--help"], {"AGENTOS_HOME": str(tmp_path)})
    assert code == 0
    assert "jobs" in output
    assert _heavy(modules) == set()
    assert {name for name in modules if name.startswith("agentos")} <= LIGHT_AGENTOS
    assert "pydantic" not in modules
    assert "httpx" not in modules


def test_completion_imports_no_command_module(tmp_path: Path) -> None:
    env = {
        "AGENTOS_HOME": str(tmp_path),
        "_AGENTOS_COMPLETE": "complete_bash",
        "COMP_WORDS": "agentos j",
        "COMP_CWORD": "1",
    }
    _code, output, modules = _run([], env)
    assert output.split() == ["jobs"]
    assert _heavy(modules) == set()
    assert {name for name in modules if name.startswith("agentos")} <= LIGHT_AGENTOS


def test_completion_of_a_group_loads_only_that_group(tmp_path: Path) -> None:
    env = {
        "AGENTOS_HOME": str(tmp_path),
        "_AGENTOS_COMPLETE": "complete_bash",
        "COMP_WORDS": "agentos jobs ",
        "COMP_CWORD": "2",
    }
    _code, output, modules = _run([], env)
    assert set(output.split()) == {"list", "show", "watch", "submit"}
    assert _heavy(modules) == set()
    assert "agentos.cli.users" not in modules
    assert not any(name.startswith(("agentos.client", "agentos.services")) for name in modules)


@pytest.mark.parametrize(
    "args",
    [
        ["jobs", "list"],
        ["action", "queue.pause", "--json"],
        ["logs", "search", "--level", "error"],
    ],
)
def test_remote_commands_never_import_the_core(tmp_path: Path, args: list[str]) -> None:
    remote = ["--server", "http://127.0.0.1:9", "--token", "t"]
    code, _output, modules = _run([*args, *remote], {"AGENTOS_HOME": str(tmp_path)})
    assert code == 7  # nothing listens there: unavailable, and still no core
    assert _heavy(modules) == set()
    assert not any(name.startswith(("agentos.services", "agentos.db")) for name in modules)


def _leaves(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    if not hasattr(command, "commands"):
        return [(path, command)]
    found = []
    for name in command.list_commands(None):
        found += _leaves(command.get_command(None, name), [*path, name])
    return found


LEAVES = _leaves(typer.main.get_command(app), [])


def test_the_root_lists_every_command_it_can_load() -> None:
    assert {path[0] for path, _ in LEAVES} == set(COMMANDS)


@pytest.mark.parametrize("path", [path for path, _ in LEAVES], ids=" ".join)
def test_every_help_has_examples_and_no_python_metavars(
    path: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTOS_HOME", str(tmp_path))
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.stdout
    assert f"agentos {' '.join(path)}" in result.stdout
    assert "<bool>" not in result.stdout
    assert "<str>" not in result.stdout
    assert "--install-completion" not in result.stdout  # only the root installs it


def test_root_help_has_exit_codes_and_completion() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "--install-completion" in result.stdout
    assert "<bool>" not in result.stdout
    for code, meaning in EXIT_CODES:
        assert re.search(rf"^\s*{code}\s+{re.escape(meaning[:30])}", result.stdout, re.M)
    assert set(EXIT_CODE_BY_KIND.values()) <= {code for code, _ in EXIT_CODES}


def test_the_readme_has_the_same_exit_codes() -> None:
    readme = (ROOT / "README.md").read_text()
    for code, meaning in EXIT_CODES:
        assert f"| {code} | {meaning} |" in readme
    assert "agentos --install-completion" in readme


def test_local_only_commands_do_not_offer_server() -> None:
    for args in (["db", "migrate"], ["db", "check"], ["token"]):
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0
        assert "--server" not in result.stdout
        assert "--token" not in result.stdout


def test_an_unknown_command_suggests_the_near_one() -> None:
    result = CliRunner().invoke(app, ["jbos"])
    assert result.exit_code == 2
    assert "Did you mean 'jobs'?" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


GROUP_HELPS = """
import contextlib, io, json, sys
from agentos.cli.main import COMMANDS, app
for name in COMMANDS:
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            app([name, "--help"], prog_name="agentos")
        except SystemExit:
            pass
print(json.dumps(sorted(sys.modules)))
"""


def test_each_command_loads_for_its_help_without_the_client(tmp_path: Path) -> None:
    """A command group's help (and its completion) imports its own module only: no
    client, schemas, settings or core."""
    result = subprocess.run(
        [sys.executable, "-c", GROUP_HELPS],
        capture_output=True,
        text=True,
        env={**os.environ, "AGENTOS_HOME": str(tmp_path)},
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    modules = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert _heavy(modules) == set()
    assert {name for name in modules if name.startswith("agentos.cli.")} >= {
        "agentos.cli.jobs",
        "agentos.cli.users",
        "agentos.cli.db",
    }
    loaded = {name for name in modules if name.startswith("agentos.")}
    assert not {name for name in loaded if not name.startswith(("agentos.cli", "agentos.errors"))}


def test_values_the_cli_repeats_match_the_schemas() -> None:
    """Kept in the CLI modules so their help loads without pydantic models."""
    from agentos.cli import audit, jobs, logs, users
    from agentos.schemas.actions_logs import PAGE_MAX
    from agentos.schemas.actions_reads import AUDIT_PAGE_MAX
    from agentos.schemas.jobs import JobStatus
    from agentos.schemas.users import ROLES

    assert users.ROLES == ROLES
    assert logs.PAGE_MAX == PAGE_MAX
    assert audit.AUDIT_PAGE_MAX == AUDIT_PAGE_MAX
    assert [item.value for item in jobs.Status] == [item.value for item in JobStatus]
