"""Lockout, client IP behind proxies, rate-limit tiers, body limit and CORS over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.types import Message

from agentos.db.models import SystemEvent
from agentos.server.app import create_app
from agentos.server.deps import ClientIpDep, resolve_client_ip
from agentos.server.ratelimit import UserRateLimit, windows
from agentos.services.runtime import Runtime
from agentos.services.security import lockout, users
from agentos.settings import Settings
from tests.support.auth import TEST_PASSWORD, auth_headers, create_user_and_token

LOGIN = "/api/auth/login"


def _client(runtime: Runtime, ip: str = "198.51.100.7", **updates: object) -> TestClient:
    app = create_app(runtime.settings.model_copy(update=updates))
    _add_probe_routes(app)
    return TestClient(app, client=(ip, 40000))


def _add_probe_routes(app: FastAPI) -> None:
    def ip(client_ip: ClientIpDep) -> dict[str, str]:
        return {"ip": client_ip}

    async def consume(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"size": size}

    def user_limited() -> dict[str, bool]:
        return {"ok": True}

    app.add_api_route("/test/ip", ip, methods=["GET"])
    app.add_api_route("/test/consume", consume, methods=["POST"])
    app.add_api_route("/test/user", user_limited, methods=["GET"], dependencies=[UserRateLimit])


def _login(client: TestClient, username: str, password: str) -> tuple[int, dict[str, object]]:
    response = client.post(LOGIN, json={"username": username, "password": password})
    return response.status_code, response.json()


# --- lockout --------------------------------------------------------------------------


def test_lockout_same_answer_for_unknown_wrong_and_locked(
    settings: Settings, runtime: Runtime
) -> None:
    create_user_and_token(runtime, role="user", username="lena")
    attacker = _client(runtime, ratelimit_public_per_min=1000)
    elsewhere = _client(runtime, ip="203.0.113.50", ratelimit_public_per_min=1000)
    status, unknown = _login(elsewhere, "nobody", "whatever1")
    assert status == 401
    assert unknown["error_code"] == "INVALID_CREDENTIALS"
    for _ in range(5):
        status, wrong = _login(attacker, "lena", "wrong password")
        assert status == 401
        assert (wrong["error"], wrong["error_code"]) == (unknown["error"], unknown["error_code"])

    status, locked = _login(attacker, "lena", TEST_PASSWORD)  # the right password, too late
    assert status == 401
    assert (locked["error"], locked["error_code"]) == (unknown["error"], unknown["error_code"])
    # The account is locked from everywhere; the IP is locked for every account.
    assert _login(elsewhere, "lena", TEST_PASSWORD)[0] == 401
    create_user_and_token(runtime, role="user", username="mark")
    assert _login(attacker, "mark", TEST_PASSWORD)[0] == 401
    assert _login(elsewhere, "mark", TEST_PASSWORD)[0] == 200
    with runtime.session() as session:
        count = session.scalar(select(func.count()).where(SystemEvent.kind == "login_lockout"))
    assert count == 1

    with runtime.session() as session:
        lockout.clear_ip(session, ip="198.51.100.7")
        user = users.get_by_username(session, "lena")
        assert user is not None
        users.unlock(session, user_id=user.id)
    assert _login(attacker, "lena", TEST_PASSWORD)[0] == 200


def test_disabled_user_cannot_log_in(settings: Settings, runtime: Runtime) -> None:
    user_id, _ = create_user_and_token(runtime, role="user", username="dora")
    with runtime.session() as session:
        users.disable(session, user_id=user_id)
    status, body = _login(_client(runtime), "dora", TEST_PASSWORD)
    assert (status, body["error_code"]) == (401, "INVALID_CREDENTIALS")


# --- client IP ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", ["1.2.3.4"], [], "203.0.113.9"),
        ("203.0.113.9", ["1.2.3.4"], ["10.0.0.0/8"], "203.0.113.9"),
        ("10.0.0.2", ["1.2.3.4"], ["10.0.0.0/8"], "1.2.3.4"),
        ("10.0.0.2", ["6.6.6.6, 1.2.3.4, 10.0.0.3"], ["10.0.0.0/8"], "1.2.3.4"),
        ("10.0.0.2", ["6.6.6.6", "1.2.3.4"], ["10.0.0.0/8"], "1.2.3.4"),
        ("10.0.0.2", ["garbage, 10.0.0.3"], ["10.0.0.0/8"], "10.0.0.2"),
        ("10.0.0.2", [], ["10.0.0.0/8"], "10.0.0.2"),
        ("::1", ["2001:db8::5"], ["::1/128"], "2001:db8::5"),
    ],
)
def test_resolve_client_ip(
    peer: str, forwarded: list[str], trusted: list[str], expected: str
) -> None:
    assert resolve_client_ip(peer, forwarded, trusted) == expected


def test_forged_forwarded_for_is_ignored_unless_from_trusted_proxy(
    settings: Settings, runtime: Runtime
) -> None:
    forged = {"X-Forwarded-For": "1.2.3.4"}
    direct = _client(runtime, ip="203.0.113.9", trusted_proxies=["10.0.0.0/8"])
    assert direct.get("/test/ip", headers=forged).json() == {"ip": "203.0.113.9"}
    proxied = _client(runtime, ip="10.1.2.3", trusted_proxies=["10.0.0.0/8"])
    chain = {"X-Forwarded-For": "6.6.6.6, 1.2.3.4"}
    assert proxied.get("/test/ip", headers=chain).json() == {"ip": "1.2.3.4"}


def test_lockout_behind_proxy_counts_the_real_client(settings: Settings, runtime: Runtime) -> None:
    proxy = _client(
        runtime, ip="10.0.0.2", trusted_proxies=["10.0.0.0/8"], ratelimit_public_per_min=1000
    )
    for _ in range(5):
        proxy.post(
            LOGIN,
            json={"username": "ghost", "password": "nope-nope"},
            headers={"X-Forwarded-For": "192.0.2.66"},
        )
    with runtime.session() as session:
        assert lockout.is_locked(session, username="someone", ip="192.0.2.66")
        assert not lockout.is_locked(session, username="someone", ip="10.0.0.2")


# --- rate limits --------------------------------------------------------------------------


def test_burst_interpretation() -> None:
    seed = Settings()
    assert [(w.limit, w.window_s) for w in windows(seed, "public")] == [(10, 60), (4, 10)]
    assert [(w.limit, w.window_s) for w in windows(seed, "user")] == [(100, 60), (34, 10)]
    flat = seed.model_copy(update={"ratelimit_burst_factor": 0})
    assert [(w.limit, w.window_s) for w in windows(flat, "admin_read")] == [(500, 60)]


def test_public_tier_429_after_ten_requests(settings: Settings, runtime: Runtime) -> None:
    client = _client(runtime, ratelimit_burst_factor=0)
    for number in range(1, 11):
        response = client.get("/")
        assert response.status_code == 200
        assert response.headers["RateLimit"].startswith(f"limit=10, remaining={10 - number},")
        assert response.headers["RateLimit-Policy"] == "10;w=60"
    refused = client.get("/health")
    assert refused.status_code == 429
    assert refused.json()["error_code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Policy"] == "10;w=60"
    assert "remaining=0" in refused.headers["RateLimit"]
    # Counted per IP: another client is unaffected.
    other = TestClient(client.app, client=("198.51.100.8", 40000))
    assert other.get("/").status_code == 200


def test_public_burst_window(settings: Settings, runtime: Runtime) -> None:
    client = _client(runtime)
    statuses = [client.get("/").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    refused = client.get("/")
    assert refused.headers["RateLimit-Policy"] == "4;w=10"


def test_user_tier_counts_per_user(settings: Settings, runtime: Runtime) -> None:
    client = _client(runtime, ratelimit_user_per_min=3, ratelimit_burst_factor=0)
    _, first = create_user_and_token(runtime, role="user")
    _, second = create_user_and_token(runtime, role="user")
    codes = [client.get("/test/user", headers=auth_headers(first)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/test/user", headers=auth_headers(second)).status_code == 200
    assert client.get("/test/user").status_code == 401


def test_rate_limit_shared_by_two_servers_on_redis(
    settings: Settings, runtime: Runtime, make_runtime: Callable[[Settings], Runtime]
) -> None:
    if settings.is_embedded:
        pytest.skip("embedded counters are per process by design")
    one = _client(runtime, ratelimit_burst_factor=0, ratelimit_public_per_min=4)
    two = _client(runtime, ratelimit_burst_factor=0, ratelimit_public_per_min=4)
    # A second, independent set of Redis connections stands in for another server process.
    two.app.state.backends = make_runtime(settings).backends  # type: ignore[attr-defined]
    try:
        codes = [(one if index % 2 else two).get("/").status_code for index in range(5)]
    finally:
        two.app.state.backends.close()  # type: ignore[attr-defined]
    assert codes == [200, 200, 200, 200, 429]


# --- body limit and CORS ------------------------------------------------------------------


def test_declared_oversized_body_is_413(settings: Settings, runtime: Runtime) -> None:
    client = _client(runtime, max_request_bytes=2048)
    response = client.post(LOGIN, content=b"x" * 4096, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error_code"] == "PAYLOAD_TOO_LARGE"
    assert response.json()["success"] is False


def test_streamed_oversized_body_is_413_before_it_is_read_whole(
    settings: Settings, runtime: Runtime
) -> None:
    app = _client(runtime, max_request_bytes=2048).app
    token = create_user_and_token(runtime, role="user")[1]
    pulled: list[int] = []
    sent: list[Message] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/test/consume",
        "raw_path": b"/test/consume",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"transfer-encoding", b"chunked"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("198.51.100.7", 40000),
        "server": ("testserver", 80),
    }

    async def receive() -> Message:
        pulled.append(1024)
        return {"type": "http.request", "body": b"y" * 1024, "more_body": len(pulled) < 1000}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error_code"] == "PAYLOAD_TOO_LARGE"
    assert len(pulled) == 3  # stopped at the first chunk over the limit, not 1000 chunks


def test_cors_only_for_configured_origins(settings: Settings, runtime: Runtime) -> None:
    allowed = "https://console.example"
    client = _client(runtime, cors_origins=[allowed], ratelimit_public_per_min=1000)
    ok = client.get("/", headers={"Origin": allowed})
    assert ok.headers["access-control-allow-origin"] == allowed
    denied = client.get("/", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in denied.headers
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    assert client.options(LOGIN, headers=preflight).status_code == 400
    good_preflight = {"Origin": allowed, "Access-Control-Request-Method": "POST"}
    assert client.options(LOGIN, headers=good_preflight).status_code == 200

    default = _client(runtime)
    response = default.get("/", headers={"Origin": allowed})
    assert "access-control-allow-origin" not in response.headers
