"""Set-based SQL that generates seed jobs, steps and clips inside PostgreSQL.

The same rules as `seed.job_rows.JobGenerator` (status mix, stage timelines, steps consistent
with each job's status, clips only for completed jobs), written as one INSERT ... SELECT per
table over `generate_series`, so a million jobs never cross the wire. Randomness is
`hashint8extended(key, salt)`: a pure function of the job number (or step/clip key) and a
salt derived from the `--seed`, so one seed always yields the same rows. The data has the
same shape as the Python generator's, not the same values: Python's `random` streams cannot
be reproduced in SQL.

A chunk is one statement: a MATERIALIZED `plan` CTE (one row per job, computed once) feeds
three data-modifying CTEs, and the statement returns what the plan generated per status,
which `seed.py` checks the tables against afterwards. Each layer of the plan sits behind
`OFFSET 0` so the planner evaluates every random draw once per job instead of inlining it
into each place that reads it.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence

from agentos.services.jobs.catalog import PIPELINE
from agentos.services.seed.rows import (
    CODECS,
    DAY_S,
    FPS_CHOICES,
    JOB_STATUSES,
    PRIORITIES,
    RESOLUTIONS,
    STAGE_ERRORS,
    STAGE_SECONDS,
    STATUS_WEIGHTS,
    TOPICS,
    WORKERS,
)

# Alphabetical, so ordering by the code orders by the status text (see steps_sql).
STEP_STATUSES: tuple[str, ...] = ("cancelled", "completed", "failed", "queued", "running")
S_CANCELLED, S_COMPLETED, S_FAILED, S_QUEUED, S_RUNNING = range(len(STEP_STATUSES))
# What the per-stage step statements need of each job (kept in a temporary table).
STEP_PLAN_COLUMNS: tuple[str, ...] = (
    "g", "id", "sc", "stage", "priority", "attempts", "began", "c", "t_start", "size",
    "duration", "codec", "clip_count", "heartbeat_ago", "running_progress",
)  # fmt: skip
PENDING, QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED = range(len(JOB_STATUSES))
STAGES = len(PIPELINE)
# Unfinished jobs run on the demo video (seed/demo.py, passed as the %(demo_*)s parameters),
# and those with a step to run (queued, processing) carry what their finished stages made.
UNFINISHED = f"sc IN ({PENDING}, {QUEUED}, {PROCESSING})"
RUNNABLE = f"sc IN ({QUEUED}, {PROCESSING})"
PROBED, CLIPPED, THUMBED = (PIPELINE.index(agent) + 1 for agent in ("probe", "clipper", "thumbs"))
_MASK53 = (1 << 53) - 1


def salt_of(seed: int) -> int:
    """A 48-bit salt per --seed (any size of seed), leaving room to add draw numbers."""
    digest = hashlib.sha256(f"agentos-seed-sql:{seed}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def literal(value: str) -> str:
    # Only the module's own constants go through here; `%` is doubled for psycopg's params.
    return "'" + value.replace("'", "''").replace("%", "%%") + "'"


def text_array(values: Sequence[str]) -> str:
    return f"(ARRAY[{', '.join(literal(value) for value in values)}]::text[])"


def number_array(values: Sequence[float], kind: str) -> str:
    return f"(ARRAY[{', '.join(repr(value) for value in values)}]::{kind}[])"


class Draws:
    """SQL expressions for the random draws of one seed."""

    def __init__(self, seed: int) -> None:
        self.salt = salt_of(seed)

    def hash(self, key: str, draw: int) -> str:
        return f"hashint8extended({key}, {self.salt + draw})"

    def uniform(self, key: str, draw: int, low: float = 0.0, high: float = 1.0) -> str:
        unit = f"(({self.hash(key, draw)} & {_MASK53})::float8 / {float(_MASK53 + 1)!r})"
        return unit if (low, high) == (0.0, 1.0) else f"({low!r} + {unit} * {high - low!r})"

    def index(self, key: str, draw: int, size: int) -> str:
        """1-based position in an array of `size` elements."""
        return f"(1 + floor({self.uniform(key, draw)} * {size})::int)"

    def pick(self, key: str, draw: int, array: str, size: int) -> str:
        return f"{array}[{self.index(key, draw, size)}]"

    def uuid(self, key: str, draw: int) -> str:
        """A version 4 UUID from two 64-bit draws (version nibble and variant bits set)."""
        high = f"int8send(({self.hash(key, draw)} & -61441) | 16384)"
        low = (
            f"int8send(({self.hash(key, draw + 1)} & 4611686018427387903)"
            " | (-9223372036854775807 - 1))"
        )
        return f"encode({high} || {low}, 'hex')::uuid"

    def wait(self, stage: str) -> str:
        """Seconds a job waited before `stage` (an SQL expression for the position 0..5)."""
        return self.uniform(f"(g * 8 + {stage})", 10, 0.05, 8.0)

    def span(self, stage: str) -> str:
        """Seconds `stage` ran: its agent's (min, max) range, as `seed.rows.STAGE_SECONDS`."""
        low = number_array([STAGE_SECONDS[agent][0] for agent in PIPELINE], "float8")
        high = number_array([STAGE_SECONDS[agent][1] for agent in PIPELINE], "float8")
        unit = self.uniform(f"(g * 8 + {stage})", 20)
        return f"({low}[{stage} + 1] + {unit} * ({high}[{stage} + 1] - {low}[{stage} + 1]))"


