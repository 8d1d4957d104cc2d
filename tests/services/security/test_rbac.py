"""Role grants: patterns, single actions, unknown roles."""

from __future__ import annotations

import pytest

from agentos.errors import ForbiddenError
from agentos.services.security import roles


def test_grants() -> None:
    assert roles.is_allowed("admin", permission="system:write", action="system.backup")
    assert roles.is_allowed("operator", permission="workers:write", action="worker.ping")
    assert not roles.is_allowed("operator", permission="system:write", action="system.backup")
    assert roles.is_allowed("supervisor", permission="jobs:write", action="job.retry")
    assert not roles.is_allowed("supervisor", permission="jobs:write", action="job.delete")
    assert roles.is_allowed("readonly", permission="logs:read", action="logs.search")
    assert not roles.is_allowed("readonly", permission="audit:read", action="audit.verify")
    assert not roles.is_allowed("user", permission="jobs:read", action="x")
    assert not roles.is_allowed("intruder", permission="jobs:read", action="x")


def test_require_names_what_is_missing() -> None:
    with pytest.raises(ForbiddenError) as denied:
        roles.require("supervisor", permission="queue:write", action="queue.clear")
    assert denied.value.code == "PERMISSION_DENIED"
    assert denied.value.details["permission"] == "queue:write"
