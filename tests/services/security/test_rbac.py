"""Role grants: patterns, single actions, unknown roles."""

from __future__ import annotations

import pytest

from agentos.errors import ForbiddenError
from agentos.services.security import rbac


def test_grants() -> None:
    assert rbac.is_allowed("admin", permission="system:write", action="system.backup")
    assert rbac.is_allowed("operator", permission="workers:write", action="worker.ping")
    assert not rbac.is_allowed("operator", permission="system:write", action="system.backup")
    assert rbac.is_allowed("supervisor", permission="jobs:write", action="job.retry")
    assert not rbac.is_allowed("supervisor", permission="jobs:write", action="job.delete")
    assert rbac.is_allowed("readonly", permission="logs:read", action="logs.search")
    assert not rbac.is_allowed("readonly", permission="audit:read", action="audit.verify")
    assert not rbac.is_allowed("user", permission="jobs:read", action="x")
    assert not rbac.is_allowed("intruder", permission="jobs:read", action="x")


def test_require_names_what_is_missing() -> None:
    with pytest.raises(ForbiddenError) as denied:
        rbac.require("supervisor", permission="queue:write", action="queue.clear")
    assert denied.value.code == "PERMISSION_DENIED"
    assert denied.value.details["permission"] == "queue:write"
