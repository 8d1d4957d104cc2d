"""Request-scoped dependencies, as `Annotated` aliases routes can share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from agentos.services.backends.base import Backends
from agentos.settings import Settings


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_app_backends(request: Request) -> Backends:
    backends: Backends = request.app.state.backends
    return backends


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_trace_id(request: Request) -> str | None:
    trace_id: str | None = getattr(request.state, "trace_id", None)
    return trace_id


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
BackendsDep = Annotated[Backends, Depends(get_app_backends)]
# scope="function": the commit happens when the route returns, before the response leaves.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
TraceIdDep = Annotated[str | None, Depends(get_trace_id)]
