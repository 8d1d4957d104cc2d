"""The project's app and its OpenAPI document, built in process: no server, no network, an
embedded deployment in a temporary home with default settings (no `.env`, no AGENTOS_*
overrides of the defaults that shape the document)."""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agentos.governance.model import Subject
from agentos.server.app import create_app
from agentos.settings import Settings


@contextmanager
def project_subject() -> Iterator[Subject]:
    with tempfile.TemporaryDirectory(prefix="agentos-governance-") as home:
        settings = Settings(
            _env_file=None,
            home=Path(home),
            database_url=None,
            redis_url=None,
            cors_origins=[],
        )
        app = create_app(settings)
        try:
            yield Subject(app=app, spec=copy.deepcopy(app.openapi()))
        finally:
            app.state.runtime.close()
