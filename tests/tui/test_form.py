"""Action forms are built from the payload models' JSON schemas."""

from __future__ import annotations

import pytest

from agentos.errors import InvalidError
from agentos.schemas.actions import JobDeletePayload, JobSetPriorityPayload
from agentos.tui.widgets import form


def test_forms_are_built_from_payload_schemas() -> None:
    fields = form.fields_of(JobSetPriorityPayload.model_json_schema())
    assert [(f.name, f.kind, f.required) for f in fields] == [
        ("reason", "string", False),
        ("job_id", "string", True),
        ("priority", "integer", True),
    ]
    assert form.parse(fields, {"job_id": "x", "priority": " 7 ", "reason": ""}) == {
        "job_id": "x",
        "priority": 7,
    }
    with pytest.raises(InvalidError, match="priority"):
        form.parse(fields, {"job_id": "x", "priority": "many"})
    dangerous = form.fields_of(JobDeletePayload.model_json_schema())
    assert "confirm" not in {f.name for f in dangerous}  # the dialog confirms, not a field
    assert {f.name: f.kind for f in dangerous}["dry_run"] == "boolean"
