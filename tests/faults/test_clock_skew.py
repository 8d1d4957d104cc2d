"""Two servers of one deployment whose clocks differ by 10 s.

Server A runs 10 s ahead of server B: while A handles a request, the wall clock its code
reads (`time.time`, `datetime.now` in the token module and in PyJWT) is shifted by +10 s.
Both servers run in this process on their own runtimes (two "processes" sharing the
database and Redis), so the shift is applied around A's requests only.

- Tokens: one minted by A is accepted by B at once (its `iat`/`nbf` are 10 s in B's
  future), and one minted by B by A; the leeway that allows this is bounded (a token from
  much further in the future is still refused).
- Rate limits: the shared sliding window runs on Redis `TIME`, so a client alternating
  between A and B gets exactly the limit, not more.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import jwt.api_jwt
import pytest
from fastapi.testclient import TestClient

from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.services.security import tokens
from agentos.settings import Settings
from tests.faults.conftest import fault_settings
from tests.support import services
from tests.support.auth import TEST_PASSWORD, create_user_and_token

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.redis]
SKEW_S = 10.0
T = TypeVar("T")


class _AnyDatetime(type):
    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, datetime)


def _skewed_datetime(offset_s: float) -> type[datetime]:
    class Skewed(datetime, metaclass=_AnyDatetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) + timedelta(seconds=offset_s)

    return Skewed


@contextmanager
def clock_ahead(monkeypatch: pytest.MonkeyPatch, offset_s: float) -> Iterator[None]:
    real_time = time.time
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: real_time() + offset_s)
        patch.setattr(tokens, "datetime", _skewed_datetime(offset_s))
        patch.setattr(jwt.api_jwt, "datetime", _skewed_datetime(offset_s))
        yield


@pytest.fixture
def deployment(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    settings = fault_settings(postgres_url, redis_url, tmp_path / "home")
    yield settings
    services.flush_redis_prefix(settings)


def test_ten_seconds_of_clock_skew_between_two_servers(
    deployment: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime_a, runtime_b = Runtime(deployment), Runtime(deployment)
    peer = ("127.0.0.1", 5000)
    no_runner: Callable[[Runtime], None] = lambda _runtime: None  # noqa: E731
    try:
        name = f"skew-{uuid.uuid4().hex[:6]}"
        create_user_and_token(runtime_a, role="user", username=name)
        with (
            TestClient(create_app(runtime_a, runner=no_runner), client=peer) as a,
            TestClient(create_app(runtime_b, runner=no_runner), client=peer) as b,
        ):

            def on_a(call: Callable[[], T]) -> T:
                with clock_ahead(monkeypatch, SKEW_S):
                    return call()

            def login(client: TestClient) -> str:
                response = client.post(
                    "/api/auth/login", json={"username": name, "password": TEST_PASSWORD}
                )
                assert response.status_code == 200, response.text
                return str(response.json()["data"]["access_token"])

            def jobs(client: TestClient, token: str) -> Any:
                return client.get("/api/jobs/history", headers={"Authorization": f"Bearer {token}"})

            from_a = on_a(lambda: login(a))
            accepted_by_b = jobs(b, from_a)
            from_b = login(b)
            accepted_by_a = on_a(lambda: jobs(a, from_b))
            assert accepted_by_b.status_code == 200, accepted_by_b.text
            assert accepted_by_a.status_code == 200, accepted_by_a.text

            # The leeway is bounded: a token from far further ahead is refused.
            with clock_ahead(monkeypatch, 10 * tokens.LEEWAY_S):
                far = login(a)
            refused = jobs(b, far)
            assert refused.status_code == 401
            assert refused.json()["error_code"] == "TOKEN_INVALID"

            # One shared window on Redis TIME: A (ahead) and B together admit the limit.
            limit = deployment.ratelimit_upload_per_min
            statuses = []
            for n in range(limit * 2):
                call = lambda c=(a if n % 2 else b): c.post(  # noqa: E731
                    "/api/upload/chunk",
                    params={"upload_id": str(uuid.uuid4()), "index": 0},
                    content=b"x",
                    headers={"Authorization": f"Bearer {from_b}"},
                )
                statuses.append((on_a(call) if n % 2 else call()).status_code)
        admitted = [s for s in statuses if s != 429]
        print(f"\nclock skew {SKEW_S}s: limit {limit}/min, answers {statuses}")
        assert len(admitted) == limit, statuses
    finally:
        runtime_a.close()
        runtime_b.close()
