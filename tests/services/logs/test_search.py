"""logs.search (filters, keyset pages), logs.export (JSONL, CSV), logs.purge and the
retention task, on both deployments."""

from __future__ import annotations

import csv
import json
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from agentos.db.models import LogRecord
from agentos.errors import InvalidError
from agentos.services.pipeline import runner as periodic
from agentos.services.runtime import Runtime
from tests.services.actions.helpers import actor, outcomes, run
from tests.services.logs.conftest import add_records

NOW = datetime.now(UTC).replace(microsecond=0)
JOB = uuid.uuid4()


def _story(runtime: Runtime) -> dict[str, uuid.UUID]:
    """Eight records that differ in one thing each, a minute apart, newest last."""
    rows: list[dict[str, Any]] = [
        {"message": "job created: 'Holiday'", "source": "server@web1:10", "trace_id": "t-1"},
        {"message": "probe started", "source": "worker@w1:20", "trace_id": "t-1", "job_id": JOB},
        {"message": "probe failed: 100% bad", "level": "ERROR", "source": "worker@w1:21",
         "trace_id": "t-1", "job_id": JOB, "logger": "agentos.services.pipeline.step_runner"},
        {"message": "retention ran", "source": "beat@b1:30", "logger": "agentos.tasks.beat"},
        {"message": "slow query_plan", "level": "WARNING", "source": "server@web2:11"},
        {"message": "debug noise", "level": "DEBUG", "source": "server@web1:10"},
        {"message": "critical: disk full", "level": "CRITICAL", "source": "cli@ops:40",
         "actor": "alice"},
        {"message": "slow queryXplan", "source": "server@web1:10", "trace_id": "t-2"},
    ]  # fmt: skip
    for minute, row in enumerate(rows):
        row["created_at"] = NOW - timedelta(minutes=len(rows) - minute)
    ids = add_records(runtime, rows)
    return {row["message"]: record_id for row, record_id in zip(rows, ids, strict=True)}


def _messages(runtime: Runtime, **payload: Any) -> list[str]:
    found = run(runtime, "logs.search", payload).result
    assert found["next_cursor"] is None
    return [record["message"] for record in found["records"]]


def test_search_filters(runtime: Runtime) -> None:
    _story(runtime)
    everything = _messages(runtime)
    assert len(everything) == 8
    assert everything[0] == "slow queryXplan"  # newest first
    assert everything[-1] == "job created: 'Holiday'"
    assert _messages(runtime, level="WARNING") == [
        "critical: disk full",
        "slow query_plan",
        "probe failed: 100% bad",
    ]
    assert _messages(runtime, level="ERROR") == ["critical: disk full", "probe failed: 100% bad"]
    # Text is matched case-insensitively, and % and _ mean themselves.
    assert _messages(runtime, query="PROBE") == ["probe failed: 100% bad", "probe started"]
    assert _messages(runtime, query="100%") == ["probe failed: 100% bad"]
    assert _messages(runtime, query="query_plan") == ["slow query_plan"]
    assert _messages(runtime, source="worker") == ["probe failed: 100% bad", "probe started"]
    assert _messages(runtime, source="server@web1") == [
        "slow queryXplan",
        "debug noise",
        "job created: 'Holiday'",
    ]
    assert _messages(runtime, trace_id="t-1") == [
        "probe failed: 100% bad",
        "probe started",
        "job created: 'Holiday'",
    ]
    assert _messages(runtime, job_id=str(JOB)) == ["probe failed: 100% bad", "probe started"]
    assert _messages(runtime, logger="agentos.services.pipeline") == ["probe failed: 100% bad"]
    window = {"since": (NOW - timedelta(minutes=5)).isoformat(),
              "until": (NOW - timedelta(minutes=2)).isoformat()}  # fmt: skip
    # since is inclusive, until exclusive: the records of minutes -5, -4 and -3.
    assert _messages(runtime, **window) == ["debug noise", "slow query_plan", "retention ran"]
    assert _messages(runtime, trace_id="t-1", level="ERROR", source="worker") == [
        "probe failed: 100% bad"
    ]
    assert _messages(runtime, trace_id="nobody") == []
    record = run(runtime, "logs.search", {"query": "disk full"}).result["records"][0]
    assert record["actor"] == "alice"
    assert record["source"] == "cli@ops:40"
    assert record["level"] == "CRITICAL"