def _status(draws: Draws) -> str:
    total = sum(STATUS_WEIGHTS)
    bounds = [bound / total for bound in itertools.accumulate(STATUS_WEIGHTS[:-1])]
    # Every status appears in the first six jobs, then by weight: width_bucket counts the
    # cumulative bounds at or below one draw, which is the status's position.
    return (
        f"CASE WHEN g <= {len(JOB_STATUSES)} THEN (g - 1)::int "
        f"ELSE width_bucket({draws.uniform('g', 1)}, {number_array(bounds, 'float8')}) END"
    )


def _draws_layer(draws: Draws) -> str:
    stages = ", ".join(
        f"{draws.wait(str(i))} AS w{i}, {draws.span(str(i))} AS p{i}" for i in range(STAGES)
    )
    cumulative = ", ".join(
        " + ".join(["0.0"] + [f"w{i} + p{i}" for i in range(upto)]) for upto in range(STAGES + 1)
    )
    resolution = draws.index("g", 31, len(RESOLUTIONS))
    return f"""
        SELECT g, {_status(draws)} AS sc, {draws.uniform("g", 2)} AS u_stage,
               {draws.pick("g", 3, number_array(PRIORITIES, "int"), len(PRIORITIES))} AS priority,
               {draws.uniform("g", 4)} AS u_anchor, {draws.uniform("g", 5, 0.5, 30.0)} AS lead,
               {draws.index("g", 6, 3)} AS failed_attempts, {draws.uniform("g", 7)} < 0.5 AS began,
               round({draws.uniform("g", 30, 20.0, 900.0)} * 1000.0) / 1000.0 AS duration,
               {number_array([w for w, _ in RESOLUTIONS], "int")}[{resolution}] AS width,
               {number_array([h for _, h in RESOLUTIONS], "int")}[{resolution}] AS height,
               {draws.pick("g", 32, number_array(FPS_CHOICES, "float8"), len(FPS_CHOICES))} AS fps,
               {draws.pick("g", 33, text_array(CODECS), len(CODECS))} AS codec,
               (1500000 + floor({draws.uniform("g", 34)} * 10500)::bigint * 1000) AS bitrate,
               (5000000 + floor({draws.uniform("g", 35)} * 1995000000)::bigint) AS bare_size,
               {draws.uniform("g", 38, 0.2, 4.0)} AS heartbeat_ago,
               round({draws.uniform("g", 39, 0.05, 0.95)} * 1000.0) / 1000.0 AS running_progress,
               {draws.uuid("g", 40)} AS id, ARRAY[{cumulative}] AS c
          FROM (SELECT g, {stages}
                  FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
                OFFSET 0) AS timings
    """


def _timeline_layer(draws: Draws) -> str:
    # c[k + 1]: seconds from queueing to the end of stage k - 1, so c[stage + 1] covers the
    # job's completed stages and c[stage + 2] runs through its last one.
    return f"""
        SELECT d.*, sc = {COMPLETED} OR stage >= 2 AS has_media,
               CASE sc WHEN {FAILED} THEN failed_attempts WHEN {PENDING} THEN 0 ELSE 1 END
                   AS attempts,
               CASE sc
                 WHEN {PENDING} THEN -(5.0 + u_anchor * 1795.0)
                 WHEN {QUEUED} THEN -(c[stage + 1] + 0.5 + u_anchor * 119.5)
                 WHEN {PROCESSING} THEN -(c[stage + 1] + {draws.wait("stage")}
                                          + {draws.span("stage")} * (0.05 + u_anchor * 0.85))
                 ELSE -(c[stage + 2] + u_anchor * ({DAY_S - 3600.0!r} - c[stage + 2]))
               END AS t_start
          FROM (SELECT r.*, CASE sc WHEN {PENDING} THEN 0 WHEN {COMPLETED} THEN {STAGES - 1}
                                    ELSE floor(u_stage * {STAGES})::int END AS stage
                  FROM ({_draws_layer(draws)} OFFSET 0) AS r
                OFFSET 0) AS d
    """


