"""Every error code AgentOS answers, exits or records with, its kind and what it means.

The one catalog: an error's HTTP status follows from its kind (`server/errors.py`), its
CLI exit code too (`EXIT_CODE_BY_KIND`); docs/errors.md and the OpenAPI description
(`x-error-codes`) are generated from this table, and `tests/governance` fails when a code
raised anywhere in `agentos/` is missing here. `where` says who meets the code: `api` (an
HTTP answer, and the CLI's exit when it goes through the server or the services), `cli`
(the command line, TUI or client only), `job` (a failed job's `error_code`) or `dashboard`
(a warning in the admin document, not an error).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agentos.errors import ErrorKind

Where = Literal["api", "cli", "job", "dashboard"]


@dataclass(frozen=True)
class CodeInfo:
    kind: ErrorKind | None  # None: not an exception (a job's failure, a dashboard warning)
    meaning: str
    where: Where = "api"
    status: int | None = None  # the HTTP status when it is not the kind's
    also: tuple[ErrorKind, ...] = ()  # other kinds the same code is raised with


def _group(kind: ErrorKind | None, where: Where, entries: dict[str, str]) -> dict[str, CodeInfo]:
    return {code: CodeInfo(kind, meaning, where) for code, meaning in entries.items()}


_INVALID = {
    "VALIDATION_ERROR": "The request (body, query, path or action payload) does not match its "
    "schema; `details.errors` lists each problem",
    "INVALID_JSON": "The body is not valid JSON",
    "INVALID_STRING": "A NUL character or a lone surrogate in the path, query or body",
    "JSON_TOO_DEEP": "The JSON body nests deeper than 32 levels",
    "INVALID_ID": "Not a job id nor a prefix of one (at least 4 hex digits)",
    "AMBIGUOUS_ID": "The short id is the start of several job ids: give more of it",
    "INVALID_TITLE": "A job title must be 1-255 characters",
    "INVALID_PRIORITY": "A priority must be between -100 and 100",
    "UPLOAD_TOO_LARGE": "The file is larger than the configured upload limit",
    "BAD_CHUNK_SIZE": "chunk_size out of range, or a chunk that is not chunk_size bytes long",
    "BAD_CHUNK_INDEX": "The chunk index is outside 0..total_chunks-1",
    "CHUNK_CHECKSUM_MISMATCH": "The chunk's bytes do not match its X-Chunk-SHA256",
    "CHECKSUM_MISMATCH": "The whole file's SHA-256 differs from the one declared at init",
    "CONFIRMATION_REQUIRED": "A destructive action needs confirm=true (or dry_run=true)",
    "IDEMPOTENCY_KEY_REUSED": "This Idempotency-Key was already used with a different request",
    "INVALID_IDEMPOTENCY_KEY": "An Idempotency-Key must be 1-255 visible ASCII characters",
    "INVALID_AGENT_CONFIG": "The merged agent configuration fails the agent's settings model",
    "INVALID_CONCURRENCY": "An agent's concurrency is out of its allowed range",
    "UNKNOWN_AGENT": "No pipeline stage (agent) has this name",
    "INVALID_CONFIG_DOCUMENT": "A configuration import holds no values or invalid ones; "
    "nothing was changed",
    "INVALID_SETTING": "The value does not fit the runtime setting",
    "SETTING_NOT_SETTABLE": "The setting cannot be changed at runtime",
    "UNKNOWN_SCOPE": "Not an HTTP rate tier, an action rate class or `actions`",
    "UNKNOWN_BREAKER": "No circuit breaker has this name",
    "BAD_CURSOR": "`cursor` (a list) or `before` (a log search) is not one the same list, "
    "filter and order returned: start again without it",
    "INVALID_ROLE": "Not one of the roles (admin, operator, supervisor, user, readonly)",
    "INVALID_USERNAME": "A username must be 1-64 letters, digits, '_', '.', '@' or '-'",
    "WEAK_PASSWORD": "The password is too short or too long, or the same as the old one",
    "INVALID_SCOPE": "An API key scope that does not exist",
    "INVALID_NAME": "An API key name must be 1-100 characters",
    "INVALID_TTL": "A token lifetime must be at least one second",
    "BACKUP_CORRUPT": "The backup's checksum no longer matches: it is not restored",
    "BACKUP_FILE_MISSING": "The backup's file is gone from the backups directory",
    "BACKUP_KIND_MISMATCH": "The backup is of another database kind than this deployment's",
    "BACKUP_SCHEMA_NEWER": "The backup comes from a newer AgentOS schema than this version",
}
_INVALID_CLI = {
    "USAGE_ERROR": "A bad command line: unknown option, missing argument",
    "INVALID_OPTIONS": "Job options that do not validate (agentos jobs submit)",
    "INVALID_TIME": "A --since/--until that is not a moment, or --since after --until",
    "INVALID_AUTOSCALE": "--autoscale must be MAX,MIN with 0 <= MIN <= MAX and MAX >= 1",
    "NO_BROKER": "Celery workers need AGENTOS_REDIS_URL (embedded runs its own workers)",
    "NO_JOB": "The upload finished but no job was created",
    "EMPTY_FILE": "The file to upload is empty",
    "FILE_UNREADABLE": "The file cannot be read",
    "AUDIT_KEY": "The audit key file is empty or unreadable",
    "AUDIT_KEY_MISSING": "No audit key: pass --key or --key-file",
    "LOCAL_ONLY": "This command works only on the server's host (no HTTP endpoint)",
    "REMOTE_ONLY": "This command works only through a server (--server)",
    "READ_ONLY": "The TUI runs read-only: actions are disabled",
    "UNKNOWN_COMMAND": "The TUI knows no such command or action",
}
_NOT_FOUND = {
    "NOT_FOUND": "No such route or resource",
    "JOB_NOT_FOUND": "No such job, or one of another user's (which is not told apart)",
    "CLIP_NOT_FOUND": "No such clip, or one of another user's job",
    "CLIP_FILE_NOT_FOUND": "The clip exists but its video or thumbnail file is gone",
    "UPLOAD_NOT_FOUND": "No such upload, or one of another user's",
    "USER_NOT_FOUND": "No such user (or, for a user, another one)",
    "AGENT_NOT_FOUND": "No agent has this name or id",
    "API_KEY_NOT_FOUND": "No API key has this id or prefix",
    "EVENT_NOT_FOUND": "No system event has this id",
    "SETTING_NOT_FOUND": "No runtime setting has this name",
    "BACKUP_NOT_FOUND": "No backup has this id",
    "STEP_NOT_FOUND": "The job has no step for this stage in its current attempt",
    "TASK_NOT_FOUND": "No stage has this Celery task id",
    "WORKER_NOT_FOUND": "No online worker has this name",
}
_CONFLICT = {
    "CONFLICT": "The resource is not in a state that allows this",
    "INVALID_TRANSITION": "The job's status does not allow this (e.g. retrying a completed job)",
    "JOB_NOT_QUEUED": "Only queued jobs can be reprioritised",
    "JOB_NOT_TERMINAL": "Only finished jobs can be deleted",
    "STEP_NOT_QUEUED": "The stage is not queued",
    "STEP_NOT_RUNNING": "The stage is not running",
    "UPLOAD_INCOMPLETE": "Chunks are still missing: GET /api/upload/status/{id} lists them",
    "UPLOAD_NOT_FINALIZED": "The upload is not finalised yet",
    "UPLOAD_NOT_OPEN": "The upload is finalised, expired or aborted: no more chunks",
    "CHUNK_CONFLICT": "The chunk was already received with other bytes",
    "IDEMPOTENCY_IN_PROGRESS": "A request with this Idempotency-Key is still running: retry later",
    "USER_EXISTS": "A user with this name exists",
    "RESTORE_LOCKED": "The restore could not lock the tables: another connection holds them",
    "TASK_FINISHED": "The task already ended: nothing to revoke",
    "TASK_RUNNING": "The task is running: revoke it with terminate=true to stop it",
    "WORKER_REFUSED": "The worker refused the control command",
    "CANCELLED": "The job was cancelled while a stage ran",
}
_UNAUTHENTICATED = {
    "UNAUTHENTICATED": "Authentication failed",
    "AUTH_REQUIRED": "No credentials: send Authorization: Bearer <token>",
    "INVALID_CREDENTIALS": "Wrong username or password, or a locked account or address",
    "TOKEN_INVALID": "The token is malformed, of the wrong kind or badly signed",
    "TOKEN_EXPIRED": "The token has expired: refresh or log in again",
    "TOKEN_REVOKED": "The token was revoked (logout, password or role change)",
    "REFRESH_TOKEN_REUSED": "A spent refresh token was presented: its whole login is revoked",
    "API_KEY_INVALID": "No such API key",
    "INVALID_API_KEY": "No such API key (admin paths)",
    "API_KEY_EXPIRED": "The API key has expired",
    "API_KEY_REVOKED": "The API key was revoked",
}
_UNAUTHENTICATED_CLI = {
    "NOT_LOGGED_IN": "No stored session for this server: agentos login --server URL",
    "SESSION_EXPIRED": "The stored session can no longer be renewed: log in again",
}
_FORBIDDEN = {
    "FORBIDDEN": "The caller's role may not do this",
    "PERMISSION_DENIED": "The caller's role lacks the permission the action or route needs",
    "IP_NOT_ALLOWED": "The client address is not on the admin IP allow-list",
    "ACTION_IP_NOT_ALLOWED": "The action is restricted to other addresses",
    "PASSWORD_CHANGE_REQUIRED": "A one-time password's tokens may only change the password",
    "AGENT_SCOPE_REQUIRED": "Stage reports need an API key with the `agent` scope",
}
_RATE_LIMITED = {
    "RATE_LIMITED": "Over the rate limit of the tier or action class: see Retry-After",
    "TOO_MANY_DENIALS": "Too many refused admin attempts a minute from this caller",
}
_UNAVAILABLE = {
    "SERVICE_UNAVAILABLE": "A dependency is unavailable: retry later",
    "DATABASE_UNAVAILABLE": "The database cannot be reached",
    "DATABASE_NOT_MIGRATED": "The database has no AgentOS schema yet: agentos db migrate",
    "REDIS_UNAVAILABLE": "Redis cannot be reached",
    "CACHE_UNAVAILABLE": "The Redis cache or counters do not answer",
    "BROKER_UNAVAILABLE": "The Celery broker does not answer",
    "BREAKER_UNAVAILABLE": "The shared circuit-breaker state (Redis) does not answer",
    "IDEMPOTENCY_UNAVAILABLE": "The idempotency store (Redis) does not answer",
    "BUS_UNAVAILABLE": "The event bus does not answer",
    "RATELIMIT_UNAVAILABLE": "The shared rate limiter does not answer",
    "CIRCUIT_OPEN": "A circuit breaker is open for a dependency the action needs",
    "MAINTENANCE": "Maintenance mode: user writes are refused until it ends",
    "INSUFFICIENT_STORAGE": "Not enough free disk space",
    "UNHEALTHY": "A required part (database, broker) is down (GET /health)",
    "BACKUP_TOOL_FAILED": "pg_dump or pg_restore failed",
    "PG_CLIENT_MISMATCH": "No PostgreSQL client tools of the server's major version",
    "WORKER_CONTROL_UNAVAILABLE": "This process cannot reach the Celery workers' control",
    "WORKER_NO_REPLY": "The worker did not answer the control command in time",
}
_UNAVAILABLE_CLI = {
    "SERVER_UNREACHABLE": "The server cannot be reached",
    "SESSION_FILE_LOCKED": "Another agentos process holds the session file",
    "WAIT_TIMEOUT": "The job did not finish within --timeout",
}
_INTERNAL = {
    "INTERNAL_ERROR": "An unexpected error; the server log has the details under the trace id",
    "ACTION_FAILED": "The action failed unexpectedly (audited; see the server log)",
    "AUDIT_HEAD_MISSING": "The audit chain's head row is missing",
    "HTTP_ERROR": "An HTTP error without a code of its own",
}
_INTERNAL_CLI = {
    "TUI_UNEXPECTED": "The TUI met an unexpected error (shown as a notification)",
    "UNEXPECTED_ANSWER": "The server answered in a form this client does not know",
}
# A failed job's `error_code`: a stage's own code, or the runner's classification.
_JOB = {
    "CORRUPT_MEDIA": "The video is damaged, truncated or has no decodable frames",
    "UNSUPPORTED_MEDIA": "Not a video file PyAV can read, or no video stream",
    "SOURCE_MISSING": "The job's source file is missing",
    "NOT_PROBED": "The job reached a stage that needs the probe's results without them",
    "NO_SCENES": "No scenes were detected in the video",
    "CLIP_MISSING": "Clip files the publish stage needs are missing",
    "BAD_PARAMETER": "A media parameter out of range (scene analysis, thumbnail size)",
    "BAD_SCORES": "The stored frame scores cannot be read",
    "BAD_SIZE": "A synthetic test video needs even dimensions",
    "STAGE_FAILED": "An external agent reported its stage failed without a code",
    "STAGE_TIMEOUT": "The stage timed out (retried)",
    "FILE_MISSING": "A file the stage needs does not exist",
    "INVALID_STAGE_DATA": "The stage's stored data does not validate",
    "MEDIA_ERROR": "FFmpeg failed (retried)",
    "STORAGE_FULL": "No space left on the storage device (retried)",
    "STORAGE_ERROR": "A storage error (retried)",
    "OUT_OF_MEMORY": "The stage ran out of memory (retried)",
    "INTERNAL": "An unexpected error in the stage (retried; the worker log has it)",
}
_DASHBOARD = {
    "NO_WORKERS": "No worker is online to take queued work",
    "AGENTS_UNSERVED": "Some switched-on agents have no online worker",
}
# HTTP answers that are not AgentOSErrors: their status is their own.
_HTTP_ONLY = {
    "BAD_REQUEST": (400, "The body is not UTF-8 or not well-formed"),
    "METHOD_NOT_ALLOWED": (405, "The path exists, the method does not: see Allow"),
    "PAYLOAD_TOO_LARGE": (413, "The body is over the route's limit"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "The body's Content-Type is not accepted"),
    "UNKNOWN_ACTION": (400, "No admin action has this name: agentos action --list"),
}

CATALOG: dict[str, CodeInfo] = {
    **_group("invalid", "api", _INVALID),
    **_group("invalid", "cli", _INVALID_CLI),
    **_group("not_found", "api", _NOT_FOUND),
    **_group("conflict", "api", _CONFLICT),
    **_group("unauthenticated", "api", _UNAUTHENTICATED),
    **_group("unauthenticated", "cli", _UNAUTHENTICATED_CLI),
    **_group("forbidden", "api", _FORBIDDEN),
    **_group("rate_limited", "api", _RATE_LIMITED),
    **_group("unavailable", "api", _UNAVAILABLE),
    **_group("unavailable", "cli", _UNAVAILABLE_CLI),
    **_group("internal", "api", _INTERNAL),
    **_group("internal", "cli", _INTERNAL_CLI),
    **_group(None, "job", _JOB),
    **_group(None, "dashboard", _DASHBOARD),
    **{
        code: CodeInfo("invalid", meaning, "api", status=status)
        for code, (status, meaning) in _HTTP_ONLY.items()
    },
}
# Codes raised with more than one kind: a disabled user logging in (401) or being
# disabled again (409); a missing file named on the command line (invalid or not found).
CATALOG["USER_DISABLED"] = CodeInfo(
    "unauthenticated", "The user is disabled (401), or already disabled (409)", also=("conflict",)
)
CATALOG["FILE_NOT_FOUND"] = CodeInfo(
    "not_found", "The file named on the command line does not exist", "cli", also=("invalid",)
)
CATALOG["CANCELLED"] = CodeInfo("conflict", _CONFLICT["CANCELLED"], "job")
