"""`agentos governance check|diff|errors` on the command line: formats and exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentos.cli.governance import app
from agentos.governance import document
from agentos.governance.model import Subject

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_check_passes_on_the_project_with_ten_out_of_ten() -> None:
    result = runner.invoke(app, ["check", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["score"] == 10
    assert report["status"] == "HEALTHY"
    assert report["ok"] is True


def test_check_exits_1_on_an_error(
    planted: Subject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    planted.spec["paths"]["/api/jobs/today"]["get"].pop("security")

    @contextmanager
    def subject() -> Iterator[Subject]:
        yield planted

    monkeypatch.setattr(document, "project_subject", subject)
    out = tmp_path / "report.md"
    result = runner.invoke(app, ["check", "--format", "markdown", "--output", str(out)])
    assert result.exit_code == 1
    assert "9/10" in result.output
    assert "`security.scheme`" in out.read_text()


def test_diff_and_errors_agree_with_the_committed_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert runner.invoke(app, ["diff"]).exit_code == 0
    assert runner.invoke(app, ["errors", "--check"]).exit_code == 0
