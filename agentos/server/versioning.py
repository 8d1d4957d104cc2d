"""The API's version policy, and the ASGI pass that applies it (docs/api-versioning.md).

- The API is at version `API_VERSION` (1). Its canonical paths are the seed's: `/api/...`
  (and `/`, `/health`), as INTERFACES.md lists them; these are what OpenAPI documents.
- `/api/v1/...` is the same API under an explicit version: every `/api/...` operation
  answers there too (the path is rewritten before routing, so it is one route, counted once
  against the operation budget, and never documented twice).
- Every `/api` answer says `API-Version: 1`.
- A breaking change (`agentos governance diff` classifies them) is either accepted in
  `docs/api-changes-accepted.json` with its reason, or made as a new operation while the
  old one stays, deprecated: `deprecated: true` in OpenAPI with its `x-sunset` date and
  successor, and every answer of it carries `Deprecation` (RFC 9745), `Sunset` (RFC 8594)
  and `Link: <successor>; rel="successor-version"` until the sunset, when it is removed.
  A breaking change of a whole version would ship as `/api/v2/...`, with v1 deprecated.

`agentos governance check` enforces it (rules `version.*`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from email.utils import formatdate

from starlette.routing import compile_path
from starlette.types import Scope

API_VERSION = 1
VERSION_HEADER = "API-Version"
API_PREFIX = "/api/"
VERSIONED_PREFIX = f"/api/v{API_VERSION}/"


@dataclass(frozen=True)
class Deprecation:
    """A deprecated operation: since when, until when, and what replaces it."""

    method: str
    path: str  # the path template, as routed
    since: date
    sunset: date
    successor: str
    documented: bool = False  # False: an undocumented alias kept for old clients

    def headers(self) -> list[tuple[bytes, bytes]]:
        since = calendar.timegm(self.since.timetuple())
        sunset = formatdate(calendar.timegm(self.sunset.timetuple()), usegmt=True)
        return [
            (b"deprecation", f"@{since}".encode()),
            (b"sunset", sunset.encode()),
            (b"link", f'<{self.successor}>; rel="successor-version"'.encode()),
        ]


# Everything deprecated, with its dates. An entry past its sunset fails the governance check.
DEPRECATIONS: tuple[Deprecation, ...] = (
    Deprecation(
        "GET",
        "/api/admin/managers",
        since=date(2026, 1, 15),
        sunset=date(2026, 12, 31),
        successor="/api/admin/ssot/managers",
    ),
)


def canonical_path(path: str) -> str:
    """`/api/v1/jobs/today` -> `/api/jobs/today`; anything else unchanged."""
    if path.startswith(VERSIONED_PREFIX):
        return API_PREFIX + path[len(VERSIONED_PREFIX) :]
    return path


class VersionPolicy:
    """Routes `/api/v1/...` as `/api/...`; says `API-Version` on `/api` answers and the
    deprecation headers on a deprecated operation's answers (applied by server/edge.py)."""

    def __init__(self, deprecations: tuple[Deprecation, ...] = DEPRECATIONS) -> None:
        self.deprecations = [
            (item, compile_path(item.path)[0], item.headers()) for item in deprecations
        ]

    def route(self, scope: Scope) -> Scope:
        """The scope as routed: a versioned path rewritten to its canonical one."""
        path: str = scope["path"]
        if not path.startswith(VERSIONED_PREFIX):
            return scope
        scope = {**scope, "path": canonical_path(path)}
        raw: bytes | None = scope.get("raw_path")
        if raw is not None and raw.startswith(VERSIONED_PREFIX.encode()):
            scope["raw_path"] = API_PREFIX.encode() + raw[len(VERSIONED_PREFIX) :]
        return scope

    def headers(self, method: str, canonical: str) -> list[tuple[bytes, bytes]]:
        """What an answer to `method canonical` says about the version."""
        if not canonical.startswith(API_PREFIX):
            return []
        extra = [_VERSION_HEADER]
        for item, regex, headers in self.deprecations:
            if item.method == method and regex.match(canonical):
                extra.extend(headers)
        return extra


_VERSION_HEADER = (VERSION_HEADER.lower().encode(), str(API_VERSION).encode())
