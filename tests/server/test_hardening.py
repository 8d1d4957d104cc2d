"""Attacks from outside, each reproduced (issue: security hardening), on both deployments.

Bodies are refused before they are read when the caller has no token; every route has a
body limit that fits it; NUL bytes and lone surrogates are refused with 422 wherever they
come from; request data can never open a circuit breaker; every attempt at an action leaves
exactly one audit record, denied ones limited per actor and address.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import DataError, OperationalError
from starlette.types import Message
from typer.testing import CliRunner

from agentos.cli.main import app as cli
from agentos.db.models import AuditRecord, IdempotencyRecord, SystemEvent
from agentos.db.session import build_engine
from agentos.errors import ConflictError, ForbiddenError, RateLimitedError, UnavailableError
from agentos.server.app import create_app
from agentos.services.actions import denials
from agentos.services.backends import breaker
from agentos.services.context import Actor
from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.runtime import Runtime
from agentos.settings import Settings, reset_settings_cache
from tests.services.actions.helpers import run
from tests.support.auth import auth_headers, create_user_and_token

LOCAL = ("127.0.0.1", 50000)
ACTION = "/api/admin/action"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with runtime.session() as session:
        ensure_default_agents(session)
    with TestClient(create_app(runtime, runner=lambda _r: None), client=LOCAL) as test_client:
        yield test_client


def _admin(runtime: Runtime) -> dict[str, str]:
    return auth_headers(create_user_and_token(runtime, role="admin")[1])


def _audit(runtime: Runtime, **where: Any) -> list[AuditRecord]:
    with runtime.session() as session:
        stmt = select(AuditRecord).order_by(AuditRecord.seq)
        for column, value in where.items():
            stmt = stmt.where(getattr(AuditRecord, column) == value)
        return list(session.scalars(stmt))


def _asgi(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """POST a 90 MB body chunk by chunk; (status, chunks the app pulled)."""
    pulled: list[int] = []
    sent: list[Message] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), *headers],
        "client": LOCAL,
        "server": ("testserver", 80),
    }

    async def receive() -> Message:
        pulled.append(1)
        return {"type": "http.request", "body": b" " * 1024 * 1024, "more_body": len(pulled) < 90}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return int(sent[0]["status"]), len(pulled)


# --- 1. bodies: authenticated before they are read, limited by route ----------------------


def test_a_body_without_a_token_is_refused_before_it_is_read(client: TestClient) -> None:
    status, pulled = _asgi(client.app, ACTION, [])
    assert (status, pulled) == (401, 0)
    forged = [(b"authorization", b"Bearer not.a.token")]
    assert _asgi(client.app, ACTION, forged) == (401, 0)


def test_each_route_has_a_body_limit_that_fits_it(client: TestClient, runtime: Runtime) -> None:
    status, pulled = _asgi(client.app, "/api/auth/login", [])
    assert status == 413
    assert pulled == 1  # a login needs kilobytes: refused at the first megabyte
    token = [
        (b"authorization", f"Bearer {create_user_and_token(runtime, role='admin')[1]}".encode())
    ]
    assert _asgi(client.app, ACTION, token)[0] == 413  # an action: 1 MiB at most
    huge = client.post("/api/auth/login", content=b"{}" + b" " * 9000,
                       headers={"Content-Type": "application/json"})  # fmt: skip
    assert huge.status_code == 413
    assert huge.json()["error_code"] == "PAYLOAD_TOO_LARGE"


def test_deep_json_is_refused(client: TestClient, runtime: Runtime) -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    body = {"action": "queue.pause", "payload": {"reason": "r", "x": deep}}
    response = client.post(ACTION, json=body, headers=_admin(runtime))
    assert (response.status_code, response.json()["error_code"]) == (422, "JSON_TOO_DEEP")


# --- 2 and 8. NUL bytes and lone surrogates: 422 wherever they come from ----------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/jobs/history?search=%00", None),
        ("GET", "/api/agents/%00", None),
        ("GET", "/api/jobs/history?search=a%00b", None),
        ("POST", "/api/auth/login", '{"username": "ad\\u0000min", "password": "x"}'),
        (
            "POST",
            "/api/upload/init",
            '{"filename": "a\\u0000.mp4", "total_size": 10, '
            '"sha256": "' + "0" * 64 + '", "chunk_size": 65536}',
        ),
        ("POST", ACTION, '{"action": "audit.verify", "payload": {"reason": "x\\u0000"}}'),
        ("POST", ACTION, '{"action": "audit.verify", "payload": {"reason": "x\\ud800"}}'),
        ("POST", ACTION, '{"action": "audit.verify", "payload": {"reason": "\\udc00"}}'),
    ],
)
def test_nul_and_lone_surrogates_are_422(
    client: TestClient, runtime: Runtime, method: str, path: str, body: str | None
) -> None:
    headers = {**_admin(runtime), "Content-Type": "application/json"}
    response = client.request(method, path, content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error_code"] == "INVALID_STRING"
    assert response.json()["success"] is False


def test_request_data_never_opens_a_breaker(client: TestClient, runtime: Runtime) -> None:
    headers = _admin(runtime)
    nul = {"action": "audit.verify", "payload": {"reason": "x\u0000"}}
    for _ in range(8):
        assert client.post(ACTION, json=nul, headers=headers).status_code == 422
    states = {item.name: item.state for item in breaker.list_breakers(runtime.backends.breakers)}
    assert set(states.values()) == {"closed"}
    ok = client.post(ACTION, json={"action": "audit.verify", "payload": {}}, headers=headers)
    assert ok.status_code == 200


def test_only_dependency_failures_count_against_a_breaker() -> None:
    def error(kind: type[Exception]) -> Exception:
        return kind("INSERT ...", {}, Exception("boom"))  # type: ignore[call-arg]

    assert breaker.counts_as_failure(error(OperationalError))
    assert not breaker.counts_as_failure(error(DataError))
    assert breaker.counts_as_failure(UnavailableError("down"))
    assert not breaker.counts_as_failure(ValueError("a bug, not an outage"))


# --- 3. every attempt leaves exactly one audit record ------------------------------------


def test_refusals_before_the_pipeline_are_audited(client: TestClient, runtime: Runtime) -> None:
    headers = _admin(runtime)
    unknown = client.post(ACTION, json={"action": "no.such", "payload": {}}, headers=headers)
    assert (unknown.status_code, unknown.json()["error_code"]) == (400, "UNKNOWN_ACTION")
    bad = client.post(ACTION, json={"action": "job.cancel", "payload": {"job_id": 7}},
                      headers=headers)  # fmt: skip
    assert (bad.status_code, bad.json()["error_code"]) == (422, "VALIDATION_ERROR")
    shapeless = client.post(ACTION, json=[1, 2], headers=headers)
    assert shapeless.status_code == 400
    rows = _audit(runtime, outcome="rejected")
    assert [(row.action, row.error_code) for row in rows] == [
        ("no.such", "UNKNOWN_ACTION"),
        ("job.cancel", "VALIDATION_ERROR"),
        ("(not an object)", "UNKNOWN_ACTION"),
    ]
    assert rows[1].payload == {"job_id": 7}


def test_a_limiter_outage_fails_fast_and_is_audited(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_: Any, **__: Any) -> None:
        raise UnavailableError("Redis is unavailable (rate limiter)", code="RATELIMIT_UNAVAILABLE")

    # Both ways the limiter decides: one hit, or a batch of permits for the allowance.
    monkeypatch.setattr(runtime.backends.limiter, "hit", down)
    monkeypatch.setattr(runtime.backends.limiter, "acquire", down)
    with pytest.raises(UnavailableError) as refused:
        run(runtime, "queue.pause")
    assert refused.value.code == "RATELIMIT_UNAVAILABLE"
    [record] = _audit(runtime, action="queue.pause")
    assert (record.outcome, record.error_code) == ("rejected", "RATELIMIT_UNAVAILABLE")


def test_denied_attempts_are_limited_and_summed_up(runtime: Runtime) -> None:
    intruder = Actor(name="mallory", role="user", id=uuid.uuid4(), source="api", ip="127.0.0.1")
    for _ in range(denials.PER_ACTOR):
        with pytest.raises(ForbiddenError):
            run(runtime, "queue.pause", who=intruder)
    for _ in range(5):
        with pytest.raises(RateLimitedError) as limited:
            run(runtime, "queue.pause", who=intruder)
        assert limited.value.code == "TOO_MANY_DENIALS"
        assert limited.value.retry_after_s > 0
    outcomes = [row.outcome for row in _audit(runtime, actor_name="mallory")]
    assert outcomes == ["denied"] * denials.PER_ACTOR + ["rate_limited"] * 5
    with runtime.session() as session:
        kinds = list(
            session.scalars(select(SystemEvent.kind).where(SystemEvent.source == "security"))
        )
    assert sorted(kinds) == ["action_denied", "denied_burst"]


def test_http_denials_are_held_by_the_admin_tier(client: TestClient, runtime: Runtime) -> None:
    headers = auth_headers(create_user_and_token(runtime, role="user")[1])
    codes = [
        client.post(ACTION, json={"action": "queue.pause", "payload": {}}, headers=headers)
        for _ in range(25)
    ]
    statuses = [response.status_code for response in codes]
    assert statuses[0] == 403
    assert set(statuses) == {403, 429}
    assert json.loads(codes[-1].text)["error_code"] in ("RATE_LIMITED", "TOO_MANY_DENIALS")
    assert len(_audit(runtime, action="queue.pause")) == statuses.count(403) + sum(
        1 for response in codes if response.json()["error_code"] == "TOO_MANY_DENIALS"
    )


# --- 10. rate limits with the shared limiter down: per process, never open ---------------


def test_http_limits_degrade_to_per_process_when_redis_is_down(settings: Settings) -> None:
    if settings.is_embedded:
        pytest.skip("the embedded limiter is in the process already")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})
    with TestClient(create_app(dead, runner=lambda _r: None), client=("198.51.100.9", 1)) as client:
        codes = [client.get("/").status_code for _ in range(12)]
    # Public tier: 10 a minute, 4 in any 10 s: limited here, as it would be in Redis.
    assert codes[:4] == [200] * 4
    assert 429 in codes


# --- 11. a database outage is 503, and one line with exit 7 in the CLI --------------------


def test_a_database_stopped_mid_run_answers_503(client: TestClient, runtime: Runtime) -> None:
    headers = auth_headers(create_user_and_token(runtime, role="user")[1])
    assert client.get("/api/jobs/history", headers=headers).status_code == 200
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stopped = build_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/gone")
    # The database goes away under the running server, for writers and readers alike.
    runtime.__dict__["engine"] = runtime.__dict__["read_engine"] = stopped
    try:
        for path in ("/api/jobs/history", "/api/queue/status"):
            response = client.get(path, headers=headers)
            assert response.status_code == 503, response.text
            assert response.json()["error_code"] == "DATABASE_UNAVAILABLE"
        login = client.post("/api/auth/login", json={"username": "x", "password": "y"})
        assert (login.status_code, login.json()["error_code"]) == (503, "DATABASE_UNAVAILABLE")
    finally:
        stopped.dispose()


@pytest.mark.parametrize(
    "command", [["jobs", "list"], ["users", "list"], ["db", "check"], ["db", "migrate"]]
)
def test_the_cli_says_the_database_is_down_in_one_line(
    command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AGENTOS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGENTOS_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{port}/x")
    reset_settings_cache()
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 7, result.output
    assert "Traceback" not in result.output
    assert "DATABASE_UNAVAILABLE" in result.output
    reset_settings_cache()


def test_an_unmigrated_home_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGENTOS_HOME", str(tmp_path / "fresh-home"))
    reset_settings_cache()
    result = CliRunner().invoke(cli, ["jobs", "list"])
    assert result.exit_code == 7, result.output
    assert "agentos db migrate" in result.output
    assert "Traceback" not in result.output
    reset_settings_cache()


# --- 14. an idempotency key whose owner died is taken over --------------------------------


def test_a_key_left_in_progress_by_a_dead_process_is_taken_over(runtime: Runtime) -> None:
    dead = {"host": socket.gethostname(), "pid": 2**22 + 7, "started": 0.0}
    store = runtime.backends.idempotency
    with runtime.session() as session:
        assert store.claim(session, scope="user:x", key="k", fingerprint="f") is None
    # A second request while the first one runs: in progress.
    with runtime.session() as session, pytest.raises(ConflictError):
        store.claim(session, scope="user:x", key="k", fingerprint="f")
    _pretend_owner(runtime, dead)  # ... and then the first one is killed (-9)
    with runtime.session() as session:
        assert store.claim(session, scope="user:x", key="k", fingerprint="f") is None


def _pretend_owner(runtime: Runtime, holder: dict[str, Any]) -> None:
    """Rewrite the in-progress marker's owner, as if another process had claimed it."""
    if runtime.settings.is_embedded:
        with runtime.session() as session:
            session.execute(update(IdempotencyRecord).values(response={"owner": holder}))
        return
    store = runtime.backends.idempotency
    client = store.client  # type: ignore[attr-defined]
    for name in client.scan_iter(match=f"{runtime.settings.redis_key_prefix}idem:*"):
        marker = json.loads(client.get(name))
        client.set(name, json.dumps({**marker, "owner": holder}), keepttl=True)
