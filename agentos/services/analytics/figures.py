"""The seed's monitoring figures: job figures from the database, endpoint figures from the
request counters the server records (`agentos.server.metrics`), read back here.

Counter layout (shared by every server process through the counters backend):
`metrics:http|METHOD|/route/{template}|FIELD` with FIELD one of `count`, `s2xx`..`s5xx`,
`le_<ms>` (a latency histogram bucket: requests at most that slow, above the previous
bound) and `m<unix minute>` (requests in that minute, kept for an hour).
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Job
from agentos.schemas.analytics import AnalyticsMetrics, EndpointMetrics, HourlyPoint, JobMetrics
from agentos.schemas.jobs import JOB_STATUSES, JobStatus
from agentos.services.jobs.sqlstats import (
    as_utc_hour,
    hour_bucket,
    percentile_by_group,
    seconds_between,
)
from agentos.services.runtime import backends_of

HTTP_PREFIX = "metrics:http"
# Upper bounds of the latency buckets in milliseconds; the last one catches everything.
LATENCY_BUCKETS_MS: tuple[float, ...] = (
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, math.inf,
)  # fmt: skip
MINUTE_TTL_S = 3600
THROUGHPUT_MINUTES = 5


def http_key(method: str, route: str, field: str) -> str:
    return f"{HTTP_PREFIX}|{method}|{route}|{field}"


def bucket_field(elapsed_ms: float) -> str:
    """The field of the first bucket whose upper bound is >= `elapsed_ms` (every request
    is counted in one: a search and a lookup instead of formatting a name each time)."""
    if elapsed_ms != elapsed_ms:  # NaN is above no bound: the catch-all bucket
        return _BUCKET_FIELDS[-1]
    return _BUCKET_FIELDS[bisect_left(LATENCY_BUCKETS_MS, elapsed_ms)]


def _bound_name(bound: float) -> str:
    return "inf" if math.isinf(bound) else str(int(bound))


_BUCKET_FIELDS = tuple(f"le_{_bound_name(bound)}" for bound in LATENCY_BUCKETS_MS)


def minute_field(now_s: float) -> str:
    return f"m{int(now_s // 60)}"


def metrics(session: Session) -> AnalyticsMetrics:
    return AnalyticsMetrics(
        generated_at=utcnow(), jobs=job_metrics(session), endpoints=endpoint_metrics(session)
    )


def job_metrics(session: Session) -> JobMetrics:
    """Counts per status, hourly completions/failures for 24 h, error rate, mean/p95 time."""
    now = utcnow()
    since = now - timedelta(hours=24)
    counts = dict.fromkeys(JOB_STATUSES, 0)
    counts.update(
        dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    )
    finished = [Job.finished_at >= since, Job.status.in_(JobStatus.OUTCOMES)]
    bucket = hour_bucket(session, Job.finished_at)
    hourly: dict[object, dict[str, int]] = defaultdict(lambda: {"completed": 0, "failed": 0})
    for hour, status, count in session.execute(
        select(bucket, Job.status, func.count()).where(*finished).group_by(bucket, Job.status)
    ):
        hourly[as_utc_hour(hour)][status] = count
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    series = [
        HourlyPoint(
            hour=first + timedelta(hours=i),
            **hourly.get(first + timedelta(hours=i), {"completed": 0, "failed": 0}),
        )
        for i in range(24)
    ]
    done = sum(point.completed for point in series)
    failed = sum(point.failed for point in series)
    duration = seconds_between(session, Job.started_at, Job.finished_at)
    completed = [Job.status == "completed", Job.started_at.is_not(None), Job.finished_at >= since]
    mean = session.scalar(select(func.avg(duration)).where(*completed))
    p95 = percentile_by_group(session, value=duration, where=completed, fraction=0.95)
    return JobMetrics(
        total=sum(counts.values()),
        by_status=counts,
        throughput_per_hour=series,
        error_rate=failed / (done + failed) if done + failed else None,
        mean_processing_s=float(mean) if mean is not None else None,
        p95_processing_s=p95.get(None),
    )


def endpoint_metrics(session: Session) -> list[EndpointMetrics]:
    raw = backends_of(session).counters.get_many(f"{HTTP_PREFIX}|*")
    routes: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for key, value in raw.items():
        parts = key.split("|")
        if len(parts) == 4:
            routes[(parts[1], parts[2])][parts[3]] = value
    current = int(time.time() // 60)
    elapsed = (THROUGHPUT_MINUTES - 1) * 60 + (time.time() % 60)
    result = []
    for (method, route), fields in sorted(
        routes.items(), key=lambda item: (item[0][1], item[0][0])
    ):
        total = fields.get("count", 0)
        if not total:
            continue
        recent = sum(fields.get(f"m{current - i}", 0) for i in range(THROUGHPUT_MINUTES))
        result.append(
            EndpointMetrics(
                method=method,
                route=route,
                requests=total,
                throughput_rps=recent / elapsed if elapsed > 0 else 0.0,
                p50_ms=histogram_quantile(fields, 0.50),
                p95_ms=histogram_quantile(fields, 0.95),
                p99_ms=histogram_quantile(fields, 0.99),
                rate_4xx=fields.get("s4xx", 0) / total,
                rate_5xx=fields.get("s5xx", 0) / total,
            )
        )
    return result


def histogram_quantile(fields: dict[str, int], q: float) -> float | None:
    """The q-quantile of the latency histogram, interpolated linearly inside its bucket."""
    counts = [fields.get(f"le_{_bound_name(bound)}", 0) for bound in LATENCY_BUCKETS_MS]
    total = sum(counts)
    if not total:
        return None
    rank = q * total
    seen = 0
    lower = 0.0
    for bound, count in zip(LATENCY_BUCKETS_MS, counts, strict=True):
        if count and seen + count >= rank:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * (rank - seen) / count
        seen += count
        lower = bound
    return lower
