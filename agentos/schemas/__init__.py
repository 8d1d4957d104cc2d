"""Pydantic models exchanged between the core and every front end (no SQLAlchemy here)."""
