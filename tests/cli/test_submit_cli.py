"""`agentos jobs submit FILE [--wait] [--json]` against a local home with embedded workers."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentos.cli.main import app
from agentos.client import connect, uploading
from agentos.errors import UnavailableError
from agentos.schemas.uploads import ChunkReceipt
from agentos.services.pipeline.embedded_runner import EmbeddedRunner
from agentos.services.runtime import Runtime
from agentos.settings import Settings, reset_settings_cache
from tests.cli.conftest import Remote
from tests.support.pipeline import assert_completed_pipeline, make_video, wait_terminal


@pytest.fixture
def local_home(
    embedded_settings: Settings, embedded_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> Runtime:
    """The CLI's home (its own runtime in the CLI), and the test's runtime on it."""
    monkeypatch.setenv("AGENTOS_HOME", str(embedded_settings.home_dir))
    reset_settings_cache()
    return embedded_runtime


@pytest.fixture
def workers(
    local_home: Runtime, make_runtime: Callable[[Settings], Runtime]
) -> Iterator[EmbeddedRunner]:
    fast = make_runtime(local_home.settings.model_copy(update={"runner_poll_interval_s": 0.1}))
    runner = EmbeddedRunner(fast, name="cli-test@host")
    runner.start()
    yield runner
    runner.stop()


def test_submit_wait_json_runs_the_job_to_completion(
    local_home: Runtime, workers: EmbeddedRunner, tmp_path: Path
) -> None:
    video = make_video(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "jobs",
            "submit",
            str(video),
            "--wait",
            "--json",
            "--min-clip-s",
            "0.5",
            "--chunk-mb",
            "0.0625",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["status"] == "completed"
    assert_completed_pipeline(local_home, uuid.UUID(body["id"]))


def test_submit_without_wait_prints_the_job_id(
    local_home: Runtime, workers: EmbeddedRunner, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app, ["jobs", "submit", str(make_video(tmp_path)), "--json", "--min-clip-s", "0.5"]
    )
    assert result.exit_code == 0, result.output
    job_id = uuid.UUID(json.loads(result.stdout)["id"])
    assert wait_terminal(local_home, job_id).status == "completed"


def test_missing_file_is_a_clear_error(local_home: Runtime, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["jobs", "submit", str(tmp_path / "nope.mp4")])
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_upload_resumes_after_a_broken_connection(
    local_home: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = make_video(tmp_path)
    small_chunks = local_home.settings.model_copy(update={"upload_chunk_min_bytes": 1024})
    backend = connect(settings=small_chunks)
    real_put = backend.put_chunk
    calls: list[int] = []
    failed: list[int] = []
    counting = threading.Lock()  # chunks are sent from several threads

    def flaky_put(upload_id: uuid.UUID, index: int, data: bytes, sha256: str) -> ChunkReceipt:
        with counting:
            calls.append(index)
            fail = len(calls) == 3
        if fail:
            failed.append(index)
            raise UnavailableError("connection reset", code="SERVER_UNREACHABLE")
        return real_put(upload_id, index, data, sha256)

    monkeypatch.setattr(backend, "put_chunk", flaky_put)
    monkeypatch.setattr(uploading.time, "sleep", lambda _s: None)
    try:
        result = uploading.submit(backend, video, chunk_bytes=1024)
    finally:
        backend.close()
    assert result.job_id is not None
    assert result.upload.status == "finalized"
    total = result.upload.total_chunks
    assert total >= 3
    # Every chunk was sent once, and the one that failed once more after the failure.
    assert sorted(calls) == sorted([*range(total), *failed])
    assert len(failed) == 1


def test_submit_wait_runs_the_job_here_when_no_worker_runs(
    local_home: Runtime, tmp_path: Path
) -> None:
    """A fresh embedded home with no `agentos serve`: the job runs in the CLI's process
    (said at once on stderr) instead of waiting in silence."""
    video = make_video(tmp_path)
    args = ["jobs", "submit", str(video), "--wait", "--json", "--min-clip-s", "0.5"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["status"] == "completed"
    assert f"running job {body['id']} in this process" in result.stderr
    assert_completed_pipeline(local_home, uuid.UUID(body["id"]))


def test_submit_without_wait_says_nothing_will_run_it(local_home: Runtime, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["jobs", "submit", str(make_video(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    assert "no online worker serves ingest" in result.stderr
    assert "--wait` runs it in this process" in result.stderr


def test_remote_submit_wait_without_workers_warns_at_once(
    live_server: Remote, tmp_path: Path
) -> None:
    video = make_video(tmp_path)
    args = ["jobs", "submit", str(video), "--wait", "--timeout", "2", "--json"]
    result = CliRunner().invoke(app, [*args, *live_server.admin_options()])
    assert result.exit_code == 7  # WAIT_TIMEOUT: nothing ran it, and it was said
    assert "no online worker serves ingest" in result.stderr
    assert "agentos worker" in result.stderr
    assert json.loads(result.stdout)["error_code"] == "WAIT_TIMEOUT"
