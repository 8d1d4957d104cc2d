"""Role grants: patterns, single actions, unknown roles."""

from __future__ import annotations

import pytest

from agentos.errors import ForbiddenError
from agentos.services.security import roles


def test_grants() -> None:
    assert roles.may_run("admin", permission="system:write", action="system.backup")
    assert roles.may_run("operator", permission="workers:write", action="worker.ping")
    assert not roles.may_run("operator", permission="system:write", action="system.backup")
    assert roles.may_run("supervisor", permission="jobs:write", action="job.retry")
    assert not roles.may_run("supervisor", permission="jobs:write", action="job.delete")
    assert roles.may_run("readonly", permission="logs:read", action="logs.search")
    assert not roles.may_run("readonly", permission="audit:read", action="audit.verify")
    assert not roles.may_run("user", permission="jobs:read", action="x")
    assert not roles.may_run("intruder", permission="jobs:read", action="x")


def test_require_names_what_is_missing() -> None:
    with pytest.raises(ForbiddenError) as denied:
        roles.require("supervisor", permission="queue:write", action="queue.clear")
    assert denied.value.code == "PERMISSION_DENIED"
    assert denied.value.details["permission"] == "queue:write"
