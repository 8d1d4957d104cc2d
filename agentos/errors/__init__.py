"""One error family for the whole core, transport-neutral.

Every error has a `kind` (which decides the HTTP status, in `server/errors.py`, and the CLI
exit code, here) and a stable `code` that scripts may match on; `catalog.py` lists every
code with its kind and meaning (docs/errors.md and the OpenAPI description are made from it).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

ErrorKind = Literal[
    "invalid",
    "not_found",
    "conflict",
    "unauthenticated",
    "forbidden",
    "rate_limited",
    "unavailable",
    "internal",
]

# The CLI's exit code per kind (`cli/_output.py` exits with it; the error catalog shows it).
EXIT_CODE_BY_KIND: dict[str, int] = {
    "invalid": 2,
    "not_found": 3,
    "conflict": 4,
    "unauthenticated": 5,
    "forbidden": 5,
    "rate_limited": 6,
    "unavailable": 7,
    "internal": 1,
}


class AgentOSError(Exception):
    kind: ClassVar[ErrorKind] = "internal"
    default_code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details or {}

    def __str__(self) -> str:
        return self.message


class InvalidError(AgentOSError):
    kind = "invalid"
    default_code = "VALIDATION_ERROR"


class NotFoundError(AgentOSError):
    kind = "not_found"
    default_code = "NOT_FOUND"


class ConflictError(AgentOSError):
    kind = "conflict"
    default_code = "CONFLICT"


class UnauthenticatedError(AgentOSError):
    kind = "unauthenticated"
    default_code = "UNAUTHENTICATED"


class ForbiddenError(AgentOSError):
    kind = "forbidden"
    default_code = "FORBIDDEN"


class RateLimitedError(AgentOSError):
    kind = "rate_limited"
    default_code = "RATE_LIMITED"

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float,
        limit: int | None = None,
        window_s: int | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after_s = retry_after_s
        self.limit = limit
        self.window_s = window_s


class UnavailableError(AgentOSError):
    kind = "unavailable"
    default_code = "SERVICE_UNAVAILABLE"


class InternalError(AgentOSError):
    kind = "internal"
    default_code = "INTERNAL_ERROR"


ERROR_CLASS_BY_KIND: dict[str, type[AgentOSError]] = {
    cls.kind: cls
    for cls in (
        InvalidError,
        NotFoundError,
        ConflictError,
        UnauthenticatedError,
        ForbiddenError,
        RateLimitedError,
        UnavailableError,
        InternalError,
    )
}


def error_from_kind(
    kind: str, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
) -> AgentOSError:
    """Rebuild an error received over the wire (HttpBackend uses it)."""
    cls = ERROR_CLASS_BY_KIND.get(kind, InternalError)
    if cls is RateLimitedError:
        retry = float((details or {}).get("retry_after_s", 1))
        return RateLimitedError(message, retry_after_s=retry, code=code, details=details)
    return cls(message, code=code, details=details)
