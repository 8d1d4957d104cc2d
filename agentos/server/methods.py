"""405 for a literal path asked with a method it does not have.

Starlette matches routes in order, so `GET /api/jobs/create` (a POST-only path) reached
`GET /api/jobs/{job_id}` and answered 422 about a job id, and `OPTIONS /api/agents/config`
named only the first route's method in `Allow`. A path some route names literally is that
resource: any other method answers 405 with every method its routes have.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import Scope

from agentos.server.errors import error_body


def literal_paths(routes: Sequence[BaseRoute]) -> dict[str, frozenset[str]]:
    """Every parameterless HTTP path of the routes, with all its methods."""
    found: dict[str, set[str]] = {}
    for context in iter_route_contexts(routes):
        path, methods = context.path_format, context.methods
        if isinstance(path, str) and methods and "{" not in path:
            found.setdefault(path, set()).update(methods)
    return {path: frozenset(methods) for path, methods in found.items()}


class MethodTable:
    """The literal paths and their methods, read from the routes on the first request
    (every route is in by then)."""

    def __init__(self, routes: Callable[[], Sequence[BaseRoute]]) -> None:
        self.routes = routes
        self._table: dict[str, frozenset[str]] | None = None

    def table(self) -> dict[str, frozenset[str]]:
        if self._table is None:
            self._table = literal_paths(self.routes())
        return self._table

    def refusal(self, scope: Scope) -> Response | None:
        """405 with `Allow` for a literal path asked with another method, else None."""
        allowed = self.table().get(scope["path"])
        if not allowed or scope["method"] in allowed:
            return None
        message = f"{scope['method']} is not allowed here; allowed: {', '.join(sorted(allowed))}"
        body = error_body(Request(scope), message=message, code="METHOD_NOT_ALLOWED")
        return JSONResponse(body, status_code=405, headers={"Allow": ", ".join(sorted(allowed))})