def plan_sql(draws: Draws) -> str:
    """One row per job of the chunk: every fact its three tables are built from."""
    return f"""
        SELECT f.*,
               CASE WHEN sc = {PENDING} THEN t_start ELSE t_start - lead END AS t_created,
               CASE sc
                 WHEN {COMPLETED} THEN t_start + c[{STAGES + 1}]
                 WHEN {QUEUED} THEN t_start + c[stage + 1]
                 WHEN {PROCESSING} THEN t_start + c[stage + 1] + {draws.wait("stage")}
                 WHEN {CANCELLED} THEN t_start + c[stage + 2]
                 WHEN {FAILED} THEN t_start + c[stage + 2]
                                    + (attempts - 1) * (c[stage + 2] - c[stage + 1] + 5.0)
                 ELSE t_start
               END AS t_last,
               CASE
                 WHEN sc = {PENDING} THEN NULL
                 WHEN stage > 0 OR sc IN ({COMPLETED}, {PROCESSING}, {FAILED})
                   THEN t_start + {draws.wait("0")}
                 WHEN sc = {CANCELLED} AND began THEN t_start + {draws.wait("0")}
               END AS t_first,
               CASE WHEN has_media THEN 1 + floor(duration / 240.0)::int ELSE 0 END AS clip_count,
               CASE WHEN has_media THEN floor(bitrate / 8.0 * duration)::bigint ELSE bare_size END
                   AS size
          FROM ({_timeline_layer(draws)} OFFSET 0) AS f
    """


def at(offset: str) -> str:
    """The moment `offset` seconds from now (negative: in the past)."""
    return f"(%(now)s::timestamptz + ({offset}) * interval '1 second')"


def jobs_sql(draws: Draws) -> str:
    errors = [STAGE_ERRORS[agent] for agent in PIPELINE]
    media = (
        "('{\"duration\": ' || duration || ', \"width\": ' || width || ', \"height\": '"
        ' || height || \', "fps": \' || fps || \', "video_codec": "\' || codec'
        ' || \'", "audio_codec": "aac", "bitrate": \' || bitrate'
        ' || \', "format": "mp4"}\')::jsonb'
    )
    progress = number_array([round(done / STAGES, 4) for done in range(STAGES + 1)], "float8")
    return f"""
        INSERT INTO jobs (id, owner_id, title, source_path, source_sha256, source_size, status,
                          priority, attempts, max_attempts, current_stage, progress,
                          cancel_requested, options, media_info, error, error_code, queued_at,
                          started_at, finished_at, created_at, updated_at)
        SELECT id, (%(owners)s::uuid[])[1 + mod(g - 1, cardinality(%(owners)s::uuid[]))],
               title,
               CASE WHEN {UNFINISHED} THEN %(demo_path)s ELSE 'uploads/' || id || '/' || title
               END,
               CASE WHEN {UNFINISHED} THEN %(demo_sha256)s
                    ELSE encode(int8send({draws.hash("g", 42)}) || int8send({draws.hash("g", 43)})
                                || int8send({draws.hash("g", 44)})
                                || int8send({draws.hash("g", 45)}), 'hex') END,
               CASE WHEN {UNFINISHED} THEN %(demo_size)s::bigint ELSE size END,
               {text_array(JOB_STATUSES)}[sc + 1], priority, attempts, 3,
               CASE WHEN sc NOT IN ({PENDING}, {COMPLETED}) THEN {text_array(PIPELINE)}[stage + 1]
               END,
               {progress}[CASE WHEN sc = {COMPLETED} THEN {STAGES} ELSE stage END + 1],
               sc = {CANCELLED}, '{{}}'::jsonb,
               CASE WHEN {UNFINISHED} THEN
                      CASE WHEN stage >= {PROBED} THEN %(demo_media)s::jsonb END
                    WHEN has_media THEN {media} END,
               CASE WHEN sc = {FAILED} THEN {text_array([m for _, m in errors])}[stage + 1] END,
               CASE WHEN sc = {FAILED} THEN {text_array([c for c, _ in errors])}[stage + 1] END,
               CASE WHEN sc <> {PENDING} THEN {at("t_start")} END,
               CASE WHEN t_first IS NOT NULL THEN {at("t_first")} END,
               CASE WHEN sc IN ({COMPLETED}, {FAILED}, {CANCELLED}) THEN {at("t_last")} END,
               {at("t_created")}, {at("t_last")}
          FROM (SELECT plan.*,
                       {draws.pick("g", 36, text_array(TOPICS), len(TOPICS))} || '-'
                       || to_char(g, 'FM0000000') || '.mp4' AS title
                  FROM plan
                OFFSET 0) AS titled
    """


