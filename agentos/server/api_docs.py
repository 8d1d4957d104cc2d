"""What the OpenAPI description says beyond what the routes declare: the tags, the error
codes each operation can answer besides the common ones, the routes left out of the
document on purpose, and the seed rules an operation is excused from, each with its reason.

`server/openapi.py` applies these tables; `agentos governance check` reads the result.
Operations are keyed "METHOD /path/template".
"""

from __future__ import annotations

# Every tag an operation may carry, with what it groups (the seed's endpoint types).
TAGS: dict[str, str] = {
    "System": "Public: service identity and health (public tier, 10/min per IP)",
    "Auth": "Public: log in, refresh, change the password (public tier)",
    "Jobs": "User API: jobs (user tier, 100/min per user)",
    "Agents": "User API: pipeline agents; their writes run admin actions",
    "Queue": "User API: the work queue",
    "Clips": "User API: clips and their files",
    "Analytics": "User API: job and endpoint figures",
    "Upload": "User API: resumable chunked uploads (chunks in their own upload tier)",
    "Admin SSOT": "Admin reads: the single source of truth (admin-read tier, 500/min)",
    "Admin Actions": "Admin writes: the one audited action endpoint (admin-action tier, 50/min)",
}

_JOB = ("JOB_NOT_FOUND", "FORBIDDEN")
_AGENT = ("AGENT_NOT_FOUND",)
_CREATE_JOB = (
    "UPLOAD_NOT_FOUND",
    "UPLOAD_NOT_FINALIZED",
    "FORBIDDEN",
    "INVALID_TITLE",
    "INVALID_PRIORITY",
    "UNKNOWN_AGENT",
    "INVALID_TRANSITION",
    "JOB_NOT_FOUND",
)
# Every code some action can answer (the action endpoint runs them all).
_ACTIONS = (
    "UNKNOWN_ACTION", "JOB_NOT_FOUND", "INVALID_ID", "AMBIGUOUS_ID", "INVALID_TRANSITION",
    "INVALID_PRIORITY", "JOB_NOT_QUEUED", "JOB_NOT_TERMINAL", "AGENT_NOT_FOUND",
    "UNKNOWN_AGENT", "INVALID_AGENT_CONFIG", "INVALID_CONCURRENCY", "USER_NOT_FOUND",
    "USER_EXISTS", "INVALID_USERNAME", "INVALID_ROLE", "WEAK_PASSWORD", "API_KEY_NOT_FOUND",
    "INVALID_NAME", "INVALID_SCOPE", "EVENT_NOT_FOUND", "BAD_CURSOR", "SETTING_NOT_FOUND",
    "SETTING_NOT_SETTABLE", "INVALID_SETTING", "INVALID_CONFIG_DOCUMENT", "UNKNOWN_SCOPE",
    "UNKNOWN_BREAKER", "BACKUP_NOT_FOUND", "BACKUP_CORRUPT", "BACKUP_FILE_MISSING",
    "BACKUP_KIND_MISMATCH", "BACKUP_SCHEMA_NEWER", "BACKUP_TOOL_FAILED", "PG_CLIENT_MISMATCH",
    "RESTORE_LOCKED", "TASK_NOT_FOUND", "TASK_FINISHED", "TASK_RUNNING", "WORKER_NOT_FOUND",
    "WORKER_REFUSED", "WORKER_NO_REPLY", "WORKER_CONTROL_UNAVAILABLE",
)  # fmt: skip
# The codes an operation answers besides the common ones every operation of its kind has
# (authentication, role, rate limit, validation, body limits: see openapi.common_codes).
DOMAIN_CODES: dict[str, tuple[str, ...]] = {
    "GET /health": ("UNHEALTHY",),
    "POST /api/admin/action": _ACTIONS,
    "POST /api/auth/login": ("INVALID_CREDENTIALS",),
    "POST /api/auth/refresh": (
        "TOKEN_INVALID",
        "TOKEN_EXPIRED",
        "TOKEN_REVOKED",
        "REFRESH_TOKEN_REUSED",
        "USER_DISABLED",
    ),
    "POST /api/auth/password": ("INVALID_CREDENTIALS", "WEAK_PASSWORD"),
    "POST /api/upload/chunk": (
        "UPLOAD_NOT_FOUND",
        "UPLOAD_NOT_OPEN",
        "CHUNK_CONFLICT",
        "BAD_CHUNK_INDEX",
        "BAD_CHUNK_SIZE",
        "CHUNK_CHECKSUM_MISMATCH",
        "FORBIDDEN",
    ),
    "GET /api/jobs/history": ("USER_NOT_FOUND", "INVALID_ID", "BAD_CURSOR"),
    "GET /api/jobs/status/{status}": ("USER_NOT_FOUND", "INVALID_ID", "BAD_CURSOR"),
    "GET /api/jobs/user/{user_id}": ("USER_NOT_FOUND", "INVALID_ID", "BAD_CURSOR"),
    "GET /api/queue/details": ("BAD_CURSOR",),
    "POST /api/jobs/create": _CREATE_JOB,
    "GET /api/jobs/{job_id}": _JOB,
    "GET /api/jobs/{job_id}/clips": _JOB,
    "POST /api/jobs/{job_id}/retry": (*_JOB, "INVALID_TRANSITION", "UNKNOWN_AGENT"),
    "POST /api/jobs/{job_id}/cancel": (*_JOB, "INVALID_TRANSITION"),
    "POST /api/jobs/{job_id}/status": (
        *_JOB,
        "INVALID_TRANSITION",
        "STEP_NOT_FOUND",
        "STEP_NOT_QUEUED",
        "STEP_NOT_RUNNING",
        "AGENT_SCOPE_REQUIRED",
        "UNKNOWN_AGENT",
        "INVALID_ID",
        "AMBIGUOUS_ID",
    ),
    "POST /api/agents/restart": ("INVALID_TRANSITION",),
    "GET /api/agents/logs/{agent_id}": (*_AGENT, "BAD_CURSOR"),
    "GET /api/agents/config": _AGENT,
    "POST /api/agents/config": (*_AGENT, "INVALID_AGENT_CONFIG"),
    "GET /api/agents/queue/{agent_id}": (*_AGENT, "BAD_CURSOR"),
    "POST /api/agents/clear-queue": (*_AGENT, "INVALID_TRANSITION"),
    "GET /api/agents/{agent_id}": _AGENT,
    "POST /api/agents/{agent_id}/start": _AGENT,
    "POST /api/agents/{agent_id}/stop": _AGENT,
    "GET /api/clips/{clip_id}": ("CLIP_NOT_FOUND", "JOB_NOT_FOUND", "FORBIDDEN"),
    "GET /api/clips/{clip_id}/media": (
        "CLIP_NOT_FOUND",
        "CLIP_FILE_NOT_FOUND",
        "JOB_NOT_FOUND",
        "FORBIDDEN",
    ),
    "POST /api/upload/init": (
        "FORBIDDEN",
        "UPLOAD_TOO_LARGE",
        "INSUFFICIENT_STORAGE",
    ),
    "POST /api/upload/finalize": (
        *_CREATE_JOB,
        "UPLOAD_INCOMPLETE",
        "UPLOAD_NOT_OPEN",
        "CHECKSUM_MISMATCH",
    ),
    "GET /api/upload/status/{upload_id}": ("UPLOAD_NOT_FOUND",),
    "GET /api/upload": ("BAD_CURSOR",),
}

