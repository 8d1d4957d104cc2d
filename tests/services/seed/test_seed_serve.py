"""End to end: `agentos db reset-and-seed` on a fresh home, then `agentos serve` on it.

The issue this guards: seeded queued and processing jobs failed within seconds of the
server starting, each with a pydantic dump as its error. Here the seeded jobs a worker
picks up complete, nothing the seed did not fail fails, and no error holds a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from agentos.db.models import Job, ProcessingStep
from agentos.schemas.jobs import JobStatus
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.services.actions.servers import serve, server_env

RUN_BUDGET_S = 90.0
DUMPS = ("Traceback", "validation error", "errors.pydantic.dev")
# The seed's "processing" jobs ran on seed workers that do not exist: the reclaim re-queues
# them once their heartbeats are older than worker_lost_after_s (30 s by default, looked at
# every 30 s). Shorter here, so they run within the test too; the server's own worker
# heartbeats well within that.
QUICK_RECLAIM = {
    "AGENTOS_EMBEDDED_WORKERS": "true",
    "AGENTOS_WORKER_LOST_AFTER_S": "4",
    "AGENTOS_HEARTBEAT_INTERVAL_S": "0.5",
    "AGENTOS_RECLAIM_INTERVAL_S": "1",
}


def _statuses(runtime: Runtime) -> dict[str, str]:
    with runtime.session() as session:
        return {
            str(job_id): status for job_id, status in session.execute(select(Job.id, Job.status))
        }


@pytest.mark.slow
def test_serve_on_a_freshly_seeded_home_completes_the_seeded_work(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")  # a fresh home: nothing migrated yet
    seed = ["reset-and-seed", "--jobs", "36", "--events", "10", "--seed", "8", "--yes", "--json"]
    seeded_run = subprocess.run(
        [str(Path(sys.executable).with_name("agentos")), "db", *seed],
        env=server_env(settings),
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert seeded_run.returncode == 0, seeded_run.stderr.decode(errors="replace")
    summary = json.loads(seeded_run.stdout)
    assert summary["verified"] is True
    assert summary["queue_paused"] is False
    runtime = Runtime(settings)
    try:
        seeded = _statuses(runtime)
        to_run = {job for job, status in seeded.items() if status in {"queued", "processing"}}
        assert to_run

        log = tmp_path / "serve.log"
        with serve(settings, log, **QUICK_RECLAIM):
            deadline = time.monotonic() + RUN_BUDGET_S
            while time.monotonic() < deadline:
                now = _statuses(runtime)
                if all(now[job] in JobStatus.TERMINAL for job in to_run):
                    break
                time.sleep(0.5)
        final = _statuses(runtime)
        with runtime.session() as session:
            errors = list(session.scalars(select(Job.error).where(Job.error.is_not(None))))
            errors += session.scalars(
                select(ProcessingStep.error).where(ProcessingStep.error.is_not(None))
            )
    finally:
        runtime.close()

    output = log.read_text(errors="replace")
    newly_failed = {job for job, status in final.items() if status == "failed"} - {
        job for job, status in seeded.items() if status == "failed"
    }
    assert not newly_failed, output[-4000:]
    assert {final[job] for job in to_run} == {"completed"}, output[-4000:]
    for job, status in seeded.items():
        if status in JobStatus.TERMINAL:
            assert final[job] == status
    for error in errors:
        assert "\n" not in error, error
        assert not any(dump in error for dump in DUMPS), error
    assert "Traceback" not in output, output[-4000:]
