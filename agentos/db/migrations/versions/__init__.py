"""Revisions: each `down_revision` names the one before it."""
