"""Every registered action for every role: the decision matches ACTIONS.md, and a denied
attempt is refused by the pipeline before dispatch and audited."""

from __future__ import annotations

import pytest

from agentos.errors import ForbiddenError
from agentos.services.actions import registry
from agentos.services.actions.registry import ActionSpec
from agentos.services.context import Actor
from agentos.services.runtime import Runtime
from agentos.services.security import roles
from agentos.settings import Settings
from tests.services.actions.helpers import outcomes, run

OPERATOR_AREAS = {"jobs", "queue", "agents", "workers"}


def expected(role: str, spec: ActionSpec) -> bool:
    """ACTIONS.md: admin all; operator jobs, queue, agents/workers; supervisor read + job
    cancel/retry; user no admin actions; readonly the read-type actions of its views."""
    area = spec.permission.split(":", 1)[0]
    if role == "admin":
        return True
    if role == "operator":
        return spec.read_only or area in OPERATOR_AREAS
    if role == "supervisor":
        return spec.read_only or spec.name in {"job.cancel", "job.retry"}
    if role == "readonly":
        return spec.read_only and area in roles.READONLY_AREAS
    return False


MATRIX = [(role, spec.name) for spec in registry.all_actions() for role in roles.ROLES]


@pytest.mark.parametrize(("role", "name"), MATRIX)
def test_rbac_decision_matches_the_catalog(role: str, name: str) -> None:
    spec = registry.require(name)
    assert roles.may_run(role, permission=spec.permission, action=name) is expected(role, spec)


def test_denied_roles_are_stopped_by_the_pipeline_and_audited(
    settings: Settings, runtime: Runtime
) -> None:
    denied = [(role, name) for role, name in MATRIX if not expected(role, registry.require(name))]
    assert denied, "the matrix should deny something"
    for role, name in denied:
        spec = registry.require(name)
        payload = spec.payload.model_construct(confirm=True)  # never reaches validation or dispatch
        # One actor per attempt: the denial limiter (services/actions/denials.py) is not
        # what this test is about.
        who = Actor(name=f"{role}-{name}", role=role, source="cli")
        with pytest.raises(ForbiddenError) as refused:
            run(runtime, name, payload, who=who)  # type: ignore[arg-type]
        assert refused.value.code == "PERMISSION_DENIED", (role, name)
    assert outcomes(runtime) == ["denied"] * len(denied)


def test_user_role_has_no_admin_action_at_all() -> None:
    assert not any(
        roles.may_run("user", permission=spec.permission, action=spec.name)
        for spec in registry.all_actions()
    )
