"""Alembic migrations, shipped inside the package (see `agentos.db.migrate`)."""
