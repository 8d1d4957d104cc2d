"""The web pages: the admin console at `/admin` and the API documentation at `/docs` and
`/redoc`, all from files shipped in the package (`agentos.web`), same origin, no CDN.

Nothing here writes data: the console is static files that call the API (the SSOT, `/ws`,
the action endpoint) with the token the user logs in with. The one read is a file too: a
clip's video or thumbnail for the job page (`/admin/clips/{id}/{video|thumbnail}`, bearer
token, the clip's visibility rules in `services.clips`). The console's
files are served only to the admin IP allow-list (as the admin API is); the docs pages
are public, like `/openapi.json`. None of these routes is in the OpenAPI description.
Each answer carries the page Content-Security-Policy of its path (`middleware.security_headers`).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentos.server.deps import CurrentActorDep, SessionDep, client_ip
from agentos.server.errors import error_body
from agentos.services import clips
from agentos.services.clips import ClipPart
from agentos.services.security import ipallow
from agentos.web import ADMIN_DIR, DOCS_DIR

ADMIN_PATH = "/admin"
ADMIN_ASSETS = "/admin/assets"
DOCS_ASSETS = "/docs/assets"
# Revalidated on every load (ETag / Last-Modified answer 304), so an upgrade shows at once.
# What this module serves, for listings such as the governance report (not API operations:
# no OpenAPI entry, no rate limit, not counted in the endpoint budget).
PAGES: tuple[tuple[str, str], ...] = (
    ("GET", ADMIN_PATH),
    ("GET", f"{ADMIN_ASSETS}/{{path}}"),
    ("GET", f"{ADMIN_PATH}/clips/{{clip_id}}/{{part}}"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
    ("GET", f"{DOCS_ASSETS}/{{path}}"),
)
NO_CACHE = {"Cache-Control": "no-cache"}
MEDIA_TYPES = {"video": "video/mp4", "thumbnail": "image/jpeg"}
NO_CACHE_HEADER = (b"cache-control", b"no-cache")

router = APIRouter(include_in_schema=False)


def _refusal(request: Request, ip: str) -> JSONResponse:
    body = error_body(
        request, message=f"the admin console is not available from {ip}", code="IP_NOT_ALLOWED"
    )
    return JSONResponse(body, status_code=403)


async def _allowed(request: Request) -> str | None:
    """None when the client may load the console, else its address."""
    ip = client_ip(request)
    allowed = await run_in_threadpool(ipallow.is_allowed, request.app.state.runtime, ip)
    return None if allowed else ip


class PackageFiles:
    """Static files of the package, revalidated on each load; with `allow_listed`, for the
    admin allow-list only (the same list as the admin API)."""

    def __init__(self, directory: Path, *, allow_listed: bool) -> None:
        self.files: ASGIApp = StaticFiles(directory=directory)
        self.allow_listed = allow_listed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allow_listed:
            request = Request(scope)
            refused_ip = await _allowed(request)
            if refused_ip is not None:
                await _refusal(request, refused_ip)(scope, receive, send)
                return

        async def send_no_cache(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), NO_CACHE_HEADER]
            await send(message)

        await self.files(scope, receive, send_no_cache)


@router.api_route(ADMIN_PATH, methods=["GET", "HEAD"])
async def admin_console(request: Request) -> Response:
    refused_ip = await _allowed(request)
    if refused_ip is not None:
        return _refusal(request, refused_ip)
    return FileResponse(ADMIN_DIR / "index.html", headers=NO_CACHE)


@router.api_route(f"{ADMIN_PATH}/", methods=["GET", "HEAD"])
def admin_console_slash() -> RedirectResponse:
    return RedirectResponse(ADMIN_PATH, status_code=308)


@router.get(f"{ADMIN_PATH}/clips/{{clip_id}}/{{part}}")
async def clip_file(
    request: Request,
    clip_id: uuid.UUID,
    part: ClipPart,
    session: SessionDep,
    actor: CurrentActorDep,
) -> Response:
    """A clip's video or thumbnail for the console's job page, to a caller who may see the
    job (fetched with the bearer token and shown as a blob: URL; byte ranges honoured)."""
    refused_ip = await _allowed(request)
    if refused_ip is not None:
        return _refusal(request, refused_ip)
    path = await run_in_threadpool(
        clips.media_file, session, clip_id=clip_id, actor=actor, part=part
    )
    return FileResponse(path, media_type=MEDIA_TYPES[part], headers={"Cache-Control": "private"})


@router.api_route("/docs", methods=["GET", "HEAD"])
def swagger_ui() -> FileResponse:
    return FileResponse(DOCS_DIR / "swagger.html", headers=NO_CACHE)


@router.api_route("/redoc", methods=["GET", "HEAD"])
def redoc() -> FileResponse:
    return FileResponse(DOCS_DIR / "redoc.html", headers=NO_CACHE)


def install(app: FastAPI) -> None:
    """The pages and their files (the app is created with FastAPI's own docs pages off)."""
    app.include_router(router)
    app.mount(ADMIN_ASSETS, PackageFiles(ADMIN_DIR, allow_listed=True), name="admin-assets")
    app.mount(DOCS_ASSETS, PackageFiles(DOCS_DIR, allow_listed=False), name="docs-assets")
