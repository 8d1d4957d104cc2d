"""Small real videos and jobs for the runner tests (tests/support/synth.py)."""

from __future__ import annotations

import hashlib
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from agentos.db.models import Clip, Job, ProcessingStep
from agentos.schemas.jobs import JobOptions, JobStatus
from agentos.services import jobs
from agentos.services.context import SYSTEM_ACTOR
from agentos.services.jobs.catalog import PIPELINE
from agentos.services.pipeline import claims, step_runner
from agentos.services.runtime import Runtime
from tests.support import synth
from tests.support.synth import SceneSpec

FPS = 25
SCENE_S = 1.2


def make_video(directory: Path, *, scenes: int = 3, scene_s: float = SCENE_S) -> Path:
    """`scenes` clearly different scenes of `scene_s` each, 160x90 at 25 fps."""
    specs = [
        SceneSpec(
            kind="solid",
            duration=scene_s,
            hue=(n * 137) % 360,
            saturation=0.9 if n % 2 else 0.5,
            value=0.35 if n % 2 else 0.9,
        )
        for n in range(scenes)
    ]
    path = directory / f"video-{uuid.uuid4().hex[:6]}.mp4"
    synth.make_test_video(path, scenes=specs, fps=FPS, width=160, height=90)
    return path


def submit(runtime: Runtime, video: Path, *, options: JobOptions | None = None) -> uuid.UUID:
    """Copy `video` into the uploads dir and create a job for it, as a local submit does."""
    runtime.settings.ensure_home()
    target = runtime.settings.uploads_dir / f"{uuid.uuid4().hex}{video.suffix}"
    shutil.copyfile(video, target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    with runtime.session() as session:
        job = jobs.create(
            session,
            actor=SYSTEM_ACTOR,
            title=video.name,
            source_path=str(target),
            source_sha256=digest,
            source_size=target.stat().st_size,
            options=options or JobOptions(min_clip_s=0.5, max_clip_s=30.0),
        )
    return job.id


def drive(runtime: Runtime, *, worker: str = "test-worker", limit: int = 20) -> list[str]:
    """Claim and run steps in this thread until nothing is queued; the outcomes in order."""
    outcomes: list[str] = []
    for _ in range(limit):
        with runtime.session() as session:
            claimed = claims.claim_next(session, agents=set(PIPELINE), worker_id=worker)
        if claimed is None:
            break
        outcome = step_runner.run_step(runtime, claimed=claimed)
        outcomes.append(f"{claimed.agent}:{outcome.status}")
    return outcomes


def job_row(runtime: Runtime, job_id: uuid.UUID) -> Job:
    with runtime.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def steps(runtime: Runtime, job_id: uuid.UUID) -> list[ProcessingStep]:
    with runtime.session() as session:
        return list(
            session.scalars(
                select(ProcessingStep)
                .where(ProcessingStep.job_id == job_id)
                .order_by(ProcessingStep.created_at)
            )
        )


def clips(runtime: Runtime, job_id: uuid.UUID) -> list[Clip]:
    with runtime.session() as session:
        return list(
            session.scalars(select(Clip).where(Clip.job_id == job_id).order_by(Clip.ordinal))
        )


def wait_for(condition: Callable[[], bool], *, timeout_s: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what or condition}")


def wait_terminal(runtime: Runtime, job_id: uuid.UUID, timeout_s: float = 90.0) -> Job:
    wait_for(
        lambda: job_row(runtime, job_id).status in JobStatus.TERMINAL,
        timeout_s=timeout_s,
        what=f"job {job_id} to end",
    )
    return job_row(runtime, job_id)


def assert_completed_pipeline(
    runtime: Runtime, job_id: uuid.UUID, scenes: int = 3, scene_s: float = SCENE_S
) -> None:
    """Job completed, six completed steps, one clip per scene, each opens, right length."""
    import av

    job = job_row(runtime, job_id)
    assert job.status == "completed", (job.status, job.error)
    assert job.progress == 1.0
    done = [s.agent for s in steps(runtime, job_id) if s.status == "completed"]
    assert done == list(PIPELINE)
    found = clips(runtime, job_id)
    assert [c.ordinal for c in found] == list(range(scenes))
    for clip in found:
        assert clip.status == "ready"
        assert clip.path is not None
        assert clip.thumbnail_path is not None
        assert Path(clip.thumbnail_path).is_file()
        assert abs(clip.start - clip.ordinal * scene_s) <= 1 / FPS
        with av.open(clip.path) as container:
            stream = container.streams.video[0]
            frames = sum(1 for _ in container.decode(stream))
        assert abs(frames / FPS - scene_s) <= 1 / FPS + 1e-9
        assert abs(clip.duration - scene_s) <= 1 / FPS + 1e-9
    files = sorted(p.name for p in Path(found[0].path or "").parent.glob("clip_*.mp4"))
    assert len(files) == scenes
