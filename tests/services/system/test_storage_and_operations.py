"""Storage use and clean-up, stale uploads, drain, the deep health check, system info and
database upkeep, each through its action on both deployments."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from agentos.db.base import utcnow
from agentos.db.migrate import head_revision
from agentos.db.models import Job, Upload
from agentos.schemas.uploads import UploadInit
from agentos.services import jobs
from agentos.services.pipeline import progress
from agentos.services.runtime import Runtime
from agentos.services.security.pii import FILTERED
from agentos.services.uploads import sessions
from tests.services.actions.helpers import audit_rows, prepare, run
from tests.support.jobs import make_actor, make_job

DAY = 86_400


def _file(path: Path, size: int, *, days_old: float = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    if days_old:
        then = time.time() - days_old * DAY
        os.utime(path, (then, then))
        os.utime(path.parent, (then, then))
    return path


def test_storage_usage_counts_each_area(runtime: Runtime) -> None:
    settings = runtime.settings
    settings.ensure_home()
    _file(settings.uploads_dir / "a" / "data.part", 100)
    _file(settings.clips_dir / "j" / "clip_000.mp4", 300)
    _file(settings.clips_dir / "j" / "clip_000.jpg", 40)
    usage = run(runtime, "system.storage.usage").result
    areas = usage["areas"]
    assert (areas["uploads"]["files"], areas["uploads"]["bytes"]) == (1, 100)
    assert (areas["clips"]["files"], areas["clips"]["bytes"]) == (1, 300)
    assert (areas["thumbnails"]["files"], areas["thumbnails"]["bytes"]) == (1, 40)
    assert usage["total_bytes"] == 440
    assert usage["disk_free_bytes"] > 0


def test_storage_cleanup_removes_orphans_and_keeps_what_rows_name(runtime: Runtime) -> None:
    settings = runtime.settings
    prepare(runtime)
    with runtime.session() as session:
        owner = make_actor(session)
        source = _file(settings.uploads_dir / "demo" / "source.mp4", 50, days_old=30)
        job = jobs.create(session, actor=owner, title="kept", source_path=str(source))
    orphan_upload = _file(settings.uploads_dir / str(uuid.uuid4()) / "data.part", 70, days_old=30)
    orphan_clips = _file(settings.clips_dir / str(uuid.uuid4()) / "clip_000.mp4", 80, days_old=30)
    leftover = _file(settings.backups_dir / "agentos-x.dump.partial", 90, days_old=30)
    fresh_orphan = _file(settings.uploads_dir / str(uuid.uuid4()) / "data.part", 10)

    rehearsal = run(
        runtime, "system.storage.cleanup", {"older_than_days": 7, "dry_run": True}
    ).result
    listed = {Path(item["path"]) for item in rehearsal["files"]}
    assert listed == {orphan_upload.parent, orphan_clips.parent, leftover}
    assert rehearsal["bytes_freed"] == 70 + 80 + 90
    assert orphan_upload.exists()

    run(runtime, "system.storage.cleanup", {"older_than_days": 7, "confirm": True})
    assert not orphan_upload.exists()
    assert not orphan_clips.exists()
    assert not leftover.exists()
    assert source.exists(), "a job's source is not an orphan"
    assert fresh_orphan.exists(), "younger than older_than_days"
    with runtime.session() as session:
        assert session.get(Job, job.id) is not None


def _open_upload(runtime: Runtime, minutes_idle: int) -> uuid.UUID:
    with runtime.session() as session:
        owner = make_actor(session)
        upload = sessions.init(
            session,
            actor=owner,
            request=UploadInit(filename="v.mp4", total_size=1024, sha256="0" * 64, chunk_size=1024),
        )
        session.execute(
            update(Upload)
            .where(Upload.id == upload.id)
            .values(updated_at=utcnow() - timedelta(minutes=minutes_idle))
        )
    return upload.id


def test_abort_stale_uploads_removes_their_chunks(runtime: Runtime) -> None:
    stale, active = _open_upload(runtime, 120), _open_upload(runtime, 1)
    directory = runtime.settings.uploads_dir / str(stale)
    assert directory.exists()
    result = run(runtime, "system.uploads.abort_stale", {"older_than_minutes": 60}).result
    assert result["aborted"] == [str(stale)]
    assert not directory.exists()
    with runtime.session() as session:
        assert session.get(Upload, stale).status == "aborted"  # type: ignore[union-attr]
        assert session.get(Upload, active).status == "open"  # type: ignore[union-attr]


def test_drain_pauses_and_reports_what_still_runs(runtime: Runtime) -> None:
    prepare(runtime)
    with runtime.session() as session:
        owner = make_actor(session)
        running = make_job(session, owner, "processing")
    result = run(runtime, "system.drain", {"timeout_s": 0.3}).result
    assert result["paused"] is True
    assert result["drained"] is False
    assert [item["job_id"] for item in result["still_running"]] == [str(running.id)]
    assert result["waited_s"] >= 0.3

    with runtime.session() as session:
        job = session.get(Job, running.id)
        assert job is not None
        step = progress.current_step(session, job, job.current_stage or "")
        progress.complete_stage(session, job, step, output={})
    drained = run(runtime, "system.drain", {"timeout_s": 5}).result
    assert drained["drained"] is True
    assert drained["still_running"] == []


def test_deep_health_check_has_every_part_with_latency(runtime: Runtime) -> None:
    report = run(runtime, "system.health.check").result
    parts = report["parts"]
    assert {"database", "cache", "bus", "broker", "workers", "disk"} <= set(parts)
    assert parts["database"]["status"] == "up"
    assert parts["disk"]["latency_ms"] is not None
    assert parts["workers"]["status"] == "down"  # no runner in this test
    assert report["status"] == "degraded"
    assert report["maintenance"]["enabled"] is False


def test_system_info_masks_secrets(runtime: Runtime) -> None:
    runtime.settings.signing_key()
    info = run(runtime, "system.info").result
    assert info["schema_revision"] == head_revision()
    assert info["deployment"] == ("embedded" if runtime.settings.is_embedded else "distributed")
    assert info["backends"]["database"] == runtime.engine.dialect.name
    assert info["uptime_s"] > 0
    configuration = info["configuration"]
    assert configuration["secret_key"] in (None, "****")
    if runtime.settings.database_url and "@" in runtime.settings.database_url:
        assert configuration["database_url"] is not None


def test_database_upkeep_actions(runtime: Runtime) -> None:
    migrated = run(runtime, "system.db.migrate").result
    assert migrated["before"] == migrated["after"] == head_revision()
    assert run(runtime, "system.db.check").result["differences"] == []
    vacuumed = run(runtime, "system.db.vacuum").result
    assert vacuumed["dialect"] == runtime.engine.dialect.name
    assert vacuumed["size_after_bytes"] > 0


def test_reset_and_seed_action(runtime: Runtime) -> None:
    prepare(runtime)
    rehearsal = run(runtime, "system.db.reset_and_seed", {"jobs": 4, "dry_run": True}).result
    assert rehearsal["dry_run"] is True
    assert rehearsal["rows_now"]["agents"] == 6
    assert rehearsal["seed"] is None

    done = run(
        runtime, "system.db.reset_and_seed", {"jobs": 4, "events": 3, "confirm": True}
    ).result
    seeded = done["seed"]
    assert seeded["jobs_requested"] == 4
    assert seeded["problems"] == []
    records = audit_rows(runtime, "system.db.reset_and_seed")
    assert [record.outcome for record in records] == ["success"]
    assert records[0].result is not None
    assert records[0].result["seed"]["admin_password"] == FILTERED  # never in the trail