_SEED_ROUTE = (
    "The seed's own {what} route (API Endpoint Governance, {section}), kept as written: "
    "INTERFACES.md and operators' scripts use it"
)


def _seed(what: str, section: str) -> dict[str, str]:
    return {"naming.no-verbs": _SEED_ROUTE.format(what=what, section=section)}


# Seed rules an operation is excused from, rule id -> the written reason.
SUPPRESSIONS: dict[str, dict[str, str]] = {
    "POST /api/auth/login": _seed("log-in", "INTERFACES.md HTTP"),
    "POST /api/auth/refresh": _seed("token refresh", "Misc"),
    "POST /api/jobs/create": _seed("job creation", "Jobs"),
    "POST /api/jobs/{job_id}/retry": _seed("job retry", "Jobs"),
    "POST /api/jobs/{job_id}/cancel": _seed("job cancel", "Jobs"),
    "POST /api/agents/restart": _seed("restart-all", "Agents"),
    "POST /api/agents/{agent_id}/start": _seed("agent start", "Agents"),
    "POST /api/agents/{agent_id}/stop": _seed("agent stop", "Agents"),
    "POST /api/agents/clear-queue": _seed("clear-queue", "Agents"),
    "POST /api/upload/init": _seed("upload session", "Upload"),
    "POST /api/upload/finalize": _seed("upload finalize", "Upload"),
    "GET /api/admin/action/status": {
        "admin.ssot-only": "The seed's own action status route (GET /api/admin/action/status, "
        "'Admin Action Endpoints: 2'): the action pipeline's monitoring, not admin data"
    },
}

# Routes of the app that are not in the document, each with why.
UNDOCUMENTED: dict[str, str] = {
    "/openapi.json": "The OpenAPI document itself",
    "/docs": "The OpenAPI UI (HTML page over /openapi.json)",
    "/redoc": "ReDoc (HTML page over /openapi.json)",
    "/docs/assets": "Static files of the documentation pages",
    "/admin": "The web console (static HTML for the admin allow-list; it calls the API)",
    "/admin/": "Redirect to /admin",
    "/admin/assets": "Static files of the web console",
    "/admin/clips/{clip_id}/{part}": "The web console's clip player: a clip's video or "
    "thumbnail for its job page (bearer token, the clip's visibility rules); the API's own is "
    "GET /api/clips/{clip_id}/media",
    "/ws": "WebSocket live events: OpenAPI cannot describe a socket; the message types are "
    "in server/routes/ws.py and docs/architecture.md",
    "/metrics": "Prometheus text for the operator's scraper (admin allow-list), not a JSON "
    "API operation; the series are in docs/alerts.yml",
    "/api/admin/managers": "Deprecated alias of GET /api/admin/ssot/managers (Deprecation and "
    "Sunset headers; see server/versioning.py)",
}
