"""`agentos governance diff`: the committed snapshot is the API's, and each kind of change
is classified; a breaking one fails unless accepted with a reason."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from agentos.governance import diff, snapshot
from agentos.governance.model import Subject

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def current(project: Subject) -> dict[str, Any]:
    return snapshot.build(project)


def changed(current: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(current)


def kinds(old: dict[str, Any], new: dict[str, Any]) -> dict[str, bool]:
    return {change.kind: change.breaking for change in diff.compare(old, new)}


def test_the_committed_snapshot_is_the_api(current: dict[str, Any]) -> None:
    committed = snapshot.load(ROOT / "docs" / "api-snapshot.json")
    assert diff.compare(committed, current) == [], "run: agentos governance diff --update"


def test_an_unchanged_api_has_no_changes(current: dict[str, Any]) -> None:
    assert diff.compare(current, changed(current)) == []


def test_added_and_removed_endpoints(current: dict[str, Any]) -> None:
    new = changed(current)
    new["operations"]["GET /api/extra"] = new["operations"]["GET /api/queue/status"]
    assert kinds(current, new) == {"added endpoint": False}
    assert kinds(new, current) == {"removed endpoint": True}


def test_parameters(current: dict[str, Any]) -> None:
    key = "GET /api/jobs/history"
    new = changed(current)
    new["operations"][key]["parameters"]["query:search"]["required"] = True
    assert kinds(current, new) == {"newly required parameter": True}
    new = changed(current)
    del new["operations"][key]["parameters"]["query:search"]
    assert kinds(current, new) == {"removed parameter": True}
    new = changed(current)
    new["operations"][key]["parameters"]["query:extra"] = {"required": False, "schema": {}}
    assert kinds(current, new) == {"added parameter": False}


def test_narrowed_inputs_break_and_widened_do_not(current: dict[str, Any]) -> None:
    key = "GET /api/jobs/recent/{limit}"
    new = changed(current)
    new["operations"][key]["parameters"]["path:limit"]["schema"]["maximum"] = 100
    assert kinds(current, new) == {"narrowed bound": True}
    assert kinds(new, current) == {}
    new = changed(current)
    new["operations"][key]["parameters"]["path:limit"]["schema"]["type"] = "string"
    assert kinds(current, new) == {"narrowed type": True}


def test_responses(current: dict[str, Any]) -> None:
    key = "GET /api/jobs/{job_id}"
    new = changed(current)
    del new["operations"][key]["responses"]["404"]
    assert kinds(current, new) == {"removed response code": True}
    new = changed(current)
    del new["schemas"]["JobDetail"]["properties"]["steps"]
    assert kinds(current, new)["removed response field"] is True


def test_error_codes(current: dict[str, Any]) -> None:
    new = changed(current)
    del new["error_codes"]["JOB_NOT_FOUND"]
    assert kinds(current, new) == {"removed error code": True}
    new = changed(current)
    new["error_codes"]["JOB_NOT_FOUND"]["http_status"] = [410]
    assert kinds(current, new) == {"changed error code": True}


def test_a_breaking_change_fails_unless_accepted_with_a_reason(
    current: dict[str, Any], tmp_path: Path
) -> None:
    new = changed(current)
    del new["operations"]["GET /api/queue/stats"]
    changes = diff.compare(current, new)
    accepted = tmp_path / "accepted.json"
    assert not diff.DiffResult(changes, diff.load_accepted(accepted)).ok
    entry = {"change": changes[0].id, "reason": ""}
    accepted.write_text(json.dumps({"accepted": [entry]}))
    assert not diff.DiffResult(changes, diff.load_accepted(accepted)).ok
    entry["reason"] = "retired with its sunset, 2027-01-01"
    accepted.write_text(json.dumps({"accepted": [entry]}))
    result = diff.DiffResult(changes, diff.load_accepted(accepted))
    assert result.ok
    assert "ACCEPTED" in diff.render_text(result)
    assert diff.DiffResult([], diff.load_accepted(accepted)).stale
