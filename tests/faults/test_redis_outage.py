"""Redis killed (SIGKILL, no persistence) under a steady mixed load, then started again.

While it is down: the SSOT is served `direct` with no 5xx, user reads answer, the HTTP
rate limits are per process (still refusing, never open), admin actions fail fast with
503 and a clear code and are audited. Once it is back: everything recovers within 5 s
with no process restarted, the running job completes, and the Celery worker (which lost
its broker) takes new work again.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from agentos.cli.processes import choose_runner
from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.faults.checks import lost_actions, verify_audit
from tests.faults.conftest import fault_settings, tokens
from tests.faults.load import MixedLoad, Sample, statuses
from tests.faults.private import PrivateRedis
from tests.support.pipeline import make_video, steps, submit, wait_for, wait_terminal
from tests.support.served import served

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.slow]
RECOVERY_BOUND_S = 5.0  # the bound, from Redis answering again
ACTION_OUTAGE_CODES = {
    "RATELIMIT_UNAVAILABLE",
    "IDEMPOTENCY_UNAVAILABLE",
    "CACHE_UNAVAILABLE",
    "BUS_UNAVAILABLE",
    "REDIS_UNAVAILABLE",
    "BREAKER_UNAVAILABLE",
}


def _limit_probe(base: str, token: str, count: int = 12) -> list[int]:
    """`count` upload chunks for no upload, as fast as possible: the upload tier
    (6/min in these tests) refuses past its limit before the route looks at the upload."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=15.0) as client:
        return [
            client.post(
                f"{base}/api/upload/chunk",
                params={"upload_id": str(uuid.uuid4()), "index": 0},
                content=b"x",
                headers=headers,
            ).status_code
            for _ in range(count)
        ]


def _recovered(load: MixedLoad, since: float, kind: str) -> Callable[[Sample], bool]:
    if kind == "ssot":
        return lambda s: s.status == 200 and s.cache in ("HIT", "MISS")
    return lambda s: s.status == 200


def test_redis_killed_and_restarted_under_load(
    private_redis: PrivateRedis,
    postgres_url: str,
    workers: Callable[..., subprocess.Popen[bytes]],
    make_runtime_for: Callable[[Settings], Runtime],
    tmp_path: Path,
) -> None:
    settings = fault_settings(postgres_url, private_redis.url, tmp_path / "home")
    runtime = make_runtime_for(settings)
    admin, user = tokens(runtime)
    limited_user = tokens(runtime)[1]
    workers(settings, runtime, "steady", slow_scenes=True)
    app = create_app(runtime, runner=choose_runner)
    with served(app) as base, MixedLoad([base], user, admin, pace_s=0.1) as load:
        job_id = submit(runtime, make_video(tmp_path, scenes=10, scene_s=4.0))
        wait_for(
            lambda: any(
                s.agent == "scenes" and s.status == "running" for s in steps(runtime, job_id)
            ),
            timeout_s=60,
            what="the job to be in its scenes stage",
        )
        before_probe = _limit_probe(base, limited_user)
        assert 429 in before_probe, before_probe

        private_redis.kill()
        down_at = time.monotonic()
        time.sleep(1.0)
        during_probe = _limit_probe(base, limited_user)
        time.sleep(3.0)
        private_redis.start()
        up_at = time.monotonic()

        recovered = {
            kind: load.wait_until(up_at, kind, _recovered(load, up_at, kind), timeout_s=30)
            for kind in ("ssot", "action", "health", "user")
        }
        final = wait_terminal(runtime, job_id, timeout_s=120)
        # The worker's broker connection came back: it takes a new job's messages.
        second = submit(runtime, make_video(tmp_path, scenes=2))
        second_final = wait_terminal(runtime, second, timeout_s=120)
        time.sleep(0.5)
    outage = load.between(down_at, up_at)
    everything = load.samples
    recovery_s = {kind: round(s.at - up_at, 3) for kind, s in recovered.items()}
    action_outage = [s for s in outage if s.kind == "action" and s.status != 200]
    print(
        f"\nredis outage: {up_at - down_at:.1f}s; answers during it: {statuses(outage)}"
        f"\nrecovery after redis answered (s): {recovery_s}"
        f"\nslowest refused action during the outage: "
        f"{max((s.elapsed_s for s in action_outage), default=0):.3f}s"
        f"\nlimit probe before {before_probe} during {during_probe}"
    )
    # No 5xx for readers, before, during or after.
    bad = [s for s in everything if s.kind in ("user", "ssot") and s.status != 200]
    assert not bad, statuses(bad)
    ssot_outage = [s for s in outage if s.kind == "ssot"]
    assert ssot_outage
    assert any(s.cache == "DIRECT" for s in ssot_outage), statuses(ssot_outage)
    # Limits degrade to per-process ones: still refusing, never open.
    assert 429 in during_probe, during_probe
    # Admin actions: 503 with a clear code while Redis is down, never 500.
    assert action_outage, statuses(outage)
    assert {s.status for s in action_outage} == {503}, statuses(action_outage)
    assert {s.code for s in action_outage} <= ACTION_OUTAGE_CODES, statuses(action_outage)
    assert not [s for s in everything if s.status >= 500 and s.kind != "health" and s.status != 503]
    assert all(value <= RECOVERY_BOUND_S for value in recovery_s.values()), recovery_s
    assert final.status == "completed", (final.status, final.error)
    assert second_final.status == "completed", (second_final.status, second_final.error)
    assert lost_actions(runtime, everything) == []
    verify_audit(runtime)
