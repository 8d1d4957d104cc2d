"""Long-running processes the CLI starts: the API server, Celery worker and beat."""

from __future__ import annotations

import uvicorn

from agentos.settings import get_settings


def serve(*, host: str, port: int, reload: bool, log_level: str = "info") -> None:
    settings = get_settings()
    settings.ensure_home()
    uvicorn.run(
        "agentos.server.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        log_level=log_level,
        proxy_headers=False,
        server_header=False,
    )
