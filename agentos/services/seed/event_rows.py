"""Seed system events: every severity over the last day, some acknowledged by the admin."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from agentos.services.jobs.catalog import PIPELINE
from agentos.services.seed.rows import DAY_S, Tally, new_uuid, stream

SEVERITIES: tuple[str, ...] = ("debug", "info", "warning", "error", "critical")
SEVERITY_WEIGHTS: tuple[float, ...] = (0.15, 0.45, 0.22, 0.13, 0.05)
EVENT_COLUMNS: tuple[str, ...] = (
    "id", "severity", "source", "kind", "message", "details", "job_id", "created_at",
    "acknowledged_by", "acknowledged_at",
)  # fmt: skip
EVENT_SOURCES: tuple[str, ...] = (*PIPELINE, "api", "scheduler", "cache", "database", "auth")
EVENT_MESSAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "debug": (("cache", "cache warm cycle finished"), ("heartbeat", "worker heartbeat received")),
    "info": (
        ("job", "job completed"),
        ("deploy", "configuration reloaded"),
        ("agent", "agent concurrency changed"),
        ("backup", "database backup finished"),
    ),
    "warning": (
        ("queue", "queue depth above threshold"),
        ("worker", "worker heartbeat late"),
        ("ratelimit", "rate limit reached for an API client"),
    ),
    "error": (
        ("job", "job failed after retries"),
        ("worker", "worker lost while running a step"),
        ("storage", "clip storage write failed"),
    ),
    "critical": (
        ("database", "database connection pool exhausted"),
        ("breaker", "circuit breaker opened"),
    ),
}


def make_events(
    *, seed: int, count: int, now: datetime, admin_id: uuid.UUID, tally: Tally
) -> list[tuple[Any, ...]]:
    """System events of every severity over the last day; some warnings and worse acknowledged."""
    rng = stream(seed, "events")
    rows: list[tuple[Any, ...]] = []
    for index in range(count):
        severity = (
            SEVERITIES[index]
            if index < len(SEVERITIES)
            else rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0]
        )
        kind, message = rng.choice(EVENT_MESSAGES[severity])
        source = rng.choice(EVENT_SOURCES)
        created = -rng.uniform(1.0, DAY_S - 60.0)
        job_id = None
        if kind == "job" and severity == "error" and tally.failed_job_ids:
            job_id = rng.choice(tally.failed_job_ids)
        acknowledged = severity in {"warning", "error", "critical"} and rng.random() < 0.4
        acked_at = min(created + rng.uniform(30.0, 7200.0), -0.5) if acknowledged else None
        rows.append(
            (
                new_uuid(rng), severity, source, kind, f"{message} ({source})",
                {"seeded": True, "sequence": index + 1}, job_id,
                now + timedelta(seconds=created),
                admin_id if acknowledged else None,
                None if acked_at is None else now + timedelta(seconds=acked_at),
            )
        )  # fmt: skip
        tally.events_by_severity[severity] += 1
        tally.acknowledged_events += int(acknowledged)
    return rows
