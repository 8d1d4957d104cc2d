"""Schema migrations. Placeholder until Alembic lands: creates the tables from the models."""

from __future__ import annotations

from sqlalchemy import Engine

from agentos.db import models  # noqa: F401  (registers every table)
from agentos.db.base import Base


def upgrade_to_head(engine: Engine) -> None:
    Base.metadata.create_all(engine)