def plan_table_sql(draws: Draws) -> str:
    """The temporary table the chunks keep their jobs' step facts in (empty; dropped at commit)."""
    columns = ", ".join(STEP_PLAN_COLUMNS)
    return (
        f"CREATE TEMPORARY TABLE seed_plan ON COMMIT DROP AS SELECT {columns}"
        f" FROM ({plan_sql(draws)}) AS plan WITH NO DATA"
    )


def keep_plan_sql() -> str:
    return f"INSERT INTO seed_plan SELECT {', '.join(STEP_PLAN_COLUMNS)} FROM plan"


def _step_layer(draws: Draws) -> str:
    """One row per step of stage %(pos)s: its attempt, status code and its own clock."""
    step_status = (
        f"CASE WHEN NOT final THEN {S_COMPLETED} WHEN sc = {QUEUED} THEN {S_QUEUED}"
        f" WHEN sc = {PROCESSING} THEN {S_RUNNING} WHEN sc = {CANCELLED} THEN {S_CANCELLED}"
        f" ELSE {S_FAILED} END"
    )
    return f"""
        SELECT t.*, {step_status} AS ss,
               NOT (final AND (sc = {QUEUED} OR (sc = {CANCELLED} AND NOT began))) AS has_started,
               NOT (final AND sc IN ({QUEUED}, {PROCESSING})) AS has_finished,
               t_start + c[pos + 1] + (attempt - 1) * (c[pos + 2] - c[pos + 1] + 5.0) AS t_step,
               {draws.wait("pos")} AS wait, {draws.span("pos")} AS span
          FROM (SELECT seed_plan.*, pos, attempt, stage = pos AND sc <> {COMPLETED} AS final
                  FROM (SELECT %(pos)s::int AS pos) AS stage_of_pass
                 CROSS JOIN seed_plan
                 CROSS JOIN LATERAL generate_series(
                       1, CASE WHEN sc = {FAILED} AND stage = pos THEN attempts ELSE 1 END)
                       AS attempt
                 WHERE sc <> {PENDING} AND (sc = {COMPLETED} OR stage >= pos)
                OFFSET 0) AS t
    """


