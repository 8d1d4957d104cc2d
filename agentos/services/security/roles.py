"""The one role table: who may do what (ACTIONS.md roles), asked by every front end.

A permission is `<area>:<read|write>` (areas: jobs, queue, agents, workers, dashboard,
events, logs, audit, analytics, config, system, users). A role holds grants, each either a
permission pattern (`*`, `*:read`, `jobs:*`) or one action (`action:job.cancel`). HTTP
routes, admin actions, the SSOT reads and `/ws`, the CLI and the TUI all decide with
`allows` and `may_run`; nothing else compares role names.

    admin       everything
    operator    reads everything; writes jobs, queue, agents, workers
    supervisor  reads everything; cancels and retries jobs
    user        own jobs only (no admin views, no admin actions)
    (every role but readonly also writes its own uploads and jobs: `own:write`)
    readonly    reads the operational views (not security, configuration or system)
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import cache

from agentos.errors import ForbiddenError

ROLES: tuple[str, ...] = ("admin", "operator", "supervisor", "user", "readonly")
# The areas a read-only viewer may see: the operational views, not security or system.
READONLY_AREAS: tuple[str, ...] = (
    "dashboard",
    "jobs",
    "queue",
    "agents",
    "workers",
    "events",
    "logs",
    "analytics",
)
ROLE_GRANTS: dict[str, tuple[str, ...]] = {
    "admin": ("*",),
    "operator": ("*:read", "own:*", "jobs:*", "queue:*", "agents:*", "workers:*"),
    "supervisor": ("*:read", "own:*", "action:job.cancel", "action:job.retry"),
    "user": ("own:*",),
    "readonly": tuple(f"{area}:read" for area in READONLY_AREAS),
}

# Permissions that are not an action's: what the read paths and the user API ask for.
ADMIN_READ = "dashboard:read"  # the SSOT document, /ws, the admin views
ALL_JOBS = "jobs:read"  # every job, not only one's own
AUDIT_READ = "audit:read"  # the action status page (recent audit records)
OWN_WRITE = "own:write"  # uploads, jobs and their cancel/retry, on one's own jobs


def is_read_permission(permission: str) -> bool:
    return permission.endswith(":read")


@cache
def allows(role: str, permission: str) -> bool:
    """Whether `role` holds `permission` through one of its pattern grants (the table never
    changes while the process runs, so each answer is remembered)."""
    return any(
        not grant.startswith("action:") and fnmatchcase(permission, grant)
        for grant in ROLE_GRANTS.get(role, ())
    )


def may_run(role: str, *, permission: str, action: str) -> bool:
    """Whether `role` may run `action`, which requires `permission`."""
    return f"action:{action}" in ROLE_GRANTS.get(role, ()) or allows(role, permission)


def require(role: str, *, permission: str, action: str) -> None:
    if not may_run(role, permission=permission, action=action):
        raise ForbiddenError(
            f"role {role!r} may not run {action} (needs {permission})",
            code="PERMISSION_DENIED",
            details={"action": action, "permission": permission, "role": role},
        )


def require_permission(role: str, permission: str) -> None:
    if not allows(role, permission):
        raise ForbiddenError(
            f"role {role!r} may not do this (needs {permission})",
            code="PERMISSION_DENIED",
            details={"permission": permission, "role": role},
        )


def sees_all_jobs(role: str) -> bool:
    """Staff see every job; the `user` role sees only its own."""
    return allows(role, ALL_JOBS)


def require_own_write(role: str, what: str) -> None:
    """Uploading and submitting jobs, cancelling or retrying one's own (not readonly)."""
    if not allows(role, OWN_WRITE):
        raise ForbiddenError(
            f"the {role} role cannot {what}",
            code="FORBIDDEN",
            details={"permission": OWN_WRITE, "role": role},
        )
