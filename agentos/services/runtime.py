"""What a service reaches through its session: the settings and the backends in use."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentos.errors import InternalError
from agentos.services.backends import get_backends
from agentos.services.backends.base import Backends
from agentos.settings import Settings


def settings_of(session: Session) -> Settings:
    settings = session.info.get("settings")
    if not isinstance(settings, Settings):
        raise InternalError("session was not created by agentos.db.session.session_factory")
    return settings


def backends_of(session: Session) -> Backends:
    return get_backends(settings_of(session))
