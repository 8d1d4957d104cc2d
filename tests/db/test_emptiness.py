"""What the system writes for itself does not make a database 'non-empty' for reset-and-seed."""

from __future__ import annotations

from agentos.db.migrate import database_is_empty
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.services.security import users
from agentos.settings import Settings


def test_defaults_and_bookkeeping_do_not_count_but_users_do(
    settings: Settings, runtime: Runtime
) -> None:
    with runtime.session() as session:
        ensure_default_agents(session)
    assert database_is_empty(runtime.engine)
    with runtime.session() as session:
        users.create(session, username="someone", role="user", password="a-long-password")
    assert not database_is_empty(runtime.engine)
