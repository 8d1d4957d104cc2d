"""What the edge (server/edge.py) checks and adds, as functions.

On the way in:
- the trace id (`X-Trace-Id`, or W3C `traceparent`, or a new one);
- the request guard: no NUL byte in the path or the query; a body limit that fits the
  route (kilobytes for a login or an action, megabytes only for upload chunks), checked
  from Content-Length at once and while a chunked body streams in; a request with a body
  to a route that needs a token is refused (401) before its body is read; a JSON body must
  parse, nest at most `MAX_JSON_DEPTH` deep and hold no NUL (lone surrogates do not parse).
On the way out: the security headers (`security_headers`), `X-Trace-Id`,
`X-Response-Time-Ms`, and the `RateLimit` headers a rate limit left in the request state.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from agentos.errors import UnauthenticatedError
from agentos.server.errors import error_body

TRACE_HEADER = b"x-trace-id"
TRACEPARENT_HEADER = b"traceparent"
_VALID_TRACE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
RATELIMIT_STATE_KEY = "ratelimit_headers"
MAX_JSON_DEPTH = 32
KIB = 1024


@dataclass(frozen=True)
class BodyLimits:
    """Bytes a request body may have, by route; `anonymous` are the routes that take a body
    without a token (their limit is small because anyone may send one)."""

    default: int = 64 * KIB
    anonymous: int = 8 * KIB
    by_path: tuple[tuple[str, int], ...] = ()
    anonymous_paths: frozenset[str] = frozenset()
    ceiling: int = 100 * 1024 * KIB

    def of(self, path: str) -> int:
        if path in self.anonymous_paths:
            return min(self.anonymous, self.ceiling)
        for prefix, limit in self.by_path:
            if path == prefix:
                return min(limit, self.ceiling)
        return min(self.default, self.ceiling)


class RefusedRequestError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


CredentialCheck = Callable[[Scope, str], None]


async def guard_request(
    scope: Scope, receive: Receive, limits: BodyLimits, check_credential: CredentialCheck
) -> Receive:
    """The request as the app may see it, or RefusedRequestError."""
    _check_target(scope)
    if not _has_body(scope):
        return receive
    path = scope["path"]
    limit = limits.of(path)
    declared = _content_length(scope)
    if declared is not None and declared > limit:
        raise _too_large(limit)
    if path not in limits.anonymous_paths:
        _authenticate(scope, check_credential)
    if not _is_json(scope):
        return _limited(receive, limit)
    body = await _read_body(receive, limit)
    _check_json(body)
    return _replay(body, receive)


def _authenticate(scope: Scope, check_credential: CredentialCheck) -> None:
    credential = _bearer(scope)
    if credential is None:
        raise RefusedRequestError(
            401, "AUTH_REQUIRED", "Authentication required: send Authorization: Bearer <token>"
        )
    try:
        check_credential(scope, credential)
    except UnauthenticatedError as exc:
        raise RefusedRequestError(401, exc.code, exc.message) from exc


def incoming_trace_id(scope: Scope) -> str:
    """`X-Trace-Id` if valid, else the trace id of a W3C `traceparent`, else a new one."""
    parent = None
    for name, value in scope.get("headers", ()):
        if name == TRACE_HEADER:
            text = value.decode("latin-1").strip()
            if _VALID_TRACE.match(text):
                return text
        elif name == TRACEPARENT_HEADER:
            match = _TRACEPARENT.match(value.decode("latin-1").strip().lower())
            if match and match.group(1) != "0" * 32:
                parent = match.group(1)
    return parent or os.urandom(16).hex()  # 32 hex digits, as a W3C trace id


# Every response: no MIME sniffing, no referrer leaving the console, no framing. JSON
# answers may load nothing. The HTML pages load only files of this origin, shipped in the
# package (agentos/web/static), and no inline script: the web console (/admin) nothing
# else at all (its clips and thumbnails are fetched with the token and shown as blob:
# URLs; 'self' covers its same-origin WebSocket); the OpenAPI UI and ReDoc (/docs,
# /redoc) also inline styles (both style their components at run time), data: images
# (Swagger UI's icons) and ReDoc's search worker, started from a blob:.
_COMMON_SECURITY = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
_PAGE_CSP_COMMON = (
    b"connect-src 'self'; font-src 'self'; manifest-src 'self'; object-src 'none'; "
    b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_CONSOLE_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    b"media-src 'self' blob:; " + _PAGE_CSP_COMMON
)
_DOCS_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; worker-src 'self' blob:; " + _PAGE_CSP_COMMON
)
CONSOLE_PREFIX = "/admin"
DOCS_PREFIXES = ("/docs", "/redoc")
PAGE_PREFIXES = (*DOCS_PREFIXES, CONSOLE_PREFIX)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(f"{prefix}/")


_API_SECURITY = (*_COMMON_SECURITY, (b"content-security-policy", _API_CSP))
_CONSOLE_SECURITY = (*_COMMON_SECURITY, (b"content-security-policy", _CONSOLE_CSP))
_DOCS_SECURITY = (*_COMMON_SECURITY, (b"content-security-policy", _DOCS_CSP))


def security_headers(path: str) -> tuple[tuple[bytes, bytes], ...]:
    if path.startswith("/api/"):  # most requests: decided by one test
        return _API_SECURITY
    if _under(path, CONSOLE_PREFIX):
        return _CONSOLE_SECURITY
    if any(_under(path, prefix) for prefix in DOCS_PREFIXES):
        return _DOCS_SECURITY
    return _API_SECURITY


@lru_cache(maxsize=64)
def _header_name(name: str) -> bytes:
    return name.lower().encode("latin-1")


def response_headers(
    message: Message, state: dict[str, Any], trace_id: str, started: float, path: str = ""
) -> list[tuple[bytes, bytes]]:
    own: list[tuple[bytes, bytes]] = message.get("headers", [])
    elapsed = (time.perf_counter() - started) * 1000
    headers = [
        *own,
        *security_headers(path),
        (TRACE_HEADER, trace_id.encode("latin-1")),
        (b"x-response-time-ms", f"{elapsed:.2f}".encode()),
    ]
    extra: dict[str, str] | None = state.get(RATELIMIT_STATE_KEY)
    if extra:
        # A route's own RateLimit headers win (ASGI header names are lower case).
        present = {own_name for own_name, _ in own}
        for name, value in extra.items():
            key = _header_name(name)
            if key not in present:
                headers.append((key, value.encode("latin-1")))
    return headers


def _check_target(scope: Scope) -> None:
    """No NUL byte in the path or in the query, percent-encoded or not."""
    path: str = scope.get("path", "")
    query: bytes = scope.get("query_string", b"")
    if "\x00" in path or b"\x00" in unquote_to_bytes(query):
        raise RefusedRequestError(
            422, "INVALID_STRING", "NUL characters are not allowed in the path or the query"
        )


def _has_body(scope: Scope) -> bool:
    if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return _content_length(scope) not in (None, 0)
    return True


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return False


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
            return None
    return None


def _too_large(limit: int) -> RefusedRequestError:
    return RefusedRequestError(
        413, "PAYLOAD_TOO_LARGE", f"Request body larger than {limit} bytes for this route"
    )


def _limited(receive: Receive, limit: int) -> Receive:
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
        return message

    return limited_receive


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _check_json(body: bytes) -> None:
    if not body.strip():
        return  # the route decides whether an empty body is fine
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _json_refusal(str(exc)) from exc
    _walk(value, 0)


def _json_refusal(problem: str) -> RefusedRequestError:
    if "UTF-8" in problem:  # not even text
        return RefusedRequestError(400, "BAD_REQUEST", f"The body is not UTF-8: {problem}")
    if "surrogate" in problem:  # an escaped lone surrogate: no database stores one
        return RefusedRequestError(422, "INVALID_STRING", "Lone surrogates are not allowed")
    return RefusedRequestError(422, "INVALID_JSON", f"The body is not valid JSON: {problem}")


def _walk(value: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise RefusedRequestError(
            422, "JSON_TOO_DEEP", f"The body nests deeper than {MAX_JSON_DEPTH} levels"
        )
    if isinstance(value, str):
        if "\x00" in value:
            raise RefusedRequestError(422, "INVALID_STRING", "NUL characters are not allowed")
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(key, depth + 1)
            _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _walk(item, depth + 1)


async def refuse(scope: Scope, receive: Receive, send: Send, refused: RefusedRequestError) -> None:
    body = error_body(Request(scope), message=refused.message, code=refused.code)
    headers = {"Connection": "close"} if refused.status == 413 else None
    if refused.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    response = JSONResponse(body, status_code=refused.status, headers=headers)
    await response(scope, receive, send)
