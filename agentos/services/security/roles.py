"""Role-based access to admin actions (ACTIONS.md roles).

A permission is `<area>:<read|write>` (areas: jobs, queue, agents, workers, dashboard,
events, logs, audit, analytics, config, system, users). A role holds grants, each either a
permission pattern (`*`, `*:read`, `jobs:*`) or one action (`action:job.cancel`).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

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
    "operator": ("*:read", "jobs:*", "queue:*", "agents:*", "workers:*"),
    "supervisor": ("*:read", "action:job.cancel", "action:job.retry"),
    "user": (),
    "readonly": tuple(f"{area}:read" for area in READONLY_AREAS),
}


def is_read_permission(permission: str) -> bool:
    return permission.endswith(":read")


def is_allowed(role: str, *, permission: str, action: str) -> bool:
    """Whether `role` may run `action`, which requires `permission`."""
    for grant in ROLE_GRANTS.get(role, ()):
        if grant.startswith("action:"):
            if grant.removeprefix("action:") == action:
                return True
        elif fnmatchcase(permission, grant):
            return True
    return False


def require(role: str, *, permission: str, action: str) -> None:
    if not is_allowed(role, permission=permission, action=action):
        raise ForbiddenError(
            f"role {role!r} may not run {action} (needs {permission})",
            code="PERMISSION_DENIED",
            details={"action": action, "permission": permission, "role": role},
        )
