"""Many jobs in one statement (PostgreSQL): `INSERT ... SELECT generate_series`, then ANALYZE.

For plan tests (EXPLAIN at 100,000 jobs) and benchmarks: realistic spreads of status,
owner, priority, stage and creation time (about a week), not realistic media. Each job
gets one processing step (its current or last stage), so the queue and agent lists have
rows too. 100,000 jobs take a few seconds.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from agentos.services.jobs.catalog import ensure_default_agents
from agentos.services.seed.bulk import without_keys

STATUSES = ("pending", "queued", "processing", "completed", "failed", "cancelled")
STAGES = ("ingest", "probe", "scenes", "clipper", "thumbs", "publish")
# Out of 100: mostly finished jobs, some waiting or failed, as a busy deployment has them.
_STATUS_BY_PERCENT = (
    "CASE WHEN p < 3 THEN 'pending' WHEN p < 8 THEN 'queued' WHEN p < 10 THEN 'processing' "
    "WHEN p < 85 THEN 'completed' WHEN p < 95 THEN 'failed' ELSE 'cancelled' END"
)


def add_users(connection: Connection, count: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    for index, user_id in enumerate(ids):
        connection.execute(
            text(
                "INSERT INTO users (id, username, role, is_active, must_change_password, "
                "failed_logins, token_version, created_at, updated_at) VALUES (:id, :name, "
                "'user', true, false, 0, 0, now(), now())"
            ),
            {"id": user_id, "name": f"bulk-{user_id.hex[:8]}-{index}"},
        )
    return ids


def add_jobs(connection: Connection, count: int, owners: list[uuid.UUID]) -> None:
    """`count` jobs spread over `owners` (the first owns 1 in 10 of them); each one started
    has one processing step (its current stage)."""
    ensure_default_agents(Session(bind=connection))
    # Indexes and keys built once after the load (as the seed does) rather than row by row.
    with without_keys(connection, ("jobs", "processing_steps"), lambda *_: None):
        _insert(connection, count, owners)  # (and ANALYZEd after the rebuild)


def _insert(connection: Connection, count: int, owners: list[uuid.UUID]) -> None:
    connection.execute(
        text(
            f"""
            WITH added AS (
            INSERT INTO jobs (id, owner_id, title, status, priority, attempts, max_attempts,
                              current_stage, progress, cancel_requested, options, created_at,
                              updated_at, finished_at)
            SELECT gen_random_uuid(),
                   ((:owners)::uuid[])[1 + CASE WHEN mod(h, 10) = 0 THEN 0
                                                ELSE mod(h, cardinality((:owners)::uuid[]))
                                           END],
                   (ARRAY['keynote', 'interview', 'match', 'lecture', 'Vlog'])[1 + mod(r, 5)]
                       || '-' || to_char(g, 'FM0000000') || '.mp4',
                   status,
                   CASE WHEN mod(r, 50) = 1 THEN mod(r, 21) - 10 ELSE 0 END,
                   1 + (mod(r, 3) = 0)::int,
                   3,
                   CASE WHEN status = 'pending' THEN NULL
                        ELSE ((:stages)::text[])[1 + mod(r, 6)] END,
                   CASE WHEN status = 'completed' THEN 1.0 ELSE mod(r, 7) / 7.0 END,
                   status = 'cancelled',
                   '{{}}'::jsonb,
                   created,
                   created + interval '90 seconds',
                   CASE WHEN status IN ('completed', 'failed', 'cancelled')
                        THEN created + interval '90 seconds' END
              FROM (SELECT g, h, r, {_STATUS_BY_PERCENT} AS status,
                           now() - (:count - g) * interval '600 milliseconds' AS created
                      FROM (SELECT g, mod(abs(hashint4(g)), 100) AS p,
                                   abs(hashint4(g + 7)) AS h, abs(hashint4(g + 13)) AS r
                              FROM generate_series(1, :count) AS g) AS drawn) AS rows
            RETURNING *
            )
            INSERT INTO processing_steps (id, job_id, agent, attempt, status, priority,
                                          progress, created_at, started_at, finished_at)
            SELECT gen_random_uuid(), id, current_stage, attempts,
                   CASE status WHEN 'processing' THEN 'running' ELSE status END,
                   priority, progress, created_at,
                   CASE WHEN status <> 'queued' THEN created_at END, finished_at
              FROM added WHERE status <> 'pending'
            """
        ),
        {"count": count, "owners": [str(owner) for owner in owners], "stages": list(STAGES)},
    )
