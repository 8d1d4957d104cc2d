"""A denied admin read answers 403 and is audited on both deployments: the read's own
session must not hold SQLite's write lock while the denial is written (it answered 503
`database is locked` on the embedded default)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agentos.db.models import AuditRecord
from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from tests.support.auth import auth_headers, create_user_and_token

OUTSIDE = ("203.0.113.9", 50000)
READS = {
    "/api/admin/ssot/managers": "read:managers",
    "/api/admin/action/status": "read:action.status",
}


@pytest.mark.parametrize("path", sorted(READS))
def test_a_read_from_outside_the_allow_list_is_403_and_audited(runtime: Runtime, path: str) -> None:
    headers = auth_headers(create_user_and_token(runtime, role="admin")[1])
    with TestClient(create_app(runtime), client=OUTSIDE) as client:
        response = client.get(path, headers=headers)
    assert response.status_code == 403, response.text
    assert response.json()["error_code"] == "IP_NOT_ALLOWED"
    with runtime.session() as session:
        outcomes = session.scalars(
            select(AuditRecord.outcome).where(AuditRecord.action == READS[path])
        ).all()
    assert outcomes == ["denied"]
