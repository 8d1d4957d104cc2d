"""Migrations and the schema check."""