def test_search_pages_have_no_duplicates_and_no_gaps(runtime: Runtime) -> None:
    # 37 records, many sharing a timestamp: the id breaks the ties.
    rows = [
        {"created_at": NOW - timedelta(seconds=n // 4), "message": f"page record {n}",
         "trace_id": "paged" if n % 3 else "other"}
        for n in range(37)
    ]  # fmt: skip
    add_records(runtime, rows)
    for filters, expected in (({}, 37), ({"trace_id": "paged"}, 24)):
        seen: list[dict[str, Any]] = []
        cursor = None
        pages = 0
        while True:
            payload = {**filters, "limit": 5, **({"before": cursor} if cursor else {})}
            page = run(runtime, "logs.search", payload).result
            seen.extend(page["records"])
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert len(page["records"]) == 5
        ids = [record["id"] for record in seen]
        assert len(ids) == len(set(ids)) == expected
        assert pages == -(-expected // 5)
        keys = [(record["created_at"], uuid.UUID(record["id"])) for record in seen]
        moments = [datetime.fromisoformat(at) for at, _ in keys]
        assert moments == sorted(moments, reverse=True)
        if not filters:
            assert {record["message"] for record in seen} == {f"page record {n}" for n in range(37)}


def test_search_refuses_a_cursor_it_did_not_make(runtime: Runtime) -> None:
    with pytest.raises(InvalidError) as refused:
        run(runtime, "logs.search", {"before": "yesterday|nope"})
    assert refused.value.code == "BAD_CURSOR"


def test_readonly_may_search_but_not_purge(runtime: Runtime) -> None:
    _story(runtime)
    viewer = actor("readonly")
    found = run(runtime, "logs.search", {"level": "ERROR"}, who=viewer).result["records"]
    assert len(found) == 2
    from agentos.errors import ForbiddenError

    with pytest.raises(ForbiddenError):
        run(runtime, "logs.purge", {"older_than_days": 0, "confirm": True}, who=viewer)
    assert _count(runtime) == 8


def _export(runtime: Runtime, **payload: Any) -> tuple[dict[str, Any], Path]:
    result = run(runtime, "logs.export", payload).result
    path = Path(result["path"])
    assert path.parent == runtime.settings.home_dir / "exports"
    assert path.suffix == f".{payload.get('format', 'jsonl')}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert result["bytes"] == path.stat().st_size
    return result, path


def test_export_jsonl_and_csv(runtime: Runtime) -> None:
    ids = _story(runtime)
    result, path = _export(runtime, format="jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert result["count"] == len(lines) == 8
    assert result["format"] == "jsonl"
    # Oldest first, every field of the record.
    assert [line["message"] for line in lines] == list(ids)
    assert [line["id"] for line in lines] == [str(record_id) for record_id in ids.values()]
    failed = next(line for line in lines if line["level"] == "ERROR")
    assert (failed["trace_id"], failed["job_id"], failed["source"]) == (
        "t-1",
        str(JOB),
        "worker@w1:21",
    )
    assert failed["logger"] == "agentos.services.pipeline.step_runner"

    result, path = _export(runtime, format="csv", trace_id="t-1")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert result["count"] == len(rows) == 3
    assert list(rows[0]) == [
        "created_at", "level", "logger", "source", "trace_id", "job_id", "actor", "message",
    ]  # fmt: skip
    assert [row["message"] for row in rows] == [
        "job created: 'Holiday'",
        "probe started",
        "probe failed: 100% bad",
    ]
    assert rows[1]["job_id"] == str(JOB)
    assert datetime.fromisoformat(rows[0]["created_at"]) == NOW - timedelta(minutes=8)

    result, path = _export(
        runtime, format="jsonl", level="WARNING", since=(NOW - timedelta(minutes=6)).isoformat()
    )
    assert [json.loads(line)["message"] for line in path.read_text().splitlines()] == [
        "probe failed: 100% bad",  # at exactly `since`: included
        "slow query_plan",
        "critical: disk full",
    ]
    assert result["count"] == 3
    empty, path = _export(runtime, format="csv", trace_id="nobody")
    assert empty["count"] == 0
    assert path.read_text().splitlines() == [
        "created_at,level,logger,source,trace_id,job_id,actor,message"
    ]


def test_export_spans_many_batches(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentos.services.logs import search

    monkeypatch.setattr(search, "EXPORT_BATCH", 7)
    rows = [{"created_at": NOW - timedelta(seconds=n // 3), "message": f"m{n}"} for n in range(30)]
    add_records(runtime, rows)
    result, path = _export(runtime, format="jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert result["count"] == 30
    assert len({line["id"] for line in lines}) == 30
    moments = [datetime.fromisoformat(line["created_at"]) for line in lines]
    assert moments == sorted(moments)


def _count(runtime: Runtime) -> int:
    with runtime.session() as session:
        return int(session.scalar(select(func.count()).select_from(LogRecord)) or 0)


def _ages(days: list[float]) -> list[dict[str, Any]]:
    return [{"created_at": NOW - timedelta(days=age), "message": f"{age} days"} for age in days]


def test_purge_older_than_with_dry_run_first(runtime: Runtime) -> None:
    add_records(runtime, _ages([0.5, 2, 6, 10, 31, 45]))
    with pytest.raises(InvalidError):
        run(runtime, "logs.purge", {"older_than_days": 7})  # dangerous: needs confirm
    rehearsal = run(runtime, "logs.purge", {"older_than_days": 7, "dry_run": True})
    assert rehearsal.result == {"older_than_days": 7, "removed": 3, "dry_run": True}
    assert _count(runtime) == 6
    done = run(runtime, "logs.purge", {"older_than_days": 7, "confirm": True, "reason": "disk"})
    assert done.result == {"older_than_days": 7, "removed": 3, "dry_run": False}
    assert sorted(_messages(runtime)) == ["0.5 days", "2 days", "6 days"]
    assert (
        run(runtime, "logs.purge", {"older_than_days": 7, "confirm": True}).result["removed"] == 0
    )
    assert outcomes(runtime, "logs.purge") == ["rejected", "success", "success", "success"]


def test_the_retention_task_applies_the_retention_setting(runtime: Runtime) -> None:
    add_records(runtime, _ages([1, 3, 13, 15, 40]))
    assert runtime.settings.log_retention_days == 14
    assert periodic.run_periodic(runtime, "purge_logs") == 2
    assert sorted(_messages(runtime)) == ["1 days", "13 days", "3 days"]
    run(runtime, "config.set", {"key": "log_retention_days", "value": 2})
    assert runtime.settings.log_retention_days == 2
    assert periodic.run_periodic(runtime, "purge_logs") == 2
    assert _messages(runtime) == ["1 days"]
    assert "purge_logs" in {job.name for job in periodic.periodic_jobs(runtime.settings)}


def test_an_export_retried_with_its_idempotency_key_writes_one_file(runtime: Runtime) -> None:
    _story(runtime)
    first = run(runtime, "logs.export", {"format": "csv"}, key="export-once")
    again = run(runtime, "logs.export", {"format": "csv"}, key="export-once")
    assert again.replayed is True
    assert again.result == first.result
    exports = sorted((runtime.settings.home_dir / "exports").iterdir())
    assert [path.name for path in exports] == [Path(first.result["path"]).name]
    assert first.result["count"] == 8