def steps_sql(draws: Draws) -> str:
    """Every job's step(s) at stage %(pos)s, in the order of the widest steps index.

    Written in (agent, status, priority, created_at) order, the heap is already sorted for
    ix_processing_steps_agent_status_priority, whose rebuild then costs one pass instead of
    the most expensive sort of the seed (low-cardinality text keys, millions of rows). The
    sort itself packs status, priority and time into one bigint: a sort key that is not the
    first column of these wide rows costs an attribute walk per comparison. (Priorities are
    0-10, times within a day; t_step only breaks the rare ties of the rounded key.)
    """
    key = "((g * 8 + pos) * 4 + attempt)"
    scenes = f"clip_count + floor({draws.uniform('g', 37)} * 4)::int"
    output = (
        "CASE pos WHEN 0 THEN '{\"bytes\": ' || size || '}'"
        " WHEN 1 THEN '{\"duration\": ' || duration || ', \"codec\": \"' || codec || '\"}'"
        f" WHEN 2 THEN '{{\"scenes\": ' || {scenes} || '}}'"
        " ELSE '{\"clips\": ' || clip_count || '}' END::jsonb"
    )
    errors = [STAGE_ERRORS[agent][1] for agent in PIPELINE]
    return f"""
        INSERT INTO processing_steps (id, job_id, agent, attempt, status, priority, worker_id,
                                      task_id, progress, created_at, started_at, heartbeat_at,
                                      finished_at, duration_ms, error, output)
        SELECT {draws.uuid(key, 100)}, id, {text_array(PIPELINE)}[pos + 1], attempt,
               {text_array(STEP_STATUSES)}[ss + 1], priority,
               CASE WHEN has_started THEN
                 {draws.pick(key, 102, text_array(WORKERS), len(WORKERS))} END,
               NULL,
               CASE ss WHEN {S_COMPLETED} THEN 1.0 WHEN {S_RUNNING} THEN running_progress
                       ELSE 0.0 END,
               {at("t_step")}, CASE WHEN has_started THEN {at("t_step + wait")} END,
               CASE WHEN ss = {S_RUNNING} THEN {at("-heartbeat_ago")}
                    WHEN has_started THEN {at("t_step + wait + span")} END,
               CASE WHEN has_finished THEN {at("t_step + wait + span")} END,
               CASE WHEN has_started AND has_finished THEN round(span * 1000000.0) / 1000.0 END,
               CASE WHEN ss = {S_FAILED} THEN {text_array(errors)}[pos + 1] END,
               CASE WHEN ss = {S_COMPLETED} AND {RUNNABLE} THEN (%(demo_outputs)s::jsonb) -> pos
                    WHEN ss = {S_COMPLETED} THEN {output} END
          FROM ({_step_layer(draws)} OFFSET 0) AS s
         ORDER BY (ss * 16 + priority)::bigint * 100000000000
                  + round((t_step + 100000.0) * 1000000.0)::bigint,
                  t_step
    """


def clips_sql(draws: Draws) -> str:
    key = "(g * 8 + ordinal)"
    name = (
        "%(clips_root)s || '/' || id || '/clip_' || to_char(ordinal, 'FM000') || '_'"
        " || round(clip_start * 1000.0)::bigint || '-' || round(clip_end * 1000.0)::bigint"
    )
    # Highlights of 2-60 s, one per equal slot of the source, in order (as seed.job_rows).
    return f"""
        INSERT INTO clips (id, job_id, ordinal, start, "end", duration, width, height, fps,
                           codec, size_bytes, path, thumbnail_path, status, created_at)
        SELECT {draws.uuid(key, 200)}, id, ordinal, clip_start, clip_end,
               round((clip_end - clip_start) * 1000.0) / 1000.0, width, height, fps, codec,
               floor((clip_end - clip_start) * bitrate / 8.0)::bigint,
               {name} || '.mp4', {name} || '.jpg', 'ready', {at("t_last")}
          FROM (SELECT b.*, round((clip_start + length) * 1000.0) / 1000.0 AS clip_end
                  FROM (SELECT a.*,
                               round(((ordinal - 1) * slot + offset_draw * (slot - length))
                                     * 1000.0) / 1000.0 AS clip_start
                          FROM (SELECT g, id, width, height, fps, codec, bitrate, t_last,
                                       ordinal, duration / clip_count AS slot,
                                       least(duration / clip_count,
                                             {draws.uniform(key, 202, 2.0, 60.0)}) AS length,
                                       {draws.uniform(key, 203)} AS offset_draw
                                  FROM plan
                                 CROSS JOIN LATERAL generate_series(1, clip_count) AS ordinal
                                 WHERE sc = {COMPLETED}
                                OFFSET 0) AS a
                        OFFSET 0) AS b
                OFFSET 0) AS clip
    """


def demo_clips_sql(draws: Draws) -> str:
    """The demo's clips for every queued or processing job past the clipper, as the clipper
    left them (thumbnailed once thumbs is done), as `seed.job_rows` does."""
    key = "(g * 8 + c.ordinal)"
    return f"""
        INSERT INTO clips (id, job_id, ordinal, start, "end", duration, width, height, fps,
                           codec, size_bytes, path, thumbnail_path, status, created_at)
        SELECT {draws.uuid(key, 210)}, id, c.ordinal, c.start, c."end", c.duration, c.width,
               c.height, c.fps, c.codec, c.size_bytes, c.path,
               CASE WHEN stage >= {THUMBED} THEN c.thumbnail_path END, 'pending', {at("t_last")}
          FROM plan
         CROSS JOIN jsonb_to_recordset(%(demo_clips)s::jsonb) AS c(
                    ordinal int, start float8, "end" float8, duration float8, width int,
                    height int, fps float8, codec text, size_bytes bigint, path text,
                    thumbnail_path text)
         WHERE {RUNNABLE} AND stage >= {CLIPPED}
    """
