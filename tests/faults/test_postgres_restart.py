"""PostgreSQL stopped (fast shutdown: every session cut) under a steady mixed load, then
started again on the same port.

While it is down every answer that is not a 2xx is a 503 with a code (never a 500); once
it is back every caller recovers with no process restarted; afterwards every admin action
that answered 2xx has exactly one audit record and its effect (and a refused one none),
the audit chain verifies, and the job that was running completes.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agentos.cli.processes import choose_runner
from agentos.server.app import create_app
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.faults.checks import lost_actions, verify_audit
from tests.faults.conftest import fault_settings, tokens
from tests.faults.load import MixedLoad, statuses
from tests.faults.private import PrivatePostgres, PrivateRedis
from tests.support.pipeline import make_video, steps, submit, wait_for, wait_terminal
from tests.support.served import served

pytestmark = [pytest.mark.faults, pytest.mark.slow]
RECOVERY_BUDGET_S = 30.0  # a generous deadline; the measured times are printed


def test_postgres_restarted_under_load(
    private_postgres: PrivatePostgres,
    migrated_private_database: str,
    private_redis: PrivateRedis,
    workers: Callable[..., subprocess.Popen[bytes]],
    make_runtime_for: Callable[[Settings], Runtime],
    tmp_path: Path,
) -> None:
    settings = fault_settings(migrated_private_database, private_redis.url, tmp_path / "home")
    runtime = make_runtime_for(settings)
    admin, user = tokens(runtime)
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
        time.sleep(1.0)
        private_postgres.stop("fast")
        down_at = time.monotonic()
        time.sleep(4.0)
        private_postgres.start()
        up_at = time.monotonic()
        recovered = {
            kind: load.wait_until(
                up_at, kind, lambda s: s.status == 200, timeout_s=RECOVERY_BUDGET_S
            )
            for kind in ("ssot", "action", "health", "user")
        }
        final = wait_terminal(runtime, job_id, timeout_s=180)
        time.sleep(0.5)
    outage = load.between(down_at, up_at)
    everything = load.samples
    recovery_s = {kind: round(s.at - up_at, 3) for kind, s in recovered.items()}
    print(
        f"\npostgres down {up_at - down_at:.1f}s; answers during it: {statuses(outage)}"
        f"\nrecovery after postgres answered (s): {recovery_s}"
        f"\nall answers: {statuses(everything)}"
        f"\njob: {final.status} attempts={final.attempts} error={final.error}"
    )
    failures = [s for s in everything if s.status >= 500 or s.status == 0]
    assert all(s.status == 503 and s.code for s in failures), statuses(failures)
    assert [s for s in outage if s.status == 503], "the outage was not seen"
    assert lost_actions(runtime, everything, errors_audited=False) == []
    verify_audit(runtime)
    assert final.status == "completed", (final.status, final.error)
