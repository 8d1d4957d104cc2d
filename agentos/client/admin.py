"""Operator reads for the dashboards (TUI): the SSOT document, audit trail, settings.

Local calls read the service layer as the configured local operator; remote calls use the
HTTP API (`/api/admin/ssot`, `/api/admin/action/status`). Jobs come from `client.jobs`;
every write goes through the admin action pipeline (`client.actions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from agentos.client import actions
from agentos.client.connection import Connection
from agentos.errors import InvalidError
from agentos.schemas.admin import AdminDocument, CacheMeta
from agentos.schemas.audit import AuditRecordRead
from agentos.schemas.audit_read import RuntimeSettingRead
from agentos.services import admin_data
from agentos.services.security import audit_read

SECRET_SUFFIXES = ("secret", "password", "secret_key")


@dataclass(frozen=True)
class Snapshot:
    """The admin document and what the cache said about it."""

    document: AdminDocument
    cache: CacheMeta


def snapshot(conn: Connection) -> Snapshot:
    if conn.local:
        cached = admin_data.get_document(conn.settings)
        return Snapshot(AdminDocument.model_validate_json(cached.body), cached.meta())
    body = conn.raw_request("GET", "/api/admin/ssot").json()
    return Snapshot(
        AdminDocument.model_validate(body["data"]), CacheMeta.model_validate(body["cache"])
    )


def audit_records(
    conn: Connection, *, query: str | None = None, limit: int = 50
) -> list[AuditRecordRead]:
    """Newest audit records first; remotely, the action status page's recent executions."""
    if conn.local:
        with conn.session() as session:
            return audit_read.search(session, query=query, limit=limit)
    records = actions.action_status(conn, recent=min(limit, 200), window_hours=1).recent
    if not query:
        return records
    needle = query.lower()
    return [
        record
        for record in records
        if any(
            needle in (value or "").lower()
            for value in (record.action, record.actor_name, record.outcome, record.trace_id)
        )
    ]


def runtime_settings(conn: Connection) -> list[RuntimeSettingRead]:
    """The runtime `settings` table; remotely through `config.get` once it is registered."""
    if conn.local:
        with conn.session() as session:
            return audit_read.runtime_settings(session)
    if actions.describe(conn, "config.get") is None:
        raise InvalidError(
            "the server offers no config.get action yet; runtime settings are readable locally",
            code="NOT_AVAILABLE_REMOTELY",
        )
    result = actions.run(conn, "config.get").result
    items = result.get("settings") or result.get("items") or []
    return [RuntimeSettingRead.model_validate(item) for item in items]


def settings_summary(conn: Connection) -> list[tuple[str, str]]:
    """(name, value) of the configuration in use, secrets masked; remotely the server's identity."""
    if not conn.local:
        info = conn.request("GET", "/")
        return [("server", str(conn.server))] + [
            (str(key), str(value)) for key, value in (info or {}).items()
        ]
    settings = conn.settings
    rows = [("deployment", "embedded" if settings.is_embedded else "distributed")]
    for name in type(settings).model_fields:
        rows.append((name, _masked(name, getattr(settings, name))))
    return rows


def _masked(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, SecretStr) or name.lower().endswith(SECRET_SUFFIXES):
        return "****" if value else "-"
    text = str(value)
    if "://" in text and "@" in text:
        scheme, rest = text.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:****@{host}" if ":" in credentials else text
    return text
