"""`GET /metrics`: the Prometheus text format, for an operator's scraper.

Samples recorded by every process (`agentos.telemetry`: requests, SSOT reads, actions,
rate-limit refusals, stage run times, dropped log records) plus state read at scrape time
from the cached SSOT document and the breakers (jobs by status, queue depth and oldest
wait by agent, worker heartbeat age, breaker state, document age). It is not a user
endpoint: a caller on the admin allow-list, or one with an admin reader's token.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from agentos import telemetry
from agentos.server.deps import bearer_or_none, client_ip, get_trace_id
from agentos.services import admin_data
from agentos.services.backends.breaker import list_breakers
from agentos.services.runtime import Runtime
from agentos.services.security import admin_access, ipallow

router = APIRouter()
BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}


class StateCollector(Collector):
    """Gauges of the deployment's state, read when scraped (the same for every server)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        cached = admin_data.get_document(self.runtime)
        document: dict[str, Any] = orjson.loads(cached.body)
        yield _gauge(
            "agentos_ssot_document_age_seconds",
            "Age of the admin document served",
            [([], max(0.0, time.time() - cached.built_at))],
        )
        yield _gauge(
            "agentos_jobs",
            "Jobs by status",
            [
                ([status], count)
                for status, count in document["dashboard"]["jobs_by_status"].items()
            ],
            ["status"],
        )
        agents = document["queue"]["agents"]
        yield _gauge(
            "agentos_queue_depth",
            "Queued stages by agent",
            [([agent["agent"]], agent["depth"]) for agent in agents],
            ["agent"],
        )
        yield _gauge(
            "agentos_queue_oldest_wait_seconds",
            "How long the oldest queued stage of each agent has waited",
            [([agent["agent"]], agent["oldest_waiting_s"] or 0.0) for agent in agents],
            ["agent"],
        )
        workers = document["agents_workers"]["workers"]
        yield _gauge(
            "agentos_worker_heartbeat_age_seconds",
            "Seconds since each worker's last heartbeat",
            [([w["name"], w["kind"]], w["heartbeat_age_s"]) for w in workers],
            ["worker", "kind"],
        )
        yield _gauge(
            "agentos_workers_online",
            "Workers online",
            [([], float(sum(w["online"] for w in workers)))],
        )
        breakers = list_breakers(self.runtime.backends.breakers)
        yield _gauge(
            "agentos_breaker_state",
            "Circuit breaker state by dependency (0 closed, 1 half open, 2 open)",
            [([b.name], BREAKER_VALUES.get(b.state, 0)) for b in breakers],
            ["dependency"],
        )


def _gauge(
    name: str,
    documentation: str,
    samples: list[tuple[list[str], float]],
    labels: list[str] | None = None,
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels or [])
    for values, value in samples:
        family.add_metric(values, float(value))
    return family


def _allowed(request: Request) -> None:
    """On the admin allow-list, or an admin reader's token (which the check audits)."""
    runtime: Runtime = request.app.state.runtime
    ip = client_ip(request)
    if ipallow.is_allowed(runtime, ip):
        return
    admin_access.authorize_reader(
        runtime,
        bearer_or_none(request.headers.get("authorization")),
        ip=ip,
        user_agent=request.headers.get("user-agent"),
        trace_id=get_trace_id(request),
    )


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    _allowed(request)
    body, content_type = telemetry.exposition([StateCollector(request.app.state.runtime)])
    return Response(content=body, media_type=content_type)
