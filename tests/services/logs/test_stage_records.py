"""What a job's stages log carries the trace id of the request that created the job (and
the job id), whichever thread or process runs them; so does what a failed stage logs."""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest

from agentos.services import jobs
from agentos.services.context import SYSTEM_ACTOR, bound
from agentos.services.jobs.catalog import PIPELINE, ensure_default_agents
from agentos.services.logs import setup
from agentos.services.logs.store import store_for
from agentos.services.runtime import Runtime
from tests.services.actions.helpers import run
from tests.support.pipeline import drive, make_video

pytestmark = pytest.mark.usefixtures("restore_logging")


def _job(runtime: Runtime, source: Path, trace: str) -> uuid.UUID:
    """A job created while handling the request `trace` (as the server binds it)."""
    with runtime.session() as session, bound(trace_id=trace):
        ensure_default_agents(session)
        return jobs.create(
            session,
            actor=SYSTEM_ACTOR,
            title=source.name,
            source_path=str(source),
            source_sha256=hashlib.sha256(source.read_bytes()).hexdigest(),
            source_size=source.stat().st_size,
        ).id


def _records(runtime: Runtime, **filters: Any) -> list[dict[str, Any]]:
    assert store_for(runtime).flush(10)
    found: list[dict[str, Any]] = run(runtime, "logs.search", {**filters, "limit": 500}).result[
        "records"
    ]
    return found


def test_every_stage_logs_under_the_job_and_its_trace(runtime: Runtime, tmp_path: Path) -> None:
    setup.configure(runtime, process="worker", stream=io.StringIO())
    job_id = _job(runtime, make_video(tmp_path), "stage-trace")
    assert drive(runtime) == [f"{agent}:completed" for agent in PIPELINE]
    records = _records(runtime, job_id=str(job_id))
    assert {record["trace_id"] for record in records} == {"stage-trace"}
    messages = {record["message"].split(" (")[0].split(" in ")[0] for record in records}
    for agent in PIPELINE:
        assert {f"{agent} started", f"{agent} finished"} <= messages
    assert {record["source"].split("@")[0] for record in records} == {"worker"}
    # A record written after the job's work (same thread) carries neither.
    logging.getLogger("agentos.tests.after").info("unrelated afterwards")
    (after,) = _records(runtime, query="unrelated afterwards")
    assert (after["trace_id"], after["job_id"]) == (None, None)


def test_a_failed_stage_is_logged_under_the_request_trace(
    embedded_runtime: Runtime, tmp_path: Path
) -> None:
    runtime = embedded_runtime
    setup.configure(runtime, process="worker", stream=io.StringIO())
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"no video in here" * 64)
    job_id = _job(runtime, broken, "failing-request")
    assert any(outcome.endswith(":failed") for outcome in drive(runtime))
    failures = [r for r in _records(runtime, job_id=str(job_id)) if "failed (step" in r["message"]]
    assert failures
    assert {record["trace_id"] for record in failures} == {"failing-request"}
